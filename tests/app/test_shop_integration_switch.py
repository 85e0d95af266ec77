"""The shop page's "Integration (demo)" switch: offered in emulator mode only, it changes the flow of this session
and the confirmation names the integration that took the payment."""

from __future__ import annotations

from unittest import mock

import pytest

from shop import orders
from shop.config import get_settings
from tests.app.test_shop_page import DETAILS, CardStandIn, fill, pay, start
from tests.support import use_emulator

SWITCH = "checkout_integration_select"


@pytest.fixture
def default_card(tmp_path, monkeypatch, emulator):
    """A server on its default CHECKOUT_API (payment_intents), with a stand-in card that can return tokens."""
    use_emulator(monkeypatch, emulator, tmp_path)
    monkeypatch.delenv("CHECKOUT_API", raising=False)
    get_settings.cache_clear()
    stand_in = CardStandIn()
    with mock.patch("components.elements_card.elements_card", stand_in):
        yield stand_in


def test_emulator_mode_offers_the_three_integrations_the_default_chosen(default_card):
    app = start()
    switch = app.selectbox(key=SWITCH)
    assert switch.label == "Integration (demo)"
    assert switch.options == [
        "PaymentIntents with the Card Element",
        "Charges with a card token (legacy)",
        "Checkout Sessions with the Payment Element",
    ]
    assert switch.value == "payment_intents" and not switch.disabled
    assert default_card.calls[-1]["flow"] == "payment_intents"


def test_choosing_charges_mounts_the_charges_flow_keeps_the_details_and_names_it_on_the_confirmation(default_card):
    app = start()
    fill(app)
    app.selectbox(key=SWITCH).set_value("charges").run()
    assert not app.exception, app.exception
    assert default_card.calls[-1]["flow"] == "charges"
    assert default_card.calls[-1]["confirm"] is None
    assert app.text_input(key="checkout_name").value == DETAILS["checkout_name"]
    pay(app, default_card, "tok_visa")
    [order] = orders.list_orders()
    assert order.status == "paid" and order.charge_id and not order.payment_intent_id
    assert "Paid through Charges with a card token (legacy)." in [caption.value for caption in app.caption]
    next(button for button in app.button if button.label == "Buy another book").click()
    app.run()
    switch = app.selectbox(key=SWITCH)  # the pick outlives the confirmation and Buy another book
    assert (switch.value, switch.disabled) == ("charges", False)


def test_the_switch_is_locked_once_an_order_is_started(default_card):
    app = start()
    fill(app)
    app.selectbox(key=SWITCH).set_value("charges").run()
    pay(app, default_card, "tok_chargeDeclined")
    switch = app.selectbox(key=SWITCH)
    assert switch.disabled and switch.value == "charges"
    assert "Locked from the first Pay" in switch.help


def test_with_stripe_keys_there_is_no_switch(default_card, monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_not_used")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_not_used")
    get_settings.cache_clear()
    app = start()
    assert not [box for box in app.selectbox if box.label == "Integration (demo)"]
    assert default_card.calls[-1]["flow"] == "payment_intents"


def test_checkout_sessions_asks_the_email_alone_and_a_wrong_one_is_the_field_to_fix(default_card):
    app = start()
    fill(app)
    app.selectbox(key=SWITCH).set_value("checkout_sessions").run()
    # Stripe's Address Element asks the name, address and phone beside the payment: the shop's form keeps the email.
    assert [box.label for box in app.text_input] == ["Email"] and "Country" not in [b.label for b in app.selectbox]
    assert any("shipping address and phone are asked next to the payment" in c.value for c in app.caption)
    app.text_input(key="checkout_email").input("ada@").run()
    next(button for button in app.button if button.label == "Continue to payment").click().run()
    assert not app.exception, app.exception
    assert any("Enter an email address like name@example.com." in (m.value or "") for m in app.markdown)
    assert not orders.list_orders()
