"""The Streamlit floor page of first_use_bench draws what the shop's first view draws: were the shop to gain or lose
a field, a book or a control and the floor not follow, the bench would compare the shop with a different page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support import ROOT, use_emulator


def _first_view(script: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / script), default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_floor_page_draws_the_widgets_of_the_shops_first_view(tmp_path, monkeypatch, emulator):
    use_emulator(monkeypatch, emulator, tmp_path)
    shop, floor = _first_view("dashboard.py"), _first_view("bench/streamlit_floor_page.py")
    for kind in ("text_input", "selectbox", "number_input"):
        assert [w.label for w in floor.get(kind)] == [w.label for w in shop.get(kind)], kind
    assert len(floor.button) == len(shop.button)  # a Choose button a book
    assert _covers(floor) == _covers(shop)


def _covers(app: AppTest) -> int:
    return len([block for block in app.get("html") if "<img" in block.proto.body])
