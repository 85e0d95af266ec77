"""The Checkout Elements component's Python wrapper in AppTest: what it hands the browser and what it returns.

The browser's side is proven in tests/e2e/test_checkout_elements_component.py; here the component object is
replaced by a stand-in that records the data it was given and answers a queued report.
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

from streamlit.testing.v1 import AppTest

import components.checkout_elements as checkout_elements

SECRET = "cs_test_abc_secret_xyz"


class StandIn:
    """Replaces the component object: records each mount's data, answers with `outcome` as its state."""

    def __init__(self, outcome: dict | None = None) -> None:
        self.outcome = outcome
        self.mounts: list[dict] = []

    def __call__(self, *, key, data, **callbacks):
        self.mounts.append(data)
        return SimpleNamespace(outcome=self.outcome) if self.outcome is not None else SimpleNamespace()


def page() -> None:
    import streamlit as st

    from components.checkout_elements import checkout_elements as mount

    st.session_state["result"] = mount(
        "cs_test_abc_secret_xyz", "pk_test_x", "http://127.0.0.1:1/v3/", email="ada@example.com",
        expected_amount=6400, key="checkout",
    )  # fmt: skip


def run(stand_in: StandIn, query: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_function(page)
    for name, value in (query or {}).items():
        app.query_params[name] = value
    with mock.patch.object(checkout_elements, "_checkout_component", stand_in):
        app.run()
    assert not app.exception, app.exception
    return app


def test_before_the_browser_reports_it_returns_loading_with_the_sessions_id() -> None:
    stand_in = StandIn()
    app = run(stand_in)
    assert app.session_state["result"] == {
        "state": "loading",
        "session_id": "cs_test_abc",
        "attempt": None,
        "total": None,
        "error": None,
        "payment_intent": None,
        "redirect_status": None,
    }
    data = stand_in.mounts[0]
    assert (data["client_secret"], data["expected_amount"], data["email"]) == (SECRET, 6400, "ada@example.com")
    assert data["appearance"]["variables"]["colorPrimary"] == "#635bff"
    assert data["returned"] is None


def test_the_browsers_report_is_returned_only_for_this_session() -> None:
    report = {"state": "succeeded", "session_id": "cs_test_abc", "attempt": "a1", "total": None, "error": None}
    assert run(StandIn(report)).session_state["result"]["state"] == "succeeded"
    stale = {**report, "session_id": "cs_test_other"}  # the same key's report from an earlier session
    assert run(StandIn(stale)).session_state["result"]["state"] == "loading"


def test_the_way_back_from_a_redirect_method_is_handed_to_the_browser_for_this_session_only() -> None:
    stand_in = StandIn()
    run(stand_in, {"session_id": "cs_test_abc", "payment_intent": "pi_1", "redirect_status": "failed"})
    assert stand_in.mounts[0]["returned"] == {"payment_intent": "pi_1", "redirect_status": "failed"}
    other = StandIn()
    run(other, {"session_id": "cs_test_other", "payment_intent": "pi_2", "redirect_status": "succeeded"})
    assert other.mounts[0]["returned"] is None
