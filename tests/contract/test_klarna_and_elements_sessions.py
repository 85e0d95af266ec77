"""Klarna, the redirect method of the Payment Element, on a PaymentIntent; and the payment method types an
elements Checkout Session offers.

docs.stripe.com/payments/klarna/accept-a-payment (a confirm with a return_url goes requires_action with a
redirect_to_url next action), docs.stripe.com/api/checkout/sessions/create#create_checkout_session-ui_mode and
-payment_method_types, docs.stripe.com/payments/ach-direct-debit (US bank accounts take USD)."""

from __future__ import annotations

import pytest
import stripe

RETURN = "https://shop.example/return?session_id={CHECKOUT_SESSION_ID}"
KLARNA_RETURN = "https://shop.example/checkout/return"
BILLING = {"email": "ada@example.com", "address": {"country": "US"}}


def klarna_intent(client: stripe.StripeClient) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={"amount": 6400, "currency": "usd", "payment_method_types": ["klarna"]}
    )


def test_a_klarna_confirm_sends_the_customer_to_klarna_and_back(stripe_client):
    intent = klarna_intent(stripe_client)
    confirmed = stripe_client.v1.payment_intents.confirm(
        intent.id,
        params={
            "payment_method_data": {"type": "klarna", "billing_details": BILLING},
            "return_url": KLARNA_RETURN,
        },
    )
    assert confirmed.status == "requires_action"
    action = confirmed.next_action
    assert action.type == "redirect_to_url"
    assert action.redirect_to_url.return_url == KLARNA_RETURN
    assert action.redirect_to_url.url.startswith("http")
    method = stripe_client.v1.payment_methods.retrieve(confirmed.payment_method)
    assert (method.type, method.billing_details.email) == ("klarna", "ada@example.com")


def test_a_klarna_confirm_needs_a_return_url(stripe_client):
    intent = klarna_intent(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.confirm(
            intent.id, params={"payment_method_data": {"type": "klarna", "billing_details": BILLING}}
        )
    assert "return_url" in info.value.user_message


def test_an_elements_session_offers_the_types_it_was_given_and_pays_through_its_client_secret(stripe_client):
    created = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "elements",
            "line_items": [
                {
                    "price_data": {"currency": "usd", "unit_amount": 2300, "product_data": {"name": "Stubborn"}},
                    "quantity": 1,
                }
            ],
            "payment_method_types": ["card", "us_bank_account", "klarna"],
            "return_url": RETURN,
            "shipping_address_collection": {"allowed_countries": ["US", "CA", "GB", "DE", "FR"]},
            "phone_number_collection": {"enabled": True},
        }
    )
    assert (created.ui_mode, created.url, created.payment_intent) == ("elements", None, None)
    assert created.client_secret.startswith(f"{created.id}_secret_")
    assert created.payment_method_types == ["card", "us_bank_account", "klarna"]
    assert (created.status, created.payment_status) == ("open", "unpaid")


def test_a_bank_account_is_refused_on_a_session_in_another_currency(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "ui_mode": "elements",
                "line_items": [
                    {
                        "price_data": {"currency": "eur", "unit_amount": 2300, "product_data": {"name": "Stubborn"}},
                        "quantity": 1,
                    }
                ],
                "payment_method_types": ["card", "us_bank_account"],
                "return_url": RETURN,
            }
        )
    assert "us_bank_account" in info.value.user_message


def test_klarna_is_refused_in_a_currency_it_does_not_present(stripe_client):
    # Stripe may refuse at create or at confirm: either way no Klarna payment in yen starts.
    with pytest.raises(stripe.InvalidRequestError):
        intent = stripe_client.v1.payment_intents.create(
            params={"amount": 6400, "currency": "jpy", "payment_method_types": ["klarna"]}
        )
        stripe_client.v1.payment_intents.confirm(
            intent.id,
            params={
                "payment_method_data": {"type": "klarna", "billing_details": BILLING},
                "return_url": KLARNA_RETURN,
            },
        )
