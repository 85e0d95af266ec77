"""SetupIntents: save a card for later — confirm, declines, 3-D Secure, update, cancel, list.

docs.stripe.com/api/setup_intents; statuses as in docs.stripe.com/payments/setupintents/lifecycle."""

from __future__ import annotations

import re

import pytest
import stripe

from tests.contract.calls import events_for


def setup_intent(client: stripe.StripeClient, **params):
    return client.v1.setup_intents.create(params={"payment_method_types": ["card"], **params})


def test_a_new_setup_intent_waits_for_a_payment_method(stripe_client):
    created = setup_intent(stripe_client, metadata={"purpose": "save"}, description="Save a card")
    assert re.fullmatch(r"seti_\w+", created.id)
    assert (created.object, created.status, created.usage) == ("setup_intent", "requires_payment_method", "off_session")
    assert re.fullmatch(rf"{created.id}_secret_\w+", created.client_secret)
    assert created.payment_method is None and created.last_setup_error is None and created.next_action is None
    assert (created.metadata["purpose"], created.description) == ("save", "Save a card")
    assert stripe_client.v1.setup_intents.retrieve(created.id).id == created.id


def test_confirming_saves_the_card_to_the_customer(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "ada@example.com"})
    created = setup_intent(stripe_client, customer=customer.id)
    done = stripe_client.v1.setup_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded"
    method = stripe_client.v1.payment_methods.retrieve(done.payment_method)
    assert (method.customer, method.card.last4) == (customer.id, "4242")
    types = {event.type for event in events_for(stripe_client, created.id, expected=2)}
    assert {"setup_intent.created", "setup_intent.succeeded"} <= types
    listed = stripe_client.v1.setup_intents.list(params={"customer": customer.id})
    assert [found.id for found in listed.data] == [created.id]
    # A succeeded intent cannot be confirmed again, nor canceled.
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.setup_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    assert again.value.code == "setup_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.setup_intents.cancel(created.id)


def test_create_with_confirm_in_one_request(stripe_client):
    done = setup_intent(stripe_client, payment_method="pm_card_mastercard", confirm=True)
    assert (done.status, done.payment_method is not None) == ("succeeded", True)


def test_a_declining_card_fails_the_setup(stripe_client):
    created = setup_intent(stripe_client)
    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.setup_intents.confirm(created.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert info.value.code == "card_declined"
    failed = stripe_client.v1.setup_intents.retrieve(created.id)
    assert (failed.status, failed.last_setup_error.code) == ("requires_payment_method", "card_declined")


def test_a_card_that_needs_authentication_waits_for_it(stripe_client):
    created = setup_intent(stripe_client)
    waiting = stripe_client.v1.setup_intents.confirm(
        created.id, params={"payment_method": "pm_card_authenticationRequired"}
    )
    assert waiting.status == "requires_action"
    assert waiting.next_action.type == "use_stripe_sdk"


def test_update_and_cancel(stripe_client):
    created = setup_intent(stripe_client)
    updated = stripe_client.v1.setup_intents.update(created.id, params={"metadata": {"order": "7"}})
    assert updated.metadata["order"] == "7"
    with_method = stripe_client.v1.setup_intents.update(created.id, params={"payment_method": "pm_card_visa"})
    assert with_method.status == "requires_confirmation"
    canceled = stripe_client.v1.setup_intents.cancel(created.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.setup_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})


def test_an_unknown_setup_intent_is_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.setup_intents.retrieve("seti_nope")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
