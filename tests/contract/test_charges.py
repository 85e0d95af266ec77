"""Charges: shape, update, capture, amounts and currencies, parameter errors."""

from __future__ import annotations

import pytest
import stripe

from tests.contract.calls import charge

SHIPPING = {
    "name": "Ada Lovelace",
    "phone": "+14155550100",
    "address": {
        "line1": "1 Market St",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94105",
        "country": "US",
    },
}


def test_a_charge_has_stripes_shape(stripe_client):
    created = charge(
        stripe_client,
        amount=2300,
        description="Poor Charlie's Almanack",
        receipt_email="ada@example.com",
        shipping=SHIPPING,
        metadata={"order_id": "42", "sku": "almanack"},
        statement_descriptor_suffix="ORDER 42",
    )
    assert created.id.startswith("ch_")
    assert created.object == "charge"
    assert (created.amount, created.amount_captured, created.amount_refunded) == (2300, 2300, 0)
    assert created.currency == "usd"
    assert created.livemode is False
    assert created.refunded is False
    assert created.balance_transaction.startswith("txn_")
    assert created.description == "Poor Charlie's Almanack"
    assert created.receipt_email == "ada@example.com"
    assert created.receipt_url.startswith("http")
    assert created.metadata.to_dict() == {"order_id": "42", "sku": "almanack"}
    assert created.shipping.name == "Ada Lovelace"
    assert created.shipping.address.line1 == "1 Market St"
    assert created.shipping.address.line2 is None
    assert created.statement_descriptor_suffix == "ORDER 42"
    assert created.payment_intent is None
    assert created.customer is None
    card = created.payment_method_details.card
    assert card.exp_month and card.exp_year and card.network == "visa"
    assert created.payment_method_details.type == "card"
    assert created.source.object == "card"
    assert created.billing_details.address is not None
    assert stripe_client.v1.charges.retrieve(created.id).to_dict() == created.to_dict()


def test_update_changes_description_metadata_email_and_shipping(stripe_client):
    created = charge(stripe_client, metadata={"keep": "1", "drop": "2"})
    updated = stripe_client.v1.charges.update(
        created.id,
        params={
            "description": "updated",
            "metadata": {"drop": "", "new": "3"},
            "receipt_email": "grace@example.com",
            "shipping": SHIPPING,
        },
    )
    assert updated.description == "updated"
    assert updated.metadata.to_dict() == {"keep": "1", "new": "3"}
    assert updated.receipt_email == "grace@example.com"
    assert updated.shipping.address.city == "San Francisco"
    assert stripe_client.v1.charges.retrieve(created.id).metadata.to_dict() == {"keep": "1", "new": "3"}


def test_uncaptured_charge_then_full_capture(stripe_client):
    authorized = charge(stripe_client, amount=5000, capture=False)
    assert (authorized.status, authorized.paid, authorized.captured) == ("succeeded", True, False)
    assert authorized.amount_captured == 0
    captured = stripe_client.v1.charges.capture(authorized.id)
    assert captured.captured is True
    assert captured.amount_captured == 5000
    assert captured.amount_refunded == 0
    assert captured.balance_transaction.startswith("txn_")


def test_partial_capture_releases_the_rest(stripe_client):
    authorized = charge(stripe_client, amount=5000, capture=False)
    captured = stripe_client.v1.charges.capture(authorized.id, params={"amount": 3000})
    assert captured.amount_captured == 3000
    assert captured.amount_refunded == 2000
    assert captured.refunded is False


def test_capture_twice_is_refused(stripe_client):
    created = charge(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.capture(created.id)
    assert info.value.code == "charge_already_captured"


def test_capture_more_than_authorized_is_refused(stripe_client):
    authorized = charge(stripe_client, amount=1000, capture=False)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.capture(authorized.id, params={"amount": 1001})
    assert info.value.param == "amount"
    assert stripe_client.v1.charges.retrieve(authorized.id).captured is False


def test_minimum_usd_charge_is_50_cents(stripe_client):
    assert charge(stripe_client, amount=50).amount == 50
    with pytest.raises(stripe.InvalidRequestError) as info:
        charge(stripe_client, amount=49)
    assert info.value.code == "amount_too_small"
    assert info.value.param == "amount"


def test_zero_decimal_currency_amounts_are_whole_yen(stripe_client):
    created = stripe_client.v1.charges.create(params={"amount": 500, "currency": "jpy", "source": "tok_visa"})
    assert (created.amount, created.currency) == (500, "jpy")
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.create(params={"amount": 49, "currency": "jpy", "source": "tok_visa"})
    assert info.value.code == "amount_too_small"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": "abc", "currency": "usd", "source": "tok_visa"}, "amount"),
        ({"currency": "usd", "source": "tok_visa"}, "amount"),
        ({"amount": 1000, "source": "tok_visa"}, "currency"),
        ({"amount": 1000, "currency": "zzz", "source": "tok_visa"}, "currency"),
        ({"amount": 1000, "currency": "usd", "source": "tok_visa", "colour": "red"}, "colour"),
        ({"amount": 1000, "currency": "usd", "source": "tok_visa", "capture": "maybe"}, "capture"),
        ({"amount": 1000, "currency": "usd", "source": "tok_visa", "receipt_email": "not-an-email"}, "receipt_email"),
        ({"amount": 1000, "currency": "usd", "source": "tok_visa", "shipping": {"name": "A"}}, "shipping[address]"),
        (
            {"amount": 1000, "currency": "usd", "source": "tok_visa", "shipping": {**SHIPPING, "colour": "red"}},
            "shipping[colour]",
        ),
    ],
)
def test_bad_parameters_are_400_with_the_param(stripe_client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.create(params=params)
    assert info.value.http_status == 400
    assert info.value.param == param
    assert info.value.error.type == "invalid_request_error"


def test_charge_needs_a_source_or_customer(stripe_client):
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.charges.create(params={"amount": 1000, "currency": "usd"})


def test_unknown_charge_is_404_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.retrieve("ch_doesNotExist000000000000")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


def test_refunds_expand_on_a_charge(stripe_client):
    created = charge(stripe_client, amount=3000)
    refund = stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 1000})
    expanded = stripe_client.v1.charges.retrieve(created.id, params={"expand": ["refunds"]})
    assert [item.id for item in expanded.refunds.data] == [refund.id]
