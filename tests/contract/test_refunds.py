"""Refunds: amounts, limits, reasons, releasing authorizations, listing by charge."""

from __future__ import annotations

import time

import pytest
import stripe

from tests.contract.calls import charge, declined, events_for


def test_full_refund_by_default(stripe_client):
    created = charge(stripe_client, amount=2300)
    refund = stripe_client.v1.refunds.create(params={"charge": created.id, "reason": "requested_by_customer"})
    assert refund.id.startswith("re_")
    assert (refund.object, refund.amount, refund.charge, refund.currency) == ("refund", 2300, created.id, "usd")
    assert refund.status == "succeeded"
    assert refund.reason == "requested_by_customer"
    assert refund.balance_transaction.startswith("txn_")
    after = stripe_client.v1.charges.retrieve(created.id)
    assert (after.amount_refunded, after.refunded) == (2300, True)
    assert stripe_client.v1.refunds.retrieve(refund.id).amount == 2300


def test_partial_refunds_add_up_to_the_captured_amount_and_no_more(stripe_client):
    created = charge(stripe_client, amount=3000)
    stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 1000, "metadata": {"why": "dent"}})
    middle = stripe_client.v1.charges.retrieve(created.id)
    assert (middle.amount_refunded, middle.refunded) == (1000, False)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 2001})
    assert info.value.param == "amount"
    rest = stripe_client.v1.refunds.create(params={"charge": created.id})
    assert rest.amount == 2000
    assert stripe_client.v1.charges.retrieve(created.id).refunded is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 1})
    assert info.value.code == "charge_already_refunded"


def test_refunds_never_exceed_a_partial_capture(stripe_client):
    authorized = charge(stripe_client, amount=5000, capture=False)
    stripe_client.v1.charges.capture(authorized.id, params={"amount": 3000})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"charge": authorized.id, "amount": 3001})
    refund = stripe_client.v1.refunds.create(params={"charge": authorized.id})
    assert refund.amount == 3000


def test_a_failed_charge_cannot_be_refunded(stripe_client):
    failed_id = declined(stripe_client, "tok_chargeDeclined").error.charge
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"charge": failed_id})
    assert stripe_client.v1.charges.retrieve(failed_id).amount_refunded == 0


def test_refunding_an_uncaptured_charge_releases_it_for_good(stripe_client):
    authorized = charge(stripe_client, amount=4000, capture=False)
    refund = stripe_client.v1.refunds.create(params={"charge": authorized.id})
    assert refund.amount == 4000
    released = stripe_client.v1.charges.retrieve(authorized.id)
    assert (released.refunded, released.captured, released.amount_refunded) == (True, False, 4000)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.capture(authorized.id)
    assert info.value.code == "charge_already_refunded"


def test_an_uncaptured_charge_cannot_be_partially_refunded(stripe_client):
    authorized = charge(stripe_client, amount=4000, capture=False)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"charge": authorized.id, "amount": 1000})


@pytest.mark.parametrize(
    ("params", "param"),
    [({"reason": "changed_mind"}, "reason"), ({"amount": 0}, "amount"), ({"amount": "x"}, "amount")],
)
def test_bad_refund_parameters(stripe_client, params, param):
    created = charge(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(params={"charge": created.id, **params})
    assert info.value.param == param


def test_refund_of_an_unknown_charge(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(params={"charge": "ch_doesNotExist000000000000"})
    assert info.value.code == "resource_missing"


def test_refunds_list_by_charge_newest_first(stripe_client):
    created = charge(stripe_client, amount=3000)
    first = stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 1000})
    second = stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 500})
    listed = stripe_client.v1.refunds.list(params={"charge": created.id})
    assert [item.id for item in listed.data] == [second.id, first.id]
    assert listed.has_more is False
    one = stripe_client.v1.refunds.list(params={"charge": created.id, "limit": 1})
    assert one.has_more is True
    assert [item.id for item in one.auto_paging_iter()] == [second.id, first.id]


def test_refund_metadata_update(stripe_client):
    refund = stripe_client.v1.refunds.create(params={"charge": charge(stripe_client).id})
    updated = stripe_client.v1.refunds.update(refund.id, params={"metadata": {"ticket": "7"}})
    assert updated.metadata.to_dict() == {"ticket": "7"}


def test_a_refund_of_the_refund_failure_card_fails_later_and_gives_the_money_back(stripe_client, publishable_client):
    # docs.stripe.com/testing#refunds: 4000 0000 0000 5126, "Asynchronous refund failure".
    token = publishable_client.v1.tokens.create(
        params={"card": {"number": "4000000000005126", "exp_month": "12", "exp_year": "2034", "cvc": "123"}}
    )
    created = charge(stripe_client, token.id, amount=2300)
    refund = stripe_client.v1.refunds.create(params={"charge": created.id})
    assert refund.status == "succeeded"

    deadline = time.monotonic() + 60
    while stripe_client.v1.refunds.retrieve(refund.id).status != "failed":
        assert time.monotonic() < deadline, "the refund never failed"
        time.sleep(0.2)  # polling interval while the refund fails in the background

    after = stripe_client.v1.charges.retrieve(created.id)
    assert (after.amount_refunded, after.refunded) == (0, False)
    [updated] = events_for(stripe_client, refund.id, type="charge.refund.updated")
    assert updated.data.object.status == "failed"
    assert updated.data.previous_attributes["status"] == "succeeded"
