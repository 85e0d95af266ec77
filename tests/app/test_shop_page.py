"""The shop page in AppTest, with the card component replaced by stand-ins: test tokens for the Charges flow,
and a confirm made with a test PaymentMethod for the PaymentIntents flow (the default)."""

from __future__ import annotations

import uuid
from pathlib import Path
from unittest import mock

import pytest
import stripe
from streamlit.testing.v1 import AppTest

from shop import attempts, catalog, fulfilment, orders
from shop.checkout import charges
from shop.config import get_settings
from shop.validation import validate_customer
from tests.support import free_port, use_emulator
from tests.support_data import CHECKOUT_DETAILS

ROOT = Path(__file__).resolve().parents[2]
DETAILS = {
    "checkout_name": "Grace Hopper",
    "checkout_email": "grace@example.com",
    "checkout_phone": "+1 415 555 0100",
    "checkout_line1": "1 Harbor Way",
    "checkout_city": "San Francisco",
    "checkout_state": "CA",
    "checkout_postal_code": "94107",
}


class CardStandIn:
    """Replaces `elements_card`: records what the page passed, returns a queued click once."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.queued: dict | None = None

    def click(self, token: str, nonce: str | None = None) -> dict:
        self.queued = {"token": token, "brand": "visa", "last4": "4242", "nonce": nonce or uuid.uuid4().hex}
        return self.queued

    def __call__(self, publishable_key, stripe_js_url, *, amount_label, key, disabled=False, **extra):
        self.calls.append(
            {"publishable_key": publishable_key, "stripe_js_url": stripe_js_url, "amount_label": amount_label, **extra}
        )
        value, self.queued = self.queued, None
        return value


@pytest.fixture
def card(tmp_path, monkeypatch, emulator):
    """The Charges flow (CHECKOUT_API=charges) with a stand-in card returning tokens."""
    use_emulator(monkeypatch, emulator, tmp_path)
    monkeypatch.setenv("CHECKOUT_API", "charges")
    get_settings.cache_clear()
    stand_in = CardStandIn()
    with mock.patch("components.elements_card.elements_card", stand_in):
        yield stand_in


def start() -> AppTest:
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def fill(app: AppTest, details: dict[str, str] = DETAILS) -> None:
    for key, value in details.items():
        app.text_input(key=key).input(value)
    app.run()


def pay(app: AppTest, card: CardStandIn, token: str, nonce: str | None = None) -> None:
    card.click(token, nonce)
    app.run()
    assert not app.exception, app.exception


def texts(app: AppTest) -> str:
    """The page's text: its markdown, alerts, and the HTML of its book cards."""
    shown = [element.value for element in [*app.markdown, *app.error, *app.warning, *app.success]]
    return "\n".join([*shown, *(element.proto.body for element in app.get("html"))])


def test_the_confirmation_names_the_card_stripe_charged_not_the_one_the_browser_claimed(card):
    app = start()
    fill(app)
    claim = card.click("tok_mastercard")
    claim.update(brand="amex", last4="0005")  # what a tampered page could send beside the token
    app.run()
    assert not app.exception, app.exception
    [success] = app.success
    assert "Mastercard card ending in 4444" in success.value


def test_the_page_lists_books_and_labels_fields(card):
    app = start()
    page = texts(app)
    for title in ("The Art of Doing Science and Engineering", "The Making of Prince of Persia", "Working in Public"):
        assert title in page
    labels = [widget.label for widget in app.text_input]
    assert labels == [
        "Full name",
        "Email",
        "Phone",
        "Address line 1",
        "Address line 2 (optional)",
        "City",
        "State / Region",
        "Postal code",
    ]
    country = app.selectbox(key="checkout_country")
    assert (country.label, country.value) == ("Country", "US")
    assert card.calls[-1]["amount_label"] == "Pay $23.00"
    assert card.calls[-1]["publishable_key"].startswith("pk_test_")
    assert card.calls[-1]["stripe_js_url"].endswith("/v3/")


def test_quantity_and_book_choice_set_the_button_amount(card):
    app = start()
    app.number_input(key="checkout_quantity").set_value(3).run()
    assert card.calls[-1]["amount_label"] == "Pay $69.00"
    app.button(key="choose_working-in-public").click().run()
    assert card.calls[-1]["amount_label"] == "Pay $84.00"


def test_paying_with_empty_details_shows_a_message_per_field_and_charges_nothing(card):
    app = start()
    pay(app, card, "tok_visa")
    page = texts(app)
    assert "Please correct the highlighted details" in page
    for message in ("Enter your full name.", "Enter your email address", "Enter a phone number", "Enter the street"):
        assert message in page
    assert orders.list_orders() == []


def test_a_wrong_email_is_flagged_as_soon_as_it_is_typed(card):
    app = start()
    app.text_input(key="checkout_email").input("grace@").run()
    assert "Enter an email address like name@example.com." in texts(app)
    assert "Enter your full name." not in texts(app)  # untouched fields wait for the first click on Pay


def test_success_shows_the_confirmation_with_the_charge(card, emulator):
    app = start()
    fill(app)
    billing = card.calls[-1]["billing"]
    assert (billing["name"], billing["address_zip"], billing["address_country"]) == ("Grace Hopper", "94107", "US")
    assert "address_line2" not in billing  # left empty
    pay(app, card, "tok_visa")
    page = texts(app)
    assert "Total charged: $23.00" in page
    charge_id = app.code[0].value
    assert charge_id.startswith("ch_")
    [order] = orders.list_orders()
    assert order.id in page
    assert "<strong>grace@example.com</strong>" in page
    assert (order.status, order.charge_id) == ("paid", charge_id)
    charge = emulator.client().v1.charges.retrieve(charge_id)
    assert (charge.amount, charge.receipt_email) == (2300, "grace@example.com")


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("tok_chargeDeclinedInsufficientFunds", "insufficient funds"),
        ("tok_chargeDeclined", "declined"),
        ("tok_chargeDeclinedLostCard", "declined"),
        ("tok_chargeDeclinedExpiredCard", "expired"),
        ("tok_chargeDeclinedIncorrectCvc", "security code"),
        ("tok_chargeDeclinedProcessingError", "try again"),
        ("tok_radarBlock", "was declined"),  # a Radar block is never explained to the customer
    ],
)
def test_declines_say_why_and_keep_the_details(card, token, words):
    app = start()
    fill(app)
    resets_before = card.calls[-1]["reset_token"]
    pay(app, card, token)
    assert [alert.value for alert in app.error if words in alert.value.lower()]
    for key, value in DETAILS.items():
        assert app.text_input(key=key).value == value
    assert card.calls[-1]["reset_token"] != resets_before  # the Pay button comes back
    assert not app.code  # no confirmation


def test_a_later_card_pays_the_same_order(card, emulator):
    app = start()
    fill(app)
    pay(app, card, "tok_chargeDeclinedInsufficientFunds")
    pay(app, card, "tok_visa")
    assert "Total charged: $23.00" in texts(app)
    [order] = orders.list_orders()
    assert order.status == "paid"
    assert [attempt.outcome for attempt in attempts.list_attempts(order.id)] == ["failed", "succeeded"]


def test_the_same_click_delivered_twice_is_handled_once(card, emulator):
    app = start()
    fill(app)
    with mock.patch("shop.checkout.charges.checkout", wraps=charges.checkout) as checkout:
        pay(app, card, "tok_chargeDeclined", nonce="one-click")
        card.click("tok_chargeDeclined", nonce="one-click")  # a replayed trigger value: same nonce
        app.run()
    assert checkout.call_count == 1  # the page recorded the nonce and did not go to Stripe again
    [order] = orders.list_orders()
    assert [attempt.outcome for attempt in attempts.list_attempts(order.id)] == ["failed"]
    made = [
        charge
        for charge in emulator.client().v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if charge.metadata.to_dict().get("order_id") == order.id
    ]
    assert len(made) == 1


def test_buy_another_book_starts_a_fresh_checkout_with_the_details_kept(card):
    app = start()
    fill(app)
    pay(app, card, "tok_visa")
    [another] = [button for button in app.button if button.label == "Buy another book"]
    another.click().run()
    assert not app.code
    assert "Your details" in [header.value for header in app.subheader]
    assert app.text_input(key="checkout_name").value == "Grace Hopper"
    pay(app, card, "tok_mastercard")
    app.button(key="checkout_duplicate_yes").click().run()  # the same book minutes later is asked about first
    assert len(orders.list_orders()) == 2


def test_unreachable_stripe_shows_a_clear_message_and_keeps_the_order_pending(card):
    dead = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": f"http://127.0.0.1:{free_port()}"}, max_network_retries=0
    )
    app = start()
    fill(app)
    with mock.patch("shop.config.stripe_client", return_value=dead):
        pay(app, card, "tok_visa")
    assert [alert.value for alert in app.error if "could not reach the payment processor" in alert.value]
    [order] = orders.list_orders()
    assert order.status == "pending"
    assert app.text_input(key="checkout_email").value == "grace@example.com"


def test_an_unexpected_failure_shows_a_message_not_a_traceback(card):
    app = start()
    fill(app)
    with mock.patch("shop.checkout.charges.checkout", side_effect=RuntimeError("database is locked")):
        pay(app, card, "tok_visa")
    assert [alert.value for alert in app.error if "Something went wrong on our side" in alert.value]
    assert "database is locked" not in texts(app)


# ---- PaymentIntents flow (the default) ----------------------------------------------------------------------


class IntentCardStandIn:
    """Replaces `elements_card` in the PaymentIntents flow: a click asks to pay; when the page hands over the
    client secret for that click, the intent is confirmed with a test PaymentMethod (what confirmCardPayment does)
    and the outcome is returned on the same run, as the component's next answer."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self.calls: list[dict] = []
        self.queued: dict | None = None
        self.payment_method: str | None = None
        self.confirmed: list[str] = []
        self.hold = False  # True: the customer is still in the 3-D Secure challenge, no outcome yet

    def click(self, payment_method: str, nonce: str | None = None) -> str:
        self.payment_method = payment_method
        nonce = nonce or uuid.uuid4().hex
        self.queued = {"action": "pay", "nonce": nonce}
        return nonce

    def __call__(self, publishable_key, stripe_js_url, *, amount_label, key, disabled=False, **extra):
        self.calls.append({"amount_label": amount_label, "disabled": disabled, **extra})
        confirm = extra.get("confirm")
        if confirm and not self.hold and confirm["nonce"] not in self.confirmed and self.queued is None:
            self.confirmed.append(confirm["nonce"])
            intent_id = confirm["client_secret"].split("_secret_")[0]
            try:
                intent = self.client.v1.payment_intents.confirm(
                    intent_id, params={"payment_method": self.payment_method}
                )
                status = intent.status
            except stripe.CardError as exc:
                status = exc.json_body["error"]["payment_intent"]["status"]
            return {"action": "outcome", "nonce": confirm["nonce"], "payment_intent": intent_id, "status": status}
        value, self.queued = self.queued, None
        return value


@pytest.fixture
def intent_card(tmp_path, monkeypatch, emulator):
    use_emulator(monkeypatch, emulator, tmp_path)
    stand_in = IntentCardStandIn(emulator.client())
    with mock.patch("components.elements_card.elements_card", stand_in):
        yield stand_in


def pay_with(app: AppTest, card: IntentCardStandIn, payment_method: str, nonce: str | None = None) -> None:
    card.click(payment_method, nonce)
    app.run()
    assert not app.exception, app.exception


def test_payment_intents_is_the_default_and_4242_shows_the_intents_latest_charge(intent_card, emulator):
    app = start()
    fill(app)
    assert intent_card.calls[-1]["flow"] == "payment_intents"
    pay_with(app, intent_card, "pm_card_visa")
    assert "Total charged: $23.00" in texts(app)
    [order] = orders.list_orders()
    intent = emulator.client().v1.payment_intents.retrieve(order.payment_intent_id)
    assert app.code[0].value == intent.latest_charge == order.charge_id
    assert (intent.amount, intent.status, intent.metadata["order_id"]) == (2300, "succeeded", order.id)
    [success] = app.success
    assert "Visa card ending in 4242" in success.value


def test_a_declined_intent_keeps_the_details_and_the_same_intent_pays_later(intent_card, emulator):
    app = start()
    fill(app)
    pay_with(app, intent_card, "pm_card_chargeDeclinedInsufficientFunds")
    assert [alert.value for alert in app.error if "insufficient funds" in alert.value]
    for key, value in DETAILS.items():
        assert app.text_input(key=key).value == value
    assert "confirm" not in intent_card.calls[-1] or intent_card.calls[-1]["confirm"] is None
    [order] = orders.list_orders()
    pay_with(app, intent_card, "pm_card_visa")
    assert "Total charged: $23.00" in texts(app)
    [paid] = orders.list_orders()
    assert (paid.id, paid.payment_intent_id, paid.status) == (order.id, order.payment_intent_id, "paid")
    intents = [
        intent
        for intent in emulator.client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.metadata.to_dict().get("order_id") == order.id
    ]
    assert len(intents) == 1


def test_a_radar_block_says_only_that_the_card_was_declined(intent_card):
    app = start()
    fill(app)
    pay_with(app, intent_card, "pm_card_radarBlock")
    [alert] = app.error
    assert "Your card was declined." in alert.value
    assert "fraud" not in alert.value.lower()


def test_the_same_outcome_delivered_twice_is_handled_once(intent_card):
    app = start()
    fill(app)
    nonce = "one-click"
    pay_with(app, intent_card, "pm_card_chargeDeclined", nonce=nonce)
    with mock.patch("shop.checkout.intents.settle_order") as settle:
        intent_card.queued = {"action": "outcome", "nonce": nonce, "payment_intent": "pi_x", "status": "succeeded"}
        app.run()
    settle.assert_not_called()
    [order] = orders.list_orders()
    assert [attempt.outcome for attempt in attempts.list_attempts(order.id)] == ["failed"]


def test_a_second_purchase_minutes_later_asks_first(intent_card):
    app = start()
    fill(app)
    pay_with(app, intent_card, "pm_card_visa")
    [first] = orders.list_orders()
    [another] = [button for button in app.button if button.label == "Buy another book"]
    another.click().run()
    pay_with(app, intent_card, "pm_card_visa")
    assert f"You bought this 1 minute ago (order {first.id}). Buy it again?" in [w.value for w in app.warning]
    assert len(orders.list_orders()) == 1  # nothing written, nothing charged while asking
    app.button(key="checkout_duplicate_no").click().run()
    assert len(orders.list_orders()) == 1
    assert "Nothing was charged" in texts(app)

    pay_with(app, intent_card, "pm_card_visa")
    app.button(key="checkout_duplicate_yes").click().run()
    assert not app.exception, app.exception
    assert "Total charged: $23.00" in texts(app)
    assert [order.status for order in orders.list_orders()] == ["paid", "paid"]


def test_the_charges_flow_asks_too_before_a_second_purchase(card):
    app = start()
    fill(app)
    pay(app, card, "tok_visa")
    [another] = [button for button in app.button if button.label == "Buy another book"]
    another.click().run()
    pay(app, card, "tok_visa")
    assert [w.value for w in app.warning if "Buy it again?" in w.value]
    app.button(key="checkout_duplicate_yes").click().run()
    assert "Total charged: $23.00" in texts(app)
    assert len(orders.list_orders()) == 2


def test_a_purchase_still_being_paid_in_another_tab_is_asked_about_first(card):
    app = start()
    fill(app)
    customer = orders.Customer(**validate_customer(CHECKOUT_DETAILS).values)
    other_tab = orders.create_order(customer, catalog.priced_line("art-of-doing-science", 1))
    attempts.start_attempt(other_tab.id, "other-tab")  # its charge is on its way to Stripe
    pay(app, card, "tok_visa")
    asked = [w.value for w in app.warning if "Buy it again?" in w.value]
    assert asked == [
        f"You started paying for this 1 minute ago (order {other_tab.id}) and that payment may still be under way, "
        "perhaps in another tab. Buy it again?"
    ]
    assert len(orders.list_orders()) == 1  # nothing written, nothing charged while asking
    app.button(key="checkout_duplicate_yes").click().run()
    assert "Total charged: $23.00" in texts(app)
    assert len(orders.list_orders()) == 2


def test_quantity_above_the_maximum_says_the_maximum_and_cannot_be_paid(intent_card):
    app = start()
    app.number_input(key="checkout_quantity").set_value(12).run()
    assert "You can order at most 10 copies at a time." in texts(app)
    assert intent_card.calls[-1]["disabled"] is True


def test_stale_messages_clear(intent_card):
    app = start()
    pay_with(app, intent_card, "pm_card_visa")
    assert "Please correct the highlighted details" in texts(app)
    fill(app)
    assert "Please correct the highlighted details" not in texts(app)  # every field is fixed now

    pay_with(app, intent_card, "pm_card_chargeDeclinedInsufficientFunds")
    assert [alert.value for alert in app.error if "insufficient funds" in alert.value]
    app.button(key="choose_working-in-public").click().run()
    assert not [alert.value for alert in app.error if "insufficient funds" in alert.value]


def test_the_last_decline_clears_while_a_new_payment_is_under_way(intent_card):
    app = start()
    fill(app)
    pay_with(app, intent_card, "pm_card_chargeDeclinedInsufficientFunds")
    assert [alert.value for alert in app.error if "insufficient funds" in alert.value]
    intent_card.hold = True
    pay_with(app, intent_card, "pm_card_authenticationRequired")
    assert intent_card.calls[-1]["confirm"] is not None  # handed to the card, which is confirming
    assert not app.error


# ---- Your order, reached from the confirmation --------------------------------------------------------------


def open_your_order(app: AppTest, order_id: str) -> AppTest:
    app.query_params["order"] = order_id
    app.switch_page("pages/your_order.py").run()
    assert not app.exception, app.exception
    return app


def find_it(app: AppTest) -> None:
    next(button for button in app.button if button.label == "Find my order").click().run()
    assert not app.exception, app.exception


def test_your_order_from_the_confirmation_has_the_email_the_whole_title_and_no_shipped_dash(intent_card):
    app = start()
    app.button(key="choose_high-growth-handbook").click().run()
    fill(app)
    pay_with(app, intent_card, "pm_card_visa")
    [order] = orders.list_orders()
    open_your_order(app, order.id)
    assert app.text_input(key="your_order_email").value == "grace@example.com"
    find_it(app)
    assert "**High Growth Handbook** × 1" in [element.value for element in app.markdown]
    captions = " ".join(caption.value for caption in app.caption)
    assert "Placed" in captions and "shipped" not in captions
    assert "cancel it for a full refund" in texts(app)


def test_your_order_offers_no_full_refund_on_a_partly_refunded_order(intent_card):
    app = start()
    fill(app)
    pay_with(app, intent_card, "pm_card_visa")
    [order] = orders.list_orders()
    fulfilment.refund_charge(order.charge_id, amount=500, idempotency_key=f"part-{order.id}")
    open_your_order(app, order.id)
    find_it(app)
    page = texts(app)
    assert "full refund" not in page
    assert "the $18.00 not yet refunded goes back" in page


def test_your_order_leaves_the_email_empty_for_another_order(intent_card):
    app = start()
    fill(app)
    pay_with(app, intent_card, "pm_card_visa")
    open_your_order(app, "SP-23456789")
    assert app.text_input(key="your_order_email").value == ""
