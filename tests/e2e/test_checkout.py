"""Checkout in Chromium through the real Card Element component and the emulator's Stripe.js: the Charges flow
(CHECKOUT_API=charges, on its own app server), and the helpers the PaymentIntents tests share."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.support import Emulator, free_port
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    open_shop,
    shop_field,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def charges_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory):
    """A second app server running the seed's Charges + token flow."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop-charges"), emulator, env={"CHECKOUT_API": "charges"})
    app.start()
    yield app
    app.stop()


def test_pay_with_4242_shows_the_charge_the_emulator_has(page: Page, charges_app: StreamlitApp):
    open_shop(page, charges_app)
    fill_details(page, DETAILS)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $23.00").click()

    charge_id = confirmed_charge_id(page)
    expect(page.get_by_text("ada@example.com")).to_be_visible()
    charge = charges_app.emulator.client().v1.charges.retrieve(charge_id)
    assert (charge.amount, charge.currency, charge.status) == (2300, "usd", "succeeded")
    assert charge.payment_intent is None  # the Charges flow: a charge of a token, no intent
    assert charge.receipt_email == "ada@example.com"
    assert charge.shipping.name == "Ada Lovelace"
    assert charge.shipping.phone == "+44 20 7946 0958"
    assert charge.shipping.address.line1 == "12 St James's Square"
    assert (charge.shipping.address.city, charge.shipping.address.state) == ("Portland", "OR")
    assert charge.shipping.address.postal_code == "97205"
    assert charge.payment_method_details.card.last4 == "4242"

    page.get_by_role("button", name="Buy another book").click()
    expect(page.get_by_role("button", name="Pay $23.00")).to_be_enabled(timeout=30_000)
    for label, value in DETAILS.items():  # a fresh checkout keeps the customer's details
        expect(shop_field(page, label)).to_have_value(value)


def test_decline_keeps_the_details_and_a_second_card_pays_the_same_order(page: Page, charges_app: StreamlitApp):
    details = {**DETAILS, "Full name": "Katherine Johnson", "Email": "katherine@example.com"}
    open_shop(page, charges_app)
    fill_details(page, details)
    fill_card(page, "4000 0000 0000 9995")
    page.get_by_role("button", name="Pay $23.00").click()

    alert = page.get_by_test_id("stAlert").filter(has_text="insufficient funds")
    expect(alert).to_be_visible(timeout=30_000)
    for label, value in details.items():
        expect(shop_field(page, label)).to_have_value(value)

    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $23.00").click()
    charge_id = confirmed_charge_id(page)

    client = charges_app.emulator.client()
    order_id = client.v1.charges.retrieve(charge_id).metadata["order_id"]
    charges = [
        charge
        for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if charge.metadata.to_dict().get("order_id") == order_id
    ]
    assert sorted(charge.status for charge in charges) == ["failed", "succeeded"]
    [failed] = [charge for charge in charges if charge.status == "failed"]
    assert (failed.failure_code, failed.outcome.reason) == ("card_declined", "insufficient_funds")
    expect(page.get_by_text(order_id)).to_be_visible()


def test_the_shop_asks_nothing_of_another_host(page: Page, streamlit_app: StreamlitApp) -> None:
    # It works with no internet: every file, font and icon of the page comes from the app or the emulator.
    # (The tab's icon was fetched from fonts.gstatic.com: a request to Google on every visit, failing offline.)
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or urlsplit(request.url).scheme))
    open_shop(page, streamlit_app)
    expect(page.locator("link[rel='icon'], link[rel='shortcut icon']").first).to_be_attached()
    assert hosts <= {"127.0.0.1", "blob", "data"}, hosts
