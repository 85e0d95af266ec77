"""The Streamlit floor pages of first_use_bench draw what the shop's and the Charges page's first views draw: were
a page to gain or lose a field, a card or a control and its floor not follow, the bench would compare the page
with a different one."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support import ROOT, use_emulator
from tests.support_app import sign_in_as_staff


def _first_view(script: str, page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(ROOT / script), default_timeout=30)
    if page:
        sign_in_as_staff(app)
        app.run()
        app.switch_page(page)
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
    assert _sidebar(floor) == _sidebar(shop)


def _sidebar(app: AppTest) -> tuple[list[tuple[str, str]], int]:
    """The sidebar's page links (label and icon) and how many HTML blocks (the sign-out form) it holds."""
    links = [(link.proto.label, link.proto.icon) for link in app.sidebar.get("page_link")]
    return links, len(app.sidebar.get("html"))


def _covers(app: AppTest) -> int:
    return len([block for block in app.get("html") if "<img" in block.proto.body])


def test_the_charges_floor_page_draws_the_widgets_of_the_charges_page(tmp_path, monkeypatch, emulator):
    use_emulator(monkeypatch, emulator, tmp_path)
    charges = _first_view("dashboard.py", "pages/charges.py")
    floor = _first_view("bench/charges_floor_page.py")
    for kind in ("text_input", "multiselect", "selectbox", "toggle", "metric", "button"):
        assert [w.label for w in floor.get(kind)] == [w.label for w in charges.get(kind)], kind
    assert _sidebar(floor) == _sidebar(charges)
