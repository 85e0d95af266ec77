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
    CHALLENGE_MODAL,
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_address,
    fill_details,
    payment_frame,
    sidebar_link,
    sign_in,
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
    type_bank_account(page, "Mary Jackson", "000123456789")
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


def charges_of_order(app: StreamlitApp, order_id: str) -> list:
    """Every charge Stripe (the emulator) made for the order, by its intents' metadata."""
    client = app.emulator.client()
    found = []
    for intent in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
        if intent.metadata.to_dict().get("order_id") == order_id:
            found += client.v1.charges.list(params={"payment_intent": intent.id}).data
    return found


def order_id_of(app: StreamlitApp, charge_id: str) -> str:
    client = app.emulator.client()
    return client.v1.payment_intents.retrieve(client.v1.charges.retrieve(charge_id).payment_intent).metadata["order_id"]


def order_ids_of(app: StreamlitApp, email: str) -> list[str]:
    """The ids of the customer's orders in the app's store, newest first."""
    engine = sa.create_engine(f"sqlite:///{app.data_dir / 'shop.db'}")
    try:
        return [order.id for order in orders.list_orders(email=email, engine=engine)]
    finally:
        engine.dispose()


def type_bank_account(page: Page, name: str, account: str) -> None:
    """Choose the Payment Element's US bank account tab and type Stripe's test routing number and `account`."""
    frame = payment_frame(page)
    frame.get_by_role("tab", name="US bank account").click()
    frame.get_by_label("Full name").fill(name)
    frame.get_by_label("Routing number").fill("110000000")
    frame.get_by_label("Account number", exact=True).fill(account)
    frame.get_by_label("Confirm account number").fill(account)


def pay_button(page: Page):
    return page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))


def test_card_3184_pays_after_the_challenge(page: Page, sessions_app: StreamlitApp) -> None:
    continue_to_payment(page, sessions_app, "mae@example.com", "Mae Jemison")
    type_card_in_payment_element(page, "4000002760003184")
    expect(pay_button(page)).to_be_enabled(timeout=30_000)
    pay_button(page).click()
    challenge = page.locator(CHALLENGE_MODAL)
    expect(challenge).to_be_visible(timeout=30_000)
    page.frame_locator(f"{CHALLENGE_MODAL} iframe").get_by_role("button", name="Complete").click()
    charge_id = confirmed_charge_id(page)
    expect(challenge).to_have_count(0)
    charges = charges_of_order(sessions_app, order_id_of(sessions_app, charge_id))
    assert [(charge.id, charge.status) for charge in charges] == [(charge_id, "succeeded")]


def test_a_double_click_on_pay_makes_one_payment(page: Page, sessions_app: StreamlitApp) -> None:
    continue_to_payment(page, sessions_app, "valerie@example.com", "Valerie Thomas")
    type_card_in_payment_element(page, "4242424242424242")
    expect(pay_button(page)).to_be_enabled(timeout=30_000)
    # Two clicks in the same task, before the first one's confirmation has gone anywhere.
    page.evaluate("() => { const pay = document.querySelector('.sp-pay-button'); pay.click(); pay.click(); }")
    charge_id = confirmed_charge_id(page)
    order_id = order_id_of(sessions_app, charge_id)
    assert [(c.id, c.status) for c in charges_of_order(sessions_app, order_id)] == [(charge_id, "succeeded")]
    assert order_ids_of(sessions_app, "valerie@example.com") == [order_id]


def test_a_reload_during_the_challenge_pays_the_same_order_once(page: Page, sessions_app: StreamlitApp) -> None:
    continue_to_payment(page, sessions_app, "evelyn@example.com", "Evelyn Boyd Granville")
    type_card_in_payment_element(page, "4000002760003184")
    expect(pay_button(page)).to_be_enabled(timeout=30_000)
    pay_button(page).click()
    expect(page.locator(CHALLENGE_MODAL)).to_be_visible(timeout=30_000)
    page.reload()  # a new browser session: the shop knows the customer again by the email

    expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)
    fill_details(page, {"Email": "evelyn@example.com"})
    page.get_by_role("button", name="Continue to payment").click()
    # The order's open session, with the address given on it before the reload, selected.
    address = page.frame_locator(".sp-co-address iframe")
    expect(address.get_by_label("Full name")).to_have_value("Evelyn Boyd Granville", timeout=30_000)
    type_card_in_payment_element(page, "4242424242424242")
    expect(pay_button(page)).to_be_enabled(timeout=30_000)
    pay_button(page).click()
    charge_id = confirmed_charge_id(page)

    order_id = order_id_of(sessions_app, charge_id)
    succeeded = [c.id for c in charges_of_order(sessions_app, order_id) if c.status == "succeeded"]
    assert succeeded == [charge_id]
    assert order_ids_of(sessions_app, "evelyn@example.com") == [order_id]


def test_a_returned_bank_debit_tells_the_customer_and_staff_why(page: Page, sessions_app: StreamlitApp) -> None:
    emulator = sessions_app.emulator
    continue_to_payment(page, sessions_app, "gladys@example.com", "Gladys West")
    type_bank_account(page, "Gladys West", "000222222227")
    engine = sa.create_engine(f"sqlite:///{sessions_app.data_dir / 'shop.db'}")
    emulator.freeze_clock(emulator.now())  # still processing when the page settles it
    try:
        expect(pay_button(page)).to_be_enabled(timeout=30_000)
        pay_button(page).click()
        expect(page.get_by_text(re.compile("^Payment processing"))).to_be_visible(timeout=30_000)
        order_id = page.get_by_text(re.compile(r"^Order number: ")).inner_text().split()[2]
        emulator.freeze_clock(emulator.now() + 3 * 86400)  # days later the bank returns it
        wait_until(
            lambda: orders.get_order(order_id, engine=engine).status == "failed",
            "the returned debit never reached the order",
        )
    finally:
        emulator.unfreeze_clock()
    try:
        # The customer is told by email (with the bank's reason, composed from the return's code).
        wait_until(
            lambda: any(
                f"Your bank returned the payment for order {order_id}" in mail.read_text()
                for mail in sessions_app.data_dir.glob("mailbox/*.eml")
            ),
            "the email about the returned debit never reached the shop's mailbox",
        )
        # Staff read the return on Failures, apart from card declines, with what it means.
        sign_in(page, sessions_app)
        sidebar_link(page, "Failures").click()
        expect(page.get_by_text("insufficient_funds (bank debit)").first).to_be_visible(timeout=30_000)
    finally:
        engine.dispose()


def test_at_phone_width_the_checkout_fits_and_pays(page: Page, sessions_app: StreamlitApp) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    continue_to_payment(page, sessions_app, "ruby@example.com", "Ruby Bridges")
    type_card_in_payment_element(page, "4242424242424242")
    expect(pay_button(page)).to_be_enabled(timeout=30_000)
    for frame in (".sp-co-payment iframe", ".sp-co-address iframe"):
        box = page.locator(frame).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    pay_button(page).click()
    confirmed_charge_id(page)
