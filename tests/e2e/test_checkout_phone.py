"""The shop on a phone (390 px wide): books and prices on the first screen, the first wrong field brought into
view after Pay, the confirmation opened at its top. Screenshots of each go to CHECKOUT_SCREENSHOTS (a folder)
when set, else to the test's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shop import catalog
from shop.money import format_amount
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    open_shop,
    shop_field,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """An iPhone-sized viewport."""
    return {**browser_context_args, "viewport": PHONE}


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CHECKOUT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_first_screen_shows_the_books_with_prices_and_a_way_to_buy(page: Page, streamlit_app: StreamlitApp, shots):
    open_shop(page, streamlit_app)
    page.evaluate("window.scrollTo(0, 0)")
    books = catalog.all_books()
    for book in books[:4]:
        expect(page.get_by_text(book.title, exact=True)).to_be_in_viewport()
        expect(page.get_by_text(format_amount(book.price, book.currency)).first).to_be_in_viewport()
    expect(page.get_by_role("button", name="Chosen")).to_be_in_viewport()
    page.screenshot(path=shots / "phone-shop.png")


def test_pay_with_missing_details_brings_the_first_wrong_field_into_view(
    page: Page, streamlit_app: StreamlitApp, shots
):
    open_shop(page, streamlit_app)
    fill_card(page, "4242 4242 4242 4242")
    pay = page.get_by_role("button", name="Pay $23.00")
    pay.scroll_into_view_if_needed()
    expect(page.get_by_text("Enter your full name.")).not_to_be_in_viewport()
    pay.click()
    expect(page.get_by_text("Enter your full name.")).to_be_in_viewport(timeout=30_000)
    expect(shop_field(page, "Full name")).to_be_in_viewport()
    wait_for_app(page)
    page.screenshot(path=shots / "phone-error.png")


def test_the_confirmation_opens_at_its_top(page: Page, streamlit_app: StreamlitApp, shots):
    details = {**DETAILS, "Full name": "Rosalind Franklin", "Email": "rosalind.phone@example.com"}
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    pay = page.get_by_role("button", name="Pay $23.00")
    pay.scroll_into_view_if_needed()
    pay.click()
    confirmed_charge_id(page)
    heading = page.get_by_role("heading", name="Thank you for your order")
    expect(heading).to_be_in_viewport(timeout=30_000)
    wait_for_app(page)
    # Not hidden under Streamlit's fixed header either.
    header = page.get_by_test_id("stHeader").bounding_box()
    assert header is not None
    page.wait_for_function(
        "(bottom) => { const h = [...document.querySelectorAll('h1')].find((e) => e.textContent.includes('Thank you'));"
        " return h && h.getBoundingClientRect().top >= bottom; }",
        arg=header["y"] + header["height"],
    )
    page.screenshot(path=shots / "phone-confirmation.png")
    # The cover is left out on a phone, and its column with it: the book's title follows the payment message
    # without a blank band between them.
    message = page.get_by_test_id("stAlert").filter(has_text="Payment received").bounding_box()
    title = page.get_by_role("heading", name=catalog.get_book("art-of-doing-science").full_title).bounding_box()
    assert message is not None and title is not None
    assert title["y"] - (message["y"] + message["height"]) < 40, (message, title)
