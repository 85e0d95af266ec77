"""Idempotent requests: replays, conflicts and concurrent requests with one key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

PARAMS = {"amount": 2300, "currency": "usd", "source": "tok_visa", "metadata": {"order_id": "idem"}}


def test_replay_returns_the_first_response(stripe_client, key):
    idempotency_key = key()
    first = stripe_client.v1.charges.create(params=PARAMS, options={"idempotency_key": idempotency_key})
    again = stripe_client.v1.charges.create(params=PARAMS, options={"idempotency_key": idempotency_key})
    assert again.id == first.id
    assert again.to_dict() == first.to_dict()
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert again.last_response.headers.get("Request-Id")


def test_other_parameters_with_one_key_are_an_idempotency_error(stripe_client, key):
    idempotency_key = key()
    stripe_client.v1.charges.create(params=PARAMS, options={"idempotency_key": idempotency_key})
    with pytest.raises(stripe.IdempotencyError) as info:
        stripe_client.v1.charges.create(params={**PARAMS, "amount": 2400}, options={"idempotency_key": idempotency_key})
    assert info.value.http_status == 400
    assert info.value.error.type == "idempotency_error"


def test_a_declined_charge_replays_its_decline_without_a_second_charge(stripe_client, key):
    idempotency_key = key()
    params = {**PARAMS, "source": "tok_chargeDeclined"}
    with pytest.raises(stripe.CardError) as first:
        stripe_client.v1.charges.create(params=params, options={"idempotency_key": idempotency_key})
    with pytest.raises(stripe.CardError) as again:
        stripe_client.v1.charges.create(params=params, options={"idempotency_key": idempotency_key})
    assert again.value.error.charge == first.value.error.charge


def test_a_refused_request_does_not_use_up_its_key(stripe_client, key):
    idempotency_key = key()
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.charges.create(params={**PARAMS, "amount": 10}, options={"idempotency_key": idempotency_key})
    created = stripe_client.v1.charges.create(params=PARAMS, options={"idempotency_key": idempotency_key})
    assert created.amount == 2300


def test_twenty_concurrent_requests_with_one_key_create_one_charge(stripe_client, key):
    idempotency_key = key()
    params = {**PARAMS, "metadata": {"order_id": idempotency_key}}

    def create(_: int) -> str:
        try:
            return stripe_client.v1.charges.create(params=params, options={"idempotency_key": idempotency_key}).id
        except stripe.IdempotencyError:  # Stripe may answer 409 to a request racing one with the same key
            return "conflict"

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = set(pool.map(create, range(20))) - {"conflict"}
    assert len(ids) == 1
    recent = stripe_client.v1.charges.list(params={"limit": 100}).data
    assert [item.id for item in recent if item.metadata.to_dict().get("order_id") == idempotency_key] == list(ids)


def test_refunds_are_idempotent_too(stripe_client, key):
    created = stripe_client.v1.charges.create(params=PARAMS)
    idempotency_key = key()
    first = stripe_client.v1.refunds.create(
        params={"charge": created.id, "amount": 100}, options={"idempotency_key": idempotency_key}
    )
    again = stripe_client.v1.refunds.create(
        params={"charge": created.id, "amount": 100}, options={"idempotency_key": idempotency_key}
    )
    assert again.id == first.id
    assert stripe_client.v1.charges.retrieve(created.id).amount_refunded == 100
