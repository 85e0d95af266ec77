"""Customer emails in Chromium: buy with 4242 -> the Mailbox shows one confirmation (order number, total, `ch_` ID)
rendered in its sandboxed frame; "Mark shipped" with a tracking number -> a second email. Screenshots of the
Mailbox and the Orders ship form at 1280 and 390 px go to $SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    open_shop,
    sidebar_link,
    sign_in,
    tick_table_row,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

EMAIL_FRAME = 'iframe[title="The email as the customer sees it"]'


def shoot(page: Page, name: str, scroll_to: str | None = None) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if not folder:
        return
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        wait_for_app(page)
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"))
        if scroll_to:
            page.locator(scroll_to).first.scroll_into_view_if_needed()
            page.screenshot(path=str(Path(folder) / f"{name}-{width}-scrolled.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def open_mailbox_until(page: Page, count: int, address: str) -> None:
    """Open the Mailbox until it lists `count` messages to `address` (the sender delivers in the background; the
    session's app server also keeps other modules' customers' emails)."""
    label = f"{count} message" + ("" if count == 1 else "s")
    for _ in range(30):
        sidebar_link(page, "Mailbox").click()
        expect(page.get_by_role("heading", name="Mailbox")).to_be_visible(timeout=30_000)
        wait_for_app(page)
        search = page.get_by_role("textbox", name="Search")
        search.fill(address)
        search.press("Enter")  # a rerun reads the mailbox again
        wait_for_app(page)
        if page.get_by_text(label, exact=True).is_visible():
            return
        page.wait_for_timeout(500)
    expect(page.get_by_text(label, exact=True)).to_be_visible()


def test_a_purchase_and_its_shipment_each_send_one_email_shown_in_the_mailbox(
    page: Page, streamlit_app: StreamlitApp
) -> None:
    details = {**DETAILS, "Full name": "Katherine Johnson", "Email": "katherine.mailbox@example.com"}
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $23.00").click()
    charge_id = confirmed_charge_id(page)
    order_id = re.search(r"SP-[0-9A-Z]{8}", page.get_by_text("Order number:").inner_text()).group(0)
    expect(page.get_by_text("Your confirmation email to katherine.mailbox@example.com is kept")).to_be_visible()

    # The customer's side, in a demo: this session's order's email, as a mail program shows it.
    for _ in range(20):
        page.get_by_role("button", name="See the email").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible(timeout=10_000)
        if dialog.locator("iframe").count():
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    email = dialog.frame_locator("iframe").first.frame_locator(EMAIL_FRAME)
    expect(email.get_by_text(order_id).first).to_be_visible(timeout=10_000)
    page.keyboard.press("Escape")

    sign_in(page, streamlit_app)
    open_mailbox_until(page, 1, details["Email"])
    expect(page.locator("strong", has_text=f"Your order {order_id} is confirmed")).to_be_visible()
    email = page.frame_locator("iframe").first.frame_locator(EMAIL_FRAME)
    expect(email.get_by_text(order_id).first).to_be_visible(timeout=10_000)
    expect(email.get_by_text("$23.00").first).to_be_visible()
    expect(email.get_by_text(charge_id)).to_be_visible()
    expect(email.get_by_role("link", name="See your order")).to_be_visible()
    shoot(page, "mailbox", scroll_to="iframe")

    sidebar_link(page, "Orders").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    search = page.get_by_role("textbox", name="Search")
    search.fill(order_id)
    search.press("Enter")
    wait_for_app(page)
    tick_table_row(page)
    expect(page.get_by_text(f"Selected: {order_id}")).to_be_visible(timeout=10_000)
    page.get_by_role("textbox", name="Carrier (optional)").fill("UPS")
    page.get_by_role("textbox", name="Tracking number (optional)").fill("1Z999AA10123456784")
    shoot(page, "orders-ship-form", scroll_to='[data-testid="stButton"]')
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.get_by_text(f"Order {order_id} marked shipped. Tracking: UPS 1Z999AA10123456784.")).to_be_visible(
        timeout=30_000
    )

    open_mailbox_until(page, 2, details["Email"])
    expect(page.locator("strong", has_text=f"Your order {order_id} has shipped")).to_be_visible()
    email = page.frame_locator("iframe").first.frame_locator(EMAIL_FRAME)
    expect(email.get_by_text("1Z999AA10123456784")).to_be_visible(timeout=10_000)
    mailbox = streamlit_app.data_dir / "mailbox"
    assert len(list(mailbox.glob(f"*-{order_id}.*.eml"))) == 2  # this order's; other modules' orders mail here too
