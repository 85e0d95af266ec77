"""Wrong checkout details in Chromium: each wrong field is outlined, says what to fix in its label's words, and
tells a screen reader so (aria-invalid, and its message as the field's description)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    fill_card,
    fill_details,
    open_shop,
    rerun_finished,
    shop_field,
)

pytestmark = pytest.mark.e2e

OUTLINE = "rgb(192, 18, 60)"  # ui.checkout.ERROR_COLOR
PHONE_MESSAGE = "That is not a working phone number"
POSTAL_MESSAGE = "A US postal code (ZIP code) looks like 12345 or 12345-6789."

# Counts, from now on, the most inputs labelled `label` the page held at once (a MutationObserver sees each
# change of the page, so a copy kept for the length of a script run cannot slip by).
COUNT_COPIES = """(label) => {
  window.__spMostCopies = 0;
  const count = () => {
    const copies = document.querySelectorAll(`input[aria-label="${label}"]`).length;
    window.__spMostCopies = Math.max(window.__spMostCopies, copies);
  };
  count();
  new MutationObserver(count).observe(document.body, { childList: true, subtree: true });
}"""


def field_box(page: Page, key: str):
    return page.locator(f'.st-key-{key}[data-stale="false"] [data-testid="stTextInputRootElement"]')


def pay_with_wrong_details(page: Page, app: StreamlitApp, email: str) -> None:
    open_shop(page, app)
    fill_details(page, {**DETAILS, "Email": email, "Phone": "0000000000", "Postal code": "9720"})
    fill_card(page, "4242424242424242")
    with rerun_finished(page):
        page.get_by_role("button", name="Pay $23.00").click()
    expect(page.get_by_text("Please correct the highlighted details, then pay again.")).to_be_visible()


def test_the_wrong_fields_are_the_highlighted_ones(page: Page, streamlit_app: StreamlitApp):
    pay_with_wrong_details(page, streamlit_app, "field.errors@example.com")
    expect(page.get_by_text(PHONE_MESSAGE)).to_be_visible()
    expect(page.get_by_text(POSTAL_MESSAGE)).to_be_visible()
    for wrong in ("checkout_phone", "checkout_postal_code"):
        expect(field_box(page, wrong)).to_have_css("border-top-color", OUTLINE)
    for right in ("checkout_name", "checkout_email", "checkout_city"):
        expect(field_box(page, right)).not_to_have_css("border-top-color", OUTLINE)

    fill_details(page, {"Phone": "(503) 555-0142 ext 5", "Postal code": "97205"})
    expect(page.get_by_text(PHONE_MESSAGE)).to_have_count(0)
    expect(field_box(page, "checkout_phone")).not_to_have_css("border-top-color", OUTLINE)


def test_the_wrong_fields_are_announced_with_their_message(page: Page, streamlit_app: StreamlitApp):
    pay_with_wrong_details(page, streamlit_app, "field.errors.aria@example.com")
    # The summary is an alert, read out as it appears; each field then says its own message.
    expect(page.get_by_role("alert").filter(has_text="Please correct the highlighted details")).to_be_visible()
    phone = shop_field(page, "Phone")
    postal_code = shop_field(page, "Postal code")
    # The first wrong field takes the focus, so a keyboard or screen reader user lands where the fixing starts.
    expect(phone).to_be_focused()
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description(re.compile(PHONE_MESSAGE))
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(postal_code).to_have_accessible_description(POSTAL_MESSAGE)
    for right in ("Full name", "Email", "Address line 1", "City"):
        expect(shop_field(page, right)).not_to_have_attribute("aria-invalid", "true")
        expect(shop_field(page, right)).to_have_accessible_description("")

    fill_details(page, {"Phone": "(503) 555-0142 ext 5"})
    expect(page.get_by_text(PHONE_MESSAGE)).to_have_count(0)
    expect(phone).not_to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_accessible_description("")
    expect(postal_code).to_have_attribute("aria-invalid", "true")  # still wrong


def test_a_message_appearing_leaves_one_copy_of_each_field(page: Page, streamlit_app: StreamlitApp):
    # The first message of the form used to push every field below it one place down, and Streamlit kept the
    # old copies until the run ended: two "Address line 1" inputs for a moment, which broke a test's typing.
    open_shop(page, streamlit_app)
    page.evaluate(COUNT_COPIES, "Address line 1")
    fill_details(page, {"Phone": "0000000000"})
    expect(page.get_by_text(PHONE_MESSAGE)).to_be_visible()
    assert page.evaluate("window.__spMostCopies") == 1
