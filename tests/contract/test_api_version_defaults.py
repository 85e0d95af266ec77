"""PaymentIntents under the pinned API version (2026-10-28): its defaults, and parameters it accepts.

Each test names the docs page it checks. The SDK sends its pinned version with every request, so real Stripe
answers these the same way whatever the account's default version is.
"""

from __future__ import annotations

import pytest
import stripe

TERMS = {"amount": 2300, "currency": "usd"}


def test_without_payment_method_types_automatic_payment_methods_are_on(stripe_client):
    # docs.stripe.com/changelog/2023-08-16/automatic-payment-methods
    created = stripe_client.v1.payment_intents.create(params=TERMS)
    assert created.automatic_payment_methods.enabled is True
    assert created.automatic_payment_methods.allow_redirects == "always"
    assert "card" in created.payment_method_types
    card_only = stripe_client.v1.payment_intents.create(params={**TERMS, "payment_method_types": ["card"]})
    assert card_only.automatic_payment_methods is None


def test_the_default_capture_method_is_automatic_async(stripe_client):
    # docs.stripe.com/changelog/2024-04-10 (automatic_async is the default capture_method)
    assert stripe_client.v1.payment_intents.create(params=TERMS).capture_method == "automatic_async"


def test_a_server_confirm_that_may_redirect_needs_a_return_url(stripe_client):
    # docs.stripe.com/changelog/2023-08-16/automatic-payment-methods: "When confirming a PaymentIntent, you're now
    # required to provide a return_url, unless off_session=true"
    created = stripe_client.v1.payment_intents.create(params=TERMS)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    assert info.value.http_status == 400
    assert "return_url" in str(info.value.user_message)
    assert stripe_client.v1.payment_intents.retrieve(created.id).status == "requires_payment_method"
    paid = stripe_client.v1.payment_intents.confirm(
        created.id, params={"payment_method": "pm_card_visa", "return_url": "https://shop.example/done"}
    )
    assert paid.status == "succeeded"


def test_no_return_url_is_needed_when_redirects_are_never_allowed(stripe_client):
    # docs.stripe.com/changelog/2023-08-16/automatic-payment-methods: allow_redirects=never bypasses it
    created = stripe_client.v1.payment_intents.create(
        params={**TERMS, "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}}
    )
    paid = stripe_client.v1.payment_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "succeeded"


def _saved_card(client: stripe.StripeClient, test_method: str) -> tuple[str, str]:
    customer = client.v1.customers.create(params={"email": "saved@example.com"})
    method = client.v1.payment_methods.attach(test_method, params={"customer": customer.id})
    return customer.id, method.id


def test_no_return_url_is_needed_off_session(stripe_client):
    customer, method = _saved_card(stripe_client, "pm_card_visa")
    paid = stripe_client.v1.payment_intents.create(
        params={**TERMS, "customer": customer, "payment_method": method, "off_session": True, "confirm": True}
    )
    assert paid.status == "succeeded"


def test_an_off_session_payment_needing_authentication_is_an_authentication_required_card_error(stripe_client):
    # docs.stripe.com/payments/save-and-reuse ("Charge the saved payment method later"): the error's code is
    # authentication_required, and the intent waits for a payment method
    customer, method = _saved_card(stripe_client, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.payment_intents.create(
            params={**TERMS, "customer": customer, "payment_method": method, "off_session": True, "confirm": True}
        )
    error = info.value.error
    assert (error.type, error.code, info.value.http_status) == ("card_error", "authentication_required", 402)
    assert error.payment_intent.status == "requires_payment_method"


def test_amount_details_line_items_are_accepted(stripe_client):
    # docs.stripe.com/api/payment_intents/create#create_payment_intent-amount_details-line_items
    created = stripe_client.v1.payment_intents.create(
        params={
            **TERMS,
            "payment_method_types": ["card"],
            "amount_details": {
                "line_items": [
                    {"product_name": "Stubborn Attachments", "quantity": 1, "unit_cost": 1800},
                    {"product_name": "Bookmark", "quantity": 2, "unit_cost": 250},
                ]
            },
        }
    )
    assert created.amount == 2300 and created.status == "requires_payment_method"


def test_manual_confirmation_is_accepted_and_confirmed_on_the_server(stripe_client):
    # docs.stripe.com/api/payment_intents/create#create_payment_intent-confirmation_method
    created = stripe_client.v1.payment_intents.create(
        params={**TERMS, "payment_method_types": ["card"], "confirmation_method": "manual"}
    )
    assert created.confirmation_method == "manual"
    paid = stripe_client.v1.payment_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "succeeded"


def test_a_manually_confirmed_intent_cannot_be_confirmed_with_a_publishable_key(stripe_client, publishable_client):
    # docs.stripe.com/api/payment_intents/confirm: "If the confirmation_method is manual, all payment attempts must
    # be initiated using a secret key."
    created = stripe_client.v1.payment_intents.create(
        params={**TERMS, "payment_method_types": ["card"], "confirmation_method": "manual"}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        publishable_client.v1.payment_intents.confirm(
            created.id, params={"client_secret": created.client_secret, "payment_method": "pm_card_visa"}
        )
    assert info.value.http_status == 400
    assert stripe_client.v1.payment_intents.retrieve(created.id).status == "requires_payment_method"
