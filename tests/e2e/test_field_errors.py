"""Wrong checkout details in Chromium: each wrong field is outlined and says what to fix in its label's words."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support_browser import DETAILS, StreamlitApp, fill_card, fill_details, open_shop, wait_for_app

pytestmark = pytest.mark.e2e

OUTLINE = "rgb(192, 18, 60)"  # ui.checkout.ERROR_COLOR


def field_box(page: Page, key: str):
    return page.locator(f'.st-key-{key} [data-testid="stTextInputRootElement"]')


def test_the_wrong_fields_are_the_highlighted_ones(page: Page, streamlit_app: StreamlitApp):
    open_shop(page, streamlit_app)
    fill_details(page, {**DETAILS, "Email": "field.errors@example.com", "Phone": "0000000000", "Postal code": "9720"})
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Pay $23.00").click()
    wait_for_app(page)
    expect(page.get_by_text("Please correct the highlighted details, then pay again.")).to_be_visible()
    expect(page.get_by_text("That is not a working phone number")).to_be_visible()
    expect(page.get_by_text("A US postal code (ZIP code) looks like 12345 or 12345-6789.")).to_be_visible()
    for wrong in ("checkout_phone", "checkout_postal_code"):
        expect(field_box(page, wrong)).to_have_css("border-top-color", OUTLINE)
    for right in ("checkout_name", "checkout_email", "checkout_city"):
        expect(field_box(page, right)).not_to_have_css("border-top-color", OUTLINE)

    fill_details(page, {"Phone": "(503) 555-0142 ext 5", "Postal code": "97205"})
    expect(page.get_by_text("That is not a working phone number")).to_have_count(0)
    expect(field_box(page, "checkout_phone")).not_to_have_css("border-top-color", OUTLINE)
