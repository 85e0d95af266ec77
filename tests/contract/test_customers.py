"""Customers: create, retrieve, update, list by email, and charging a saved card."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.contract.calls import declined


def _email() -> str:
    return f"reader-{uuid.uuid4().hex[:10]}@example.com"


def test_create_retrieve_update(stripe_client):
    email = _email()
    customer = stripe_client.v1.customers.create(
        params={"email": email, "name": "Ada Lovelace", "phone": "+14155550100", "metadata": {"tier": "gold"}}
    )
    assert customer.id.startswith("cus_")
    assert (customer.object, customer.email, customer.name) == ("customer", email, "Ada Lovelace")
    assert customer.livemode is False
    assert stripe_client.v1.customers.retrieve(customer.id).email == email
    updated = stripe_client.v1.customers.update(customer.id, params={"name": "Ada King", "metadata": {"tier": ""}})
    assert updated.name == "Ada King"
    assert updated.metadata.to_dict() == {}


def test_list_by_email(stripe_client):
    email = _email()
    first = stripe_client.v1.customers.create(params={"email": email})
    second = stripe_client.v1.customers.create(params={"email": email})
    stripe_client.v1.customers.create(params={"email": _email()})
    listed = stripe_client.v1.customers.list(params={"email": email})
    assert [item.id for item in listed.data] == [second.id, first.id]


def test_charge_a_customers_saved_card(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": _email(), "source": "tok_mastercard"})
    assert customer.default_source.startswith("card_")
    created = stripe_client.v1.charges.create(params={"amount": 1500, "currency": "usd", "customer": customer.id})
    assert created.customer == customer.id
    assert created.payment_method_details.card.brand == "mastercard"
    listed = stripe_client.v1.charges.list(params={"customer": customer.id})
    assert [item.id for item in listed.data] == [created.id]


def test_the_attach_then_fail_card(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": _email(), "source": "tok_chargeCustomerFail"})
    error = declined(stripe_client, customer.default_source, customer=customer.id)
    assert error.code == "card_declined"


def test_bad_email_and_unknown_customer(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.create(params={"email": "nope"})
    assert info.value.param == "email"
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.retrieve("cus_doesNotExist00")
    assert info.value.code == "resource_missing"


def test_expanding_the_default_source_gives_the_card_object_and_never_its_number(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": _email(), "source": "tok_visa"})
    expanded = stripe_client.v1.customers.retrieve(customer.id, params={"expand": ["default_source"]})
    card = expanded.default_source
    assert (card.object, card.id, card.last4, card.brand, card.customer) == (
        "card",
        customer.default_source,
        "4242",
        "Visa",
        customer.id,
    )
    body = str(expanded.to_dict_recursive() if hasattr(expanded, "to_dict_recursive") else expanded.to_dict())
    assert "4242424242424242" not in body
    assert "_private" not in body and "number" not in card
