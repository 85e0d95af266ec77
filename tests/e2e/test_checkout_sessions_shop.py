"""The shop's Checkout Sessions flow in Chromium (CHECKOUT_API=checkout_sessions, on its own app server): the
customer's details, "Continue to payment", the Payment Element on the order's session, and the confirmation with the
charge Stripe (the emulator) has."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from shop import orders
from tests.support import Emulator, free_port, wait_until
from tests.support_browser import (
    ADDRESS,
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_address,
    fill_details,
    payment_frame,
    type_card_in_payment_element,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sessions_app(private_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory):
    """An app server running the Checkout Sessions flow, on an emulator of its own: the bank-debit test moves its
    clock days ahead, and the events dated then would stay newest on a shared emulator past all later ones."""
    app = StreamlitApp(
        free_port(),
        tmp_path_factory.mktemp("shop-sessions"),
        private_emulator,
        env={"CHECKOUT_API": "checkout_sessions"},
    )
    app.start()
    yield app
    app.stop()


def clear_card(page: Page) -> None:
    frame = payment_frame(page).frame_locator("iframe.card-frame")
    for label in ("ZIP", "CVC", "expiration date", "Card number"):  # the card's other fields hide once it is empty
        field = frame.get_by_label(label)
        field.click()
        field.press("End")
        for _ in range(20):
            field.press("Backspace")
        expect(field).to_have_value("")


def continue_to_payment(page: Page, app: StreamlitApp, email: str, name: str = "Ada Lovelace") -> None:
    """Open the shop, type the email, continue to payment and fill the Address Element with `name`'s address."""
    page.goto(app.url)
    expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)
    fill_details(page, {"Email": email})
    page.get_by_role("button", name="Continue to payment").click()
    fill_address(page, name)


def test_pay_with_4242_on_the_orders_session_shows_the_charge_the_emulator_has(
    page: Page, sessions_app: StreamlitApp
) -> None:
    page.goto(sessions_app.url)
    expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)
    # Nothing is typed twice: the shop's form asks the email, Stripe's Address Element the name, address and phone.
    for label in ("Full name", "Phone", "Address line 1", "City", "Postal code"):
        expect(page.get_by_label(label, exact=True)).to_have_count(0)
    fill_details(page, {"Email": DETAILS["Email"]})
    page.get_by_role("button", name="Continue to payment").click()
    fill_address(page, "Grace Hopper")
    type_card_in_payment_element(page, "4242424242424242")
    pay = page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()

    charge_id = confirmed_charge_id(page)
    expect(page.get_by_text("Paid through Checkout Sessions with the Payment Element.")).to_be_visible()
    client = sessions_app.emulator.client()
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount, charge.currency, charge.status) == (2300, "usd", "succeeded")
    shipped_to = charge.shipping.address
    typed = ("Grace Hopper", ADDRESS["line1"], ADDRESS["city"], ADDRESS["state"], ADDRESS["postal_code"])
    assert (charge.shipping.name, shipped_to.line1, shipped_to.city, shipped_to.state, shipped_to.postal_code) == typed
    intent = client.v1.payment_intents.retrieve(charge.payment_intent)
    order_id = intent.metadata["order_id"]
    # The order ships where the Address Element said, to the email the shop's form took.
    engine = sa.create_engine(f"sqlite:///{sessions_app.data_dir / 'shop.db'}")
    customer = orders.get_order(order_id, engine=engine).customer
    engine.dispose()
    assert (customer.name, customer.line1, customer.city, customer.state, customer.postal_code) == typed
    assert (customer.email, customer.country) == (DETAILS["Email"], "US") and customer.phone
    [session] = client.v1.checkout.sessions.list(params={"payment_intent": intent.id}).data
    assert (session.status, session.payment_status, session.metadata["order_id"]) == ("complete", "paid", order_id)
    assert page.get_by_text(order_id).count() >= 1


def test_a_bank_debit_confirms_as_processing_and_its_webhook_pays_the_order_with_no_click(
    page: Page, sessions_app: StreamlitApp
) -> None:
    emulator = sessions_app.emulator
    page.goto(sessions_app.url)
    expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)
    fill_details(page, {"Email": "mary@example.com"})
    page.get_by_role("button", name="Continue to payment").click()
    fill_address(page, "Mary Jackson")
    frame = payment_frame(page)
    frame.get_by_role("tab", name="US bank account").click()
    frame.get_by_label("Full name").fill("Mary Jackson")
    frame.get_by_label("Routing number").fill("110000000")
    frame.get_by_label("Account number", exact=True).fill("000123456789")
    frame.get_by_label("Confirm account number").fill("000123456789")
    engine = sa.create_engine(f"sqlite:///{sessions_app.data_dir / 'shop.db'}")
    emulator.freeze_clock(emulator.now())  # the debit must still be processing when the page settles it
    try:
        pay = page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
        expect(pay).to_be_enabled(timeout=30_000)
        pay.click()
        expect(
            page.get_by_text("Payment processing: your bank debit takes a few days; we will email you.")
        ).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Total to be debited: $23.00")).to_be_visible()
        order_id = page.get_by_text(re.compile(r"^Order number: ")).inner_text().split()[2]
        order = orders.get_order(order_id, engine=engine)
        assert (order.paid_at, order.status) == (None, "pending")
        # The email the page promises is the "on its way" one: the confirmation waits for the bank.
        expect(page.get_by_text("Your email about your bank payment to mary@example.com is kept")).to_be_visible()
        wait_until(
            lambda: any(order_id in mail.read_text() for mail in sessions_app.data_dir.glob("mailbox/*.eml")),
            "the email about the bank payment never reached the shop's mailbox",
        )
        page.get_by_role("button", name="See the email").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Your bank payment is on its way")).to_be_visible(timeout=15_000)
        emulator.freeze_clock(emulator.now() + 3 * 86400)  # days later, the debit settles on the emulator's clock
        wait_until(
            lambda: orders.get_order(order_id, engine=engine).status == "paid", "the settled debit never paid the order"
        )
        charge = emulator.client().v1.charges.retrieve(orders.get_order(order_id, engine=engine).charge_id)
        assert (charge.amount, charge.status, charge.payment_method_details.type) == (
            2300,
            "succeeded",
            "us_bank_account",
        )
    finally:
        emulator.unfreeze_clock()
        engine.dispose()


def test_a_decline_keeps_everything_typed_and_4242_pays_the_same_session(
    page: Page, sessions_app: StreamlitApp
) -> None:
    continue_to_payment(page, sessions_app, "dorothy@example.com", "Dorothy Vaughan")
    type_card_in_payment_element(page, "4000000000009995")
    pay = page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()

    expect(page.get_by_test_id("stAlert").filter(has_text="insufficient funds")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Email", exact=True)).to_have_value("dorothy@example.com")
    expect(page.frame_locator(".sp-co-address iframe").get_by_label("Address line 1")).to_have_value(ADDRESS["line1"])
    clear_card(page)
    type_card_in_payment_element(page, "4242424242424242")
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()
    charge_id = confirmed_charge_id(page)

    client = sessions_app.emulator.client()
    intent_id = client.v1.charges.retrieve(charge_id).payment_intent
    charges = client.v1.charges.list(params={"payment_intent": intent_id}).data
    assert sorted(charge.status for charge in charges) == ["failed", "succeeded"]
    [session] = client.v1.checkout.sessions.list(params={"payment_intent": intent_id}).data
    assert (session.status, session.payment_status) == ("complete", "paid")


def answer_klarna(page: Page, verb: str) -> None:
    """Pay with Klarna, and on its test page press "<verb> test payment" (Authorize or Fail)."""
    payment_frame(page).get_by_role("tab", name="Klarna").click()
    pay = page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()
    expect(page.get_by_role("heading", name="Klarna test payment page")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name=f"{verb} test payment").click()


def test_klarna_authorized_comes_back_to_the_confirmation(page: Page, sessions_app: StreamlitApp) -> None:
    continue_to_payment(page, sessions_app, "annie@example.com", "Annie Easley")
    answer_klarna(page, "Authorize")

    charge_id = confirmed_charge_id(page)  # a new browser session: settled from the session named in the address
    expect(page.get_by_text("Paid through Checkout Sessions with the Payment Element.")).to_be_visible()
    assert "redirect_status" not in page.url
    charge = sessions_app.emulator.client().v1.charges.retrieve(charge_id)
    assert (charge.amount, charge.status, charge.payment_method_details.type) == (2300, "succeeded", "klarna")


def test_a_failed_klarna_redirect_comes_back_with_everything_typed_and_the_same_session_pays(
    page: Page, sessions_app: StreamlitApp
) -> None:
    # Back from the bank's page is a new browser session: what was typed lived in the old one's state.
    continue_to_payment(page, sessions_app, "katherine@example.com", "Katherine Johnson")
    answer_klarna(page, "Fail")

    expect(page.get_by_test_id("stAlert").filter(has_text="Klarna")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Email", exact=True)).to_have_value("katherine@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    # The same session, and the address given on it before the redirect, selected: nothing to type again.
    address = page.frame_locator(".sp-co-address iframe")
    expect(address.get_by_label("Full name")).to_have_value("Katherine Johnson", timeout=30_000)
    expect(address.get_by_label("Address line 1")).to_have_value(ADDRESS["line1"])
    type_card_in_payment_element(page, "4242424242424242")
    pay = page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()
    charge_id = confirmed_charge_id(page)

    client = sessions_app.emulator.client()
    intent_id = client.v1.charges.retrieve(charge_id).payment_intent
    [session] = client.v1.checkout.sessions.list(params={"payment_intent": intent_id}).data
    engine = sa.create_engine(f"sqlite:///{sessions_app.data_dir / 'shop.db'}")
    theirs = orders.list_orders(email="katherine@example.com", engine=engine)
    assert [(o.id, o.charge_id, o.customer.name) for o in theirs] == [
        (session.metadata["order_id"], charge_id, "Katherine Johnson")
    ]  # one order, paid on the session the failed redirect left open
