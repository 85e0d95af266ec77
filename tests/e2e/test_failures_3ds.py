"""In Chromium: a failed 3-D Secure challenge makes no charge, yet Failures counts it as a failed payment."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_checkout_intents import PAY, challenge, details_for, error_alert
from tests.support_browser import (
    StreamlitApp,
    fill_card,
    fill_details,
    metric_value,
    open_shop,
    sidebar_link,
    sign_in,
    wait_for_app,
)

pytestmark = pytest.mark.e2e


def failures_page(page: Page) -> int:
    """Open Failures from the menu; the number of failed attempts it shows for its default period."""
    sidebar_link(page, "Failures").click()
    expect(page.get_by_role("heading", name="Failures")).to_be_visible(timeout=30_000)
    value = metric_value(page, "Failed attempts")
    expect(value).to_be_visible(timeout=30_000)
    return int(value.inner_text().replace(",", ""))


def test_a_failed_challenge_is_counted_on_failures(page: Page, streamlit_app: StreamlitApp, tmp_path: Path):
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, streamlit_app)
    before = failures_page(page)

    # An email of this test's own: other modules on the same app may have declined cards for details_for's emails.
    details = {**details_for("Sophie Germain"), "Email": "sophie.failures-3ds@example.com"}
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name=PAY).click()
    challenge(page).get_by_role("button", name="Fail").click()
    error_alert(page, "Your bank could not confirm this payment")
    client = streamlit_app.emulator.client()
    assert [
        c
        for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if c.receipt_email == details["Email"]
    ] == []

    failures_page(page)
    expect(metric_value(page, "Failed attempts")).to_have_text(str(before + 1), timeout=30_000)
    expect(page.get_by_role("heading", name="Failed before a charge")).to_be_visible()
    expect(page.get_by_text("payment_intent_authentication_failure").first).to_be_visible()
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "failures-1280.png"), full_page=True)
    page.get_by_text("Week", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_text("Failure rate and attempts by week")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(tmp_path / "failures-weekly-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 900})
    expect(page.get_by_role("heading", name="Failed before a charge")).to_be_visible()
    page.screenshot(path=str(tmp_path / "failures-390.png"), full_page=True)
