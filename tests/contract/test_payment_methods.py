"""PaymentMethods: created from card details with a publishable key, Stripe's test PaymentMethods, attach/detach."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe

NEXT_YEAR = dt.date.today().year + 1
BILLING = {"name": "Ada Lovelace", "email": "ada@example.com", "address": {"postal_code": "94107", "country": "US"}}


def test_a_publishable_key_creates_a_card_payment_method(publishable_client):
    method = publishable_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123"},
            "billing_details": BILLING,
        }
    )
    assert method.id.startswith("pm_")
    assert (method.object, method.type, method.customer) == ("payment_method", "card", None)
    assert (method.card.brand, method.card.last4, method.card.exp_year) == ("visa", "4242", NEXT_YEAR)
    assert method.card.funding == "credit"
    assert method.billing_details.name == "Ada Lovelace"
    assert method.billing_details.address.postal_code == "94107"
    assert "4242424242424242" not in str(method)


def test_a_secret_key_retrieves_it_and_a_publishable_key_does_not(stripe_client, publishable_client):
    method = stripe_client.v1.payment_methods.retrieve("pm_card_mastercard")
    assert (method.card.brand, method.card.last4) == ("mastercard", "4444")
    with pytest.raises((stripe.AuthenticationError, stripe.PermissionError, stripe.InvalidRequestError)):
        publishable_client.v1.payment_methods.retrieve("pm_card_visa")


def test_invalid_card_details_are_refused_as_stripe_does(publishable_client):
    with pytest.raises(stripe.CardError) as info:
        publishable_client.v1.payment_methods.create(
            params={"type": "card", "card": {"number": "4242424242424241", "exp_month": 12, "exp_year": NEXT_YEAR}}
        )
    assert info.value.code == "incorrect_number"


@pytest.mark.parametrize(
    ("name", "brand", "last4"),
    [
        ("pm_card_visa", "visa", "4242"),
        ("pm_card_mastercard", "mastercard", "4444"),
        ("pm_card_amex", "amex", "0005"),
        ("pm_card_discover", "discover", "1117"),
        ("pm_card_visa_chargeDeclined", "visa", "0002"),
        ("pm_card_chargeDeclinedInsufficientFunds", "visa", "9995"),
        ("pm_card_authenticationRequired", "visa", "3184"),
        ("pm_card_threeDSecure2Required", "visa", "3220"),
    ],
)
def test_test_payment_methods_stand_for_their_cards(stripe_client, name, brand, last4):
    method = stripe_client.v1.payment_methods.retrieve(name)
    assert (method.card.brand, method.card.last4) == (brand, last4)


def test_attach_list_and_detach(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "pm@example.com"})
    attached = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert attached.customer == customer.id
    assert attached.id.startswith("pm_") and attached.id != "pm_card_visa"  # a test id makes a new method
    listed = stripe_client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    assert [method.id for method in listed.data] == [attached.id]
    by_customer = stripe_client.v1.customers.payment_methods.list(customer.id)
    assert [method.id for method in by_customer.data] == [attached.id]

    detached = stripe_client.v1.payment_methods.detach(attached.id)
    assert detached.customer is None
    assert stripe_client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"}).data == []
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_methods.detach(attached.id)


def test_attaching_a_declining_card_fails(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "declined@example.com"})
    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.payment_methods.attach("pm_card_visa_chargeDeclined", params={"customer": customer.id})
    assert info.value.code == "card_declined"


def test_attaching_to_an_unknown_customer_is_a_400(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": "cus_doesnotexist"})
    assert info.value.code == "resource_missing"


def test_update_billing_details_and_metadata(stripe_client, publishable_client):
    method = publishable_client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "5555555555554444", "exp_month": 4, "exp_year": NEXT_YEAR}}
    )
    customer = stripe_client.v1.customers.create(params={"email": "upd@example.com"})
    stripe_client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    updated = stripe_client.v1.payment_methods.update(
        method.id, params={"billing_details": {"name": "Grace Hopper"}, "metadata": {"order": "7"}}
    )
    assert (updated.billing_details.name, updated.metadata["order"]) == ("Grace Hopper", "7")
