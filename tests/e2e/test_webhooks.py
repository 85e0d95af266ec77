"""Webhooks in Chromium: what Stripe says reaches an open finance page by itself, with no click and no Sync now."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from shop import intents, orders
from tests.support import use_emulator
from tests.support_browser import StreamlitApp, metric_value, sidebar_link, sign_in, wait_for_app
from tests.support_data import CHECKOUT_DETAILS

pytestmark = pytest.mark.e2e

HAMMING = "art-of-doing-science"


def test_a_refund_made_outside_the_app_shows_on_the_open_charges_page_within_2_s(
    page: Page, streamlit_app: StreamlitApp
):
    api = streamlit_app.emulator.client()
    email = f"webhook-{uuid.uuid4().hex[:8]}@example.com"
    sign_in(page, streamlit_app)  # lands on Charges
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    customer = page.get_by_label("Customer")
    customer.fill(email)
    customer.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("0 charges match")).to_be_visible()

    charge = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "receipt_email": email}
    )
    expect(page.get_by_text("1 charges match")).to_be_visible(timeout=10_000)  # the charge arrived by itself
    expect(metric_value(page, "Refunded")).to_have_text("$0.00")

    started = time.monotonic()
    api.v1.refunds.create(params={"charge": charge.id, "amount": 700})  # as from the Stripe Dashboard
    expect(metric_value(page, "Refunded")).to_have_text("$7.00", timeout=2_000)
    assert time.monotonic() - started < 2.5  # the SDK call's return included


def test_a_payment_whose_tab_closed_after_confirming_shows_as_paid_in_orders_by_itself(
    page: Page, streamlit_app: StreamlitApp, monkeypatch: pytest.MonkeyPatch
):
    # This process writes to the app's order store and Stripe account, as the shop page did before the tab closed.
    use_emulator(monkeypatch, streamlit_app.emulator, streamlit_app.data_dir)
    api = streamlit_app.emulator.client()
    details = {**CHECKOUT_DETAILS, "email": f"closed-tab-{uuid.uuid4().hex[:8]}@example.com"}
    prepared = intents.prepare_checkout(details, HAMMING, 1, client=api)
    order_id = prepared.order.id

    sign_in(page, streamlit_app)
    sidebar_link(page, "Orders").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    search = page.get_by_role("textbox", name="Search")
    search.fill(order_id)
    search.press("Enter")
    wait_for_app(page)
    # Only pending orders: the one order while it is unpaid, none once the webhook has settled it.
    status = page.get_by_role("combobox", name="Status")
    status.click()
    page.get_by_role("option", name="pending", exact=True).click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"^1 order( of [\d,]+)?$"))).to_be_visible()

    # What stripe.confirmCardPayment did in the page; then the tab closed and the page never heard back.
    api.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})

    # The page reran by itself: no pending order matches any more.
    expect(page.get_by_text(re.compile(r"^0 orders( of [\d,]+)?$"))).to_be_visible(timeout=5_000)
    paid = orders.get_order(order_id)
    assert (paid.status, paid.charge_id) == (
        "paid",
        api.v1.payment_intents.retrieve(paid.payment_intent_id).latest_charge,
    )
