"""The refund form in Chromium: an amount typed while "Everything left" is chosen is refused with what to change,
never turned into a dialog offering the whole charge."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support_browser import StreamlitApp, sidebar_link, sign_in, wait_for_app

pytestmark = pytest.mark.e2e


def test_an_amount_with_everything_left_chosen_is_refused(page: Page, streamlit_app: StreamlitApp):
    api = streamlit_app.emulator.client()
    charge = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "receipt_email": "refund.form@example.com"}
    )
    sign_in(page, streamlit_app)
    sidebar_link(page, "Refunds").click()
    expect(page.get_by_role("heading", name="Refund a charge")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()  # the charge is seconds old
    wait_for_app(page)
    search = page.get_by_label("Find a charge")
    search.fill(charge.id)
    search.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("Can still be refunded")).to_be_visible()
    page.get_by_label("Amount ($) — for a partial refund").fill("5")
    page.get_by_role("button", name="Refund…").click()
    wait_for_app(page)
    expect(page.get_by_text("You typed an amount but chose “Everything left”")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert api.v1.charges.retrieve(charge.id).amount_refunded == 0
