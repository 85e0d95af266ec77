"""PaymentIntents: statuses, confirm on the server and with a publishable key, declines, capture, cancel, lists."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import stripe

from tests.contract.calls import events_for

NEXT_YEAR = dt.date.today().year + 1
ORDER = {"amount": 2300, "currency": "usd", "payment_method_types": ["card"], "metadata": {"order_id": "pi-1"}}
SHIPPING = {"name": "Ada Lovelace", "address": {"line1": "1 Main St", "city": "SF", "postal_code": "94107"}}


def intent(client: stripe.StripeClient, **params):
    return client.v1.payment_intents.create(params={**ORDER, **params})


def confirm(client: stripe.StripeClient, intent_id: str, **params):
    return client.v1.payment_intents.confirm(intent_id, params=params)


def test_a_new_intent_waits_for_a_payment_method(stripe_client):
    created = intent(
        stripe_client,
        description="Stubborn Attachments",
        receipt_email="ada@example.com",
        shipping=SHIPPING,
    )
    assert created.id.startswith("pi_")
    assert created.status == "requires_payment_method"
    assert re.fullmatch(rf"{created.id}_secret_\w+", created.client_secret)
    assert (created.amount, created.currency, created.amount_received, created.amount_capturable) == (
        2300,
        "usd",
        0,
        0,
    )
    assert created.latest_charge is None and created.last_payment_error is None and created.next_action is None
    # docs.stripe.com/changelog/2024-04-10: automatic_async is the default capture method of the pinned version
    assert (created.capture_method, created.metadata["order_id"]) == ("automatic_async", "pi-1")
    assert created.shipping.address.line1 == "1 Main St"
    assert created.receipt_email == "ada@example.com"
    assert [event.type for event in events_for(stripe_client, created.id)] == ["payment_intent.created"]


def test_automatic_payment_methods_are_accepted(stripe_client):
    created = stripe_client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "automatic_payment_methods": {"enabled": True}}
    )
    assert created.automatic_payment_methods.enabled is True


def test_a_payment_method_makes_it_wait_for_confirmation(stripe_client):
    created = intent(stripe_client, payment_method="pm_card_visa")
    assert created.status == "requires_confirmation"
    assert created.payment_method.startswith("pm_")


def test_confirm_on_the_server_succeeds_with_one_charge(stripe_client):
    created = intent(stripe_client, receipt_email="ada@example.com")
    paid = confirm(stripe_client, created.id, payment_method="pm_card_visa")
    assert (paid.status, paid.amount_received, paid.amount_capturable) == ("succeeded", 2300, 0)
    assert paid.latest_charge.startswith("ch_")
    charge = stripe_client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.payment_intent, charge.status, charge.captured, charge.amount) == (
        created.id,
        "succeeded",
        True,
        2300,
    )
    assert charge.payment_method == paid.payment_method
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.receipt_email == "ada@example.com"
    listed = stripe_client.v1.charges.list(params={"payment_intent": created.id})
    assert [c.id for c in listed.data] == [charge.id]
    types = {event.type for event in events_for(stripe_client, created.id, expected=2)}
    assert {"payment_intent.created", "payment_intent.succeeded"} <= types
    assert [e.type for e in events_for(stripe_client, charge.id)] == ["charge.succeeded"]


def test_create_and_confirm_in_one_call(stripe_client):
    paid = intent(stripe_client, payment_method="pm_card_mastercard", confirm=True)
    assert paid.status == "succeeded"
    assert stripe_client.v1.charges.retrieve(paid.latest_charge).payment_method_details.card.brand == "mastercard"


DECLINES = [
    ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card", "Your card was declined."),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", None, "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None, "Your card's security code is incorrect."),
    (
        "pm_card_chargeDeclinedProcessingError",
        "processing_error",
        None,
        "An error occurred while processing your card. Try again in a little bit.",
    ),
]


@pytest.mark.parametrize(("method", "code", "decline_code", "message"), DECLINES)
def test_a_decline_is_a_402_and_leaves_the_intent_for_a_retry(stripe_client, method, code, decline_code, message):
    created = intent(stripe_client)
    with pytest.raises(stripe.CardError) as info:
        confirm(stripe_client, created.id, payment_method=method)
    error = info.value.error
    assert info.value.http_status == 402
    assert (error.code, error.to_dict().get("decline_code"), error.message) == (code, decline_code, message)
    assert error.payment_intent.id == created.id
    assert error.payment_intent.status == "requires_payment_method"
    assert error.charge.startswith("ch_")

    failed = stripe_client.v1.payment_intents.retrieve(created.id)
    last = failed.last_payment_error
    assert failed.status == "requires_payment_method"
    assert (last.type, last.code, last.to_dict().get("decline_code"), last.message) == (
        "card_error",
        code,
        decline_code,
        message,
    )
    assert last.charge == error.charge == failed.latest_charge
    assert last.payment_method.id.startswith("pm_")
    assert stripe_client.v1.charges.retrieve(last.charge).status == "failed"
    assert events_for(stripe_client, created.id, expected=2)[0].type == "payment_intent.payment_failed"

    paid = confirm(stripe_client, created.id, payment_method="pm_card_visa")
    assert paid.status == "succeeded" and paid.last_payment_error is None
    charges = stripe_client.v1.charges.list(params={"payment_intent": created.id}).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]
    assert paid.latest_charge == next(c.id for c in charges if c.status == "succeeded")


def test_a_radar_block_declines_through_last_payment_error(stripe_client):
    created = intent(stripe_client)
    with pytest.raises(stripe.CardError):
        confirm(stripe_client, created.id, payment_method="pm_card_radarBlock")
    last = stripe_client.v1.payment_intents.retrieve(created.id).last_payment_error
    assert (last.code, last.decline_code) == ("card_declined", "fraudulent")
    assert stripe_client.v1.charges.retrieve(last.charge).outcome.type == "blocked"


@pytest.mark.parametrize("first_state", ["succeeded", "canceled"])
def test_a_succeeded_or_canceled_intent_cannot_be_confirmed(stripe_client, first_state):
    created = intent(stripe_client)
    if first_state == "succeeded":
        confirm(stripe_client, created.id, payment_method="pm_card_visa")
    else:
        stripe_client.v1.payment_intents.cancel(created.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        confirm(stripe_client, created.id, payment_method="pm_card_visa")
    assert info.value.http_status == 400
    assert info.value.code == "payment_intent_unexpected_state"
    charges = stripe_client.v1.charges.list(params={"payment_intent": created.id}).data
    assert len(charges) == (1 if first_state == "succeeded" else 0)


def test_a_confirm_without_a_payment_method_is_refused(stripe_client):
    created = intent(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        confirm(stripe_client, created.id)
    assert info.value.http_status == 400


def test_manual_capture_authorizes_then_captures_less(stripe_client):
    created = intent(stripe_client, capture_method="manual")
    held = confirm(stripe_client, created.id, payment_method="pm_card_visa")
    assert (held.status, held.amount_capturable, held.amount_received) == ("requires_capture", 2300, 0)
    assert stripe_client.v1.charges.retrieve(held.latest_charge).captured is False
    assert "payment_intent.amount_capturable_updated" in {e.type for e in events_for(stripe_client, created.id, 2)}

    captured = stripe_client.v1.payment_intents.capture(created.id, params={"amount_to_capture": 1500})
    assert (captured.status, captured.amount_received, captured.amount_capturable) == ("succeeded", 1500, 0)
    charge = stripe_client.v1.charges.retrieve(captured.latest_charge)
    assert (charge.captured, charge.amount_captured, charge.amount_refunded) == (True, 1500, 800)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.capture(created.id)
    assert info.value.code == "payment_intent_unexpected_state"


def test_capturing_more_than_authorized_is_refused(stripe_client):
    held = intent(stripe_client, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.capture(held.id, params={"amount_to_capture": 2400})
    assert stripe_client.v1.payment_intents.retrieve(held.id).status == "requires_capture"


def test_cancel_with_a_reason_and_release_of_an_authorization(stripe_client):
    waiting = intent(stripe_client)
    canceled = stripe_client.v1.payment_intents.cancel(waiting.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    assert "payment_intent.canceled" in {e.type for e in events_for(stripe_client, waiting.id, 2)}

    held = intent(stripe_client, capture_method="manual", payment_method="pm_card_visa", confirm=True)
    released = stripe_client.v1.payment_intents.cancel(held.id)
    assert (released.status, released.amount_capturable) == ("canceled", 0)
    assert stripe_client.v1.charges.retrieve(held.latest_charge).refunded is True


def test_a_succeeded_intent_cannot_be_canceled(stripe_client):
    paid = intent(stripe_client, payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.cancel(paid.id)
    assert info.value.code == "payment_intent_unexpected_state"


def test_update_before_payment_and_metadata_after(stripe_client):
    created = intent(stripe_client)
    updated = stripe_client.v1.payment_intents.update(
        created.id,
        params={
            "amount": 4600,
            "metadata": {"quantity": "2"},
            "description": "Two books",
            "receipt_email": "b@example.com",
        },
    )
    assert (updated.amount, updated.description, updated.receipt_email) == (4600, "Two books", "b@example.com")
    assert updated.metadata.to_dict() == {"order_id": "pi-1", "quantity": "2"}
    paid = confirm(stripe_client, created.id, payment_method="pm_card_visa")
    assert paid.amount_received == 4600
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.update(created.id, params={"amount": 100})
    noted = stripe_client.v1.payment_intents.update(created.id, params={"metadata": {"shipped": "yes"}})
    assert noted.metadata["shipped"] == "yes"


def test_a_publishable_key_retrieves_with_the_client_secret_only(stripe_client, publishable_client):
    created = intent(stripe_client)
    seen = publishable_client.v1.payment_intents.retrieve(created.id, params={"client_secret": created.client_secret})
    assert (seen.id, seen.status, seen.amount) == (created.id, "requires_payment_method", 2300)
    with pytest.raises(stripe.StripeError):
        publishable_client.v1.payment_intents.retrieve(created.id)
    with pytest.raises(stripe.StripeError):
        publishable_client.v1.payment_intents.retrieve(created.id, params={"client_secret": created.id + "_secret_x"})


def test_a_publishable_key_confirms_with_card_details_as_stripe_js_does(stripe_client, publishable_client):
    created = intent(stripe_client)
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123"}
    paid = publishable_client.v1.payment_intents.confirm(
        created.id,
        params={
            "client_secret": created.client_secret,
            "payment_method_data": {"type": "card", "card": card, "billing_details": {"name": "Ada Lovelace"}},
        },
    )
    assert paid.status == "succeeded"
    full = stripe_client.v1.payment_intents.retrieve(created.id)
    charge = stripe_client.v1.charges.retrieve(full.latest_charge)
    assert (charge.billing_details.name, charge.payment_method_details.card.last4) == ("Ada Lovelace", "4242")


def test_a_publishable_key_cannot_confirm_without_the_client_secret(stripe_client, publishable_client):
    created = intent(stripe_client)
    with pytest.raises(stripe.StripeError):
        publishable_client.v1.payment_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    assert stripe_client.v1.payment_intents.retrieve(created.id).status == "requires_payment_method"


@pytest.mark.parametrize(
    "method",
    ["pm_card_authenticationRequired", "pm_card_threeDSecure2Required", "pm_card_authenticationRequiredOnSetup"],
)
def test_a_card_that_must_authenticate_requires_action(stripe_client, method):
    created = intent(stripe_client)
    waiting = confirm(stripe_client, created.id, payment_method=method)
    assert waiting.status == "requires_action"
    assert waiting.next_action.type == "use_stripe_sdk"
    assert waiting.latest_charge is None
    assert "payment_intent.requires_action" in {e.type for e in events_for(stripe_client, created.id, 2)}


def test_a_return_url_asks_for_a_redirect(stripe_client):
    created = intent(stripe_client)
    waiting = confirm(
        stripe_client,
        created.id,
        payment_method="pm_card_authenticationRequired",
        return_url="https://shop.example/back",
    )
    assert waiting.next_action.type == "redirect_to_url"
    assert waiting.next_action.redirect_to_url.return_url == "https://shop.example/back"
    assert waiting.next_action.redirect_to_url.url.startswith("http")


def test_a_card_supporting_but_not_requiring_3ds_pays_without_action(stripe_client):
    paid = intent(stripe_client, payment_method="pm_card_threeDSecureOptional", confirm=True)
    assert paid.status == "succeeded" and paid.next_action is None


def test_an_intent_requiring_action_can_be_confirmed_with_another_card(stripe_client):
    created = intent(stripe_client)
    confirm(stripe_client, created.id, payment_method="pm_card_authenticationRequired")
    paid = confirm(stripe_client, created.id, payment_method="pm_card_visa")
    assert paid.status == "succeeded"


def test_idempotent_create_and_confirm(stripe_client, key):
    create_key, confirm_key = key(), key()
    first = stripe_client.v1.payment_intents.create(params=ORDER, options={"idempotency_key": create_key})
    again = stripe_client.v1.payment_intents.create(params=ORDER, options={"idempotency_key": create_key})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.payment_intents.create(
            params={**ORDER, "amount": 999}, options={"idempotency_key": create_key}
        )

    params = {"payment_method": "pm_card_visa"}
    paid = stripe_client.v1.payment_intents.confirm(first.id, params=params, options={"idempotency_key": confirm_key})
    replay = stripe_client.v1.payment_intents.confirm(first.id, params=params, options={"idempotency_key": confirm_key})
    assert (replay.status, replay.latest_charge) == ("succeeded", paid.latest_charge)
    assert len(stripe_client.v1.charges.list(params={"payment_intent": first.id}).data) == 1


def test_a_declined_confirm_replays_its_decline(stripe_client, key):
    created = intent(stripe_client)
    confirm_key = key()
    params = {"payment_method": "pm_card_visa_chargeDeclined"}
    with pytest.raises(stripe.CardError) as first:
        stripe_client.v1.payment_intents.confirm(created.id, params=params, options={"idempotency_key": confirm_key})
    with pytest.raises(stripe.CardError) as again:
        stripe_client.v1.payment_intents.confirm(created.id, params=params, options={"idempotency_key": confirm_key})
    assert again.value.error.charge == first.value.error.charge
    assert len(stripe_client.v1.charges.list(params={"payment_intent": created.id}).data) == 1


def test_list_by_customer_newest_first_with_cursors(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "intents@example.com"})
    made = [intent(stripe_client, customer=customer.id, metadata={"n": str(n)}) for n in range(3)]
    listed = stripe_client.v1.payment_intents.list(params={"customer": customer.id})
    assert [i.id for i in listed.data] == [i.id for i in reversed(made)]
    page = stripe_client.v1.payment_intents.list(params={"customer": customer.id, "limit": 2})
    assert page.has_more is True
    rest = stripe_client.v1.payment_intents.list(
        params={"customer": customer.id, "limit": 2, "starting_after": page.data[-1].id}
    )
    assert [i.id for i in rest.data] == [made[0].id] and rest.has_more is False
    since = stripe_client.v1.payment_intents.list(params={"customer": customer.id, "created": {"gte": made[0].created}})
    assert len(since.data) == 3


def test_setup_future_usage_saves_the_card_to_the_customer(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "save@example.com"})
    paid = intent(
        stripe_client,
        customer=customer.id,
        setup_future_usage="off_session",
        payment_method="pm_card_visa",
        confirm=True,
    )
    assert paid.status == "succeeded"
    assert stripe_client.v1.payment_methods.retrieve(paid.payment_method).customer == customer.id


def test_refund_by_payment_intent(stripe_client):
    paid = intent(stripe_client, payment_method="pm_card_visa", confirm=True)
    refund = stripe_client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 300})
    assert (refund.charge, refund.payment_intent, refund.amount) == (paid.latest_charge, paid.id, 300)
    assert stripe_client.v1.charges.retrieve(paid.latest_charge).amount_refunded == 300
