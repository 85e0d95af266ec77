"""The Developers page through AppTest: an event's webhook deliveries come from a short-lived cache, and Refresh
reads them again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from streamlit.testing.v1 import AppTest

from shop import developers
from tests.support import ROOT, use_emulator
from tests.support_app import sign_in_as_staff

DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator) -> Iterator[Path]:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    yield tmp_path


@pytest.fixture
def api(private_emulator, env) -> stripe.StripeClient:
    return private_emulator.client()


def test_an_events_deliveries_are_read_again_on_refresh(env, api, monkeypatch):
    charge = api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
    read: list[str] = []
    real_deliveries = developers.deliveries

    def counted(client, event_id):
        read.append(event_id)
        return real_deliveries(client, event_id)

    monkeypatch.setattr(developers, "deliveries", counted)
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    sign_in_as_staff(at)
    at.run()
    at.switch_page("pages/developers.py")
    at.run()
    at.text_input[1].set_value(charge.id).run()  # the events of this charge only
    at.session_state["developers_events"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    [event_id] = set(read)
    assert any(header.value == f"Event {event_id}" for header in at.subheader)
    assert "No webhook endpoint was subscribed to this event when it happened." in [c.value for c in at.caption]

    before = len(read)
    at.button(key="developers_refresh").click().run()
    assert not at.exception, at.exception
    assert read[before:] == [event_id]
