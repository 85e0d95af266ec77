"""Finance and customer refunds in Chromium: a partial refund of a checkout's charge, a customer's cancellation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from shop import auth
from tests.support import free_port
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    open_shop,
    sidebar_link,
    sign_in,
    submit_password,
    wait_for_app,
)

pytestmark = pytest.mark.e2e


def buy_a_book(page: Page, app: StreamlitApp, details: dict[str, str]) -> str:
    """Check out one copy with 4242 through the real Card Element; returns the charge ID shown."""
    open_shop(page, app)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $23.00").click()
    return confirmed_charge_id(page)


def test_finance_refunds_five_dollars_of_a_checkout_charge(page: Page, streamlit_app: StreamlitApp):
    details = {**DETAILS, "Full name": "Mary Jackson", "Email": "mary@example.com"}
    charge_id = buy_a_book(page, streamlit_app, details)

    sign_in(page, streamlit_app)
    sidebar_link(page, "Refunds").click()
    expect(page.get_by_role("heading", name="Refund a charge")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()  # the charge is seconds old: bring the copy up to date
    wait_for_app(page)
    search = page.get_by_label("Find a charge")
    search.fill(charge_id)
    search.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("Can still be refunded")).to_be_visible()
    page.get_by_text("Part of it", exact=True).click()
    page.get_by_label("Amount ($) — for a partial refund").fill("5.00")
    page.get_by_role("button", name="Refund…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Refund $5.00 of charge")).to_be_visible(timeout=30_000)
    dialog.get_by_role("button", name="Refund $5.00").click()

    expect(page.get_by_text(f"Refunded $5.00 of {charge_id}")).to_be_visible(timeout=30_000)
    charge = streamlit_app.emulator.client().v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 500
    assert charge.refunded is False


def test_customer_cancels_an_unshipped_order_and_the_charge_is_refunded(page: Page, streamlit_app: StreamlitApp):
    details = {**DETAILS, "Full name": "Dorothy Vaughan", "Email": "dorothy@example.com"}
    charge_id = buy_a_book(page, streamlit_app, details)
    order_id = streamlit_app.emulator.client().v1.charges.retrieve(charge_id).metadata["order_id"]

    page.goto(f"{streamlit_app.url}/your_order")
    number = page.get_by_label("Order number")
    expect(number).to_be_editable(timeout=30_000)
    wait_for_app(page)
    number.fill(order_id)
    page.get_by_label("Email").fill("dorothy@example.com")
    page.get_by_role("button", name="Find my order").click()
    wait_for_app(page)
    expect(page.get_by_text("being prepared for shipping")).to_be_visible()
    page.get_by_role("button", name="Cancel my order").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel my order").click()

    expect(page.get_by_text("Your order is cancelled and $23.00 is refunded")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Cancelled — refunded in full")).to_be_visible()
    charge = streamlit_app.emulator.client().v1.charges.retrieve(charge_id)
    assert (charge.refunded, charge.amount_refunded) == (True, 2300)


@pytest.mark.parametrize("path", ["your_order?order=SP-23456789", "sign_in"])
def test_first_visitor_of_a_fresh_server_can_open_a_deep_link(
    page: Page, emulator, tmp_path_factory: pytest.TempPathFactory, path: str
):
    # A server of its own: the bug showed only on the first session a server ever ran.
    fresh = StreamlitApp(free_port(), tmp_path_factory.mktemp("fresh-shop"), emulator)
    fresh.start()
    try:
        page.goto(f"{fresh.url}/{path}")
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Your order" if path.startswith("your") else "Sign in")).to_be_visible()
        expect(page.get_by_text("Page not found")).to_have_count(0)
        if path.startswith("your"):
            expect(page.get_by_label("Order number")).to_have_value("SP-23456789")
    finally:
        fresh.stop()


def test_wrong_passwords_in_one_browser_do_not_delay_a_colleague(browser, streamlit_app: StreamlitApp):
    guesser, colleague = browser.new_page(), browser.new_page()
    try:
        guesser.goto(f"{streamlit_app.url}/sign_in")
        slowed = guesser.get_by_text(re.compile(r"Wait \d+ s|next try is possible in \d+ s")).first
        # This browser waits once its own budget of wrong tries is spent (shop.auth.DEVICE_FREE_FAILURES), counted
        # from its second try: the first one's answer gives it its device cookie.
        for attempt in range(auth.DEVICE_FREE_FAILURES + 2):
            submit_password(guesser, f"not the password {attempt}")
            expect(guesser.get_by_role("alert").first).to_be_visible(timeout=30_000)
        expect(slowed).to_be_visible()

        sign_in(colleague, streamlit_app)  # the right password, at once, from another browser
    finally:
        guesser.close()
        colleague.close()


def test_the_table_toolbar_offers_no_download_of_its_own(page: Page, streamlit_app: StreamlitApp):
    # Streamlit's "Download as CSV" writes cells unchanged (a customer's `=HYPERLINK(…)` runs in a spreadsheet);
    # .streamlit/config.toml turns it off, and the pages' own Download CSV buttons neutralise formulas.
    api = streamlit_app.emulator.client()
    api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
    sign_in(page, streamlit_app)  # lands on Charges
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()

    table.hover()

    toolbar = page.get_by_test_id("stElementToolbar").filter(has=page.get_by_role("button", name="Search"))
    expect(toolbar.first).to_be_visible()  # the toolbar is there, with its other buttons
    expect(page.get_by_role("button", name=re.compile("^Download as CSV"))).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Download CSV"))).not_to_have_count(0)  # ours
