"""Capture at shipment (CAPTURE=at_shipment) against the emulator, in both checkout flows.

Checkout only authorizes; "Mark shipped" captures (once, whatever the retries) and ships only when that worked;
cancelling before shipping releases the authorization instead of refunding it; stale and released
authorizations are listed for staff.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import stripe

from shop import analytics, audit, clock, config, fulfilment, orders, sync
from shop.checkout import charges, intents
from shop.order_rules import OrderStateError
from tests.support import use_emulator
from tests.support_data import CHECKOUT_DETAILS

HAMMING = "art-of-doing-science"  # $23.00 in the catalog


@pytest.fixture
def client(private_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stripe.StripeClient:
    """An empty emulator of this module's own: a test here moves its clock a week on, and what it charges then
    stays dated in the future, ahead of every later event (a shared emulator would carry that to other tests)."""
    use_emulator(monkeypatch, private_emulator, tmp_path)
    monkeypatch.setenv("CAPTURE", "at_shipment")
    config.get_settings.cache_clear()
    private_emulator.reset()
    return private_emulator.client()


def charges_checkout(client: stripe.StripeClient, token: str = "tok_visa") -> orders.Order:
    payment = {"token": token, "nonce": uuid.uuid4().hex, "brand": "visa", "last4": "4242"}
    outcome = charges.checkout(CHECKOUT_DETAILS, HAMMING, 1, payment, allow_duplicate=True, client=client)
    assert outcome.result is not None and outcome.result.succeeded, outcome
    assert "authorized" in outcome.result.message
    return outcome.result.order


def intents_checkout(client: stripe.StripeClient) -> orders.Order:
    prepared = intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, 1, allow_duplicate=True, client=client)
    assert prepared.ready, prepared.message
    client.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    settled = intents.settle_order(prepared.order.id, client=client)
    assert settled is not None and settled.succeeded
    return settled.order


FLOWS = {"charges": charges_checkout, "payment_intents": intents_checkout}


def test_the_setting_defaults_to_capture_at_checkout_and_refuses_other_values() -> None:
    assert config.load_settings({}, secrets={}).capture == "at_checkout"
    assert config.load_settings({"CAPTURE": "at_shipment"}, secrets={}).capture_at_shipment
    with pytest.raises(config.ConfigError, match="CAPTURE must be at_checkout"):
        config.load_settings({"CAPTURE": "later"}, secrets={})


@pytest.mark.parametrize("flow", FLOWS)
def test_checkout_authorizes_and_shipping_captures_once(client: stripe.StripeClient, flow: str) -> None:
    order = FLOWS[flow](client)
    assert order.capture_method == "manual" and order.awaiting_capture
    charge = client.v1.charges.retrieve(order.charge_id)
    assert (charge.captured, charge.amount_captured) == (False, 0)
    with pytest.raises(OrderStateError, match="not captured yet"):
        orders.mark_shipped(order.id)  # the store never ships an uncaptured order

    shipped = fulfilment.ship_order(order.id, actor="staff", client=client)
    assert shipped.status == "shipped" and shipped.captured_at and not shipped.awaiting_capture
    assert [(e.actor, e.action) for e in audit.entries(order_id=order.id)] == [
        ("staff", "capture"),
        ("staff", "ship"),
    ]
    charge = client.v1.charges.retrieve(order.charge_id)
    assert (charge.captured, charge.amount_captured) == (True, order.amount)
    with pytest.raises(OrderStateError, match="already shipped"):
        fulfilment.ship_order(order.id, client=client)


@pytest.mark.parametrize("flow", FLOWS)
def test_a_capture_key_replayed_after_a_lost_answer_captures_once(client: stripe.StripeClient, flow: str) -> None:
    order = FLOWS[flow](client)
    key = fulfilment.capture_key(order)
    if order.payment_intent_id:
        client.v1.payment_intents.capture(order.payment_intent_id, options={"idempotency_key": key})
    else:
        client.v1.charges.capture(order.charge_id, options={"idempotency_key": key})
    # The answer was lost: the order still thinks it is only authorized. Shipping captures nothing more.
    shipped = fulfilment.ship_order(order.id, client=client)
    assert shipped.status == "shipped"
    assert client.v1.charges.retrieve(order.charge_id).amount_captured == order.amount


@pytest.mark.parametrize("flow", FLOWS)
def test_cancelling_before_shipping_releases_instead_of_refunding(client: stripe.StripeClient, flow: str) -> None:
    order = FLOWS[flow](client)
    cancelled = fulfilment.cancel_order(order.id, client=client)
    assert cancelled.status == "cancelled" and cancelled.released_at and not cancelled.captured_at
    charge = client.v1.charges.retrieve(order.charge_id)
    assert (charge.captured, charge.refunded) == (False, True)
    if order.payment_intent_id:
        assert client.v1.payment_intents.retrieve(order.payment_intent_id).status == "canceled"
    assert [o.id for o in orders.released_authorizations()] == [order.id]
    with pytest.raises(OrderStateError):
        fulfilment.ship_order(order.id, client=client)


@pytest.mark.parametrize("flow", FLOWS)
def test_a_cancel_after_a_capture_the_order_has_not_recorded_refunds_the_money(
    client: stripe.StripeClient, flow: str
) -> None:
    # Staff shipping it captured the payment, then lost the race to record the shipment (or the answer): the
    # order still says "authorized". Cancelling must refund the captured money, not call it released.
    order = FLOWS[flow](client)
    if order.payment_intent_id:
        client.v1.payment_intents.capture(order.payment_intent_id)
    else:
        client.v1.charges.capture(order.charge_id)

    cancelled = fulfilment.cancel_order(order.id, client=client)

    charge = client.v1.charges.retrieve(order.charge_id)
    assert (charge.captured, charge.amount_refunded) == (True, charge.amount)
    assert cancelled.status == "cancelled" and not cancelled.released_at
    assert cancelled.amount_refunded == charge.amount


def test_an_authorization_released_elsewhere_is_not_shipped(client: stripe.StripeClient) -> None:
    order = charges_checkout(client)
    client.v1.refunds.create(params={"charge": order.charge_id})  # released in the Dashboard, say
    with pytest.raises(fulfilment.CaptureError, match="not shipped"):
        fulfilment.ship_order(order.id, client=client)
    assert orders.get_order(order.id).shipped_at is None


def test_the_sync_follows_a_capture_and_a_release_made_elsewhere(client: stripe.StripeClient) -> None:
    captured_elsewhere, released_elsewhere = charges_checkout(client), charges_checkout(client, "tok_mastercard")
    client.v1.charges.capture(captured_elsewhere.charge_id)
    client.v1.refunds.create(params={"charge": released_elsewhere.charge_id})
    sync.sync(client, full=True)
    assert orders.get_order(captured_elsewhere.id).captured_at
    released = orders.get_order(released_elsewhere.id)
    assert released.released_at and released.status == "released"


def test_authorizations_older_than_six_days_are_listed(client: stripe.StripeClient) -> None:
    week_ago = int(time.time()) - 6 * 86400 - 60
    with clock.store_clock(lambda: week_ago):
        old = charges_checkout(client)
    fresh = charges_checkout(client, "tok_mastercard")
    stale = orders.stale_authorizations(6 * 86400)
    assert [o.id for o in stale] == [old.id]
    fulfilment.ship_order(old.id, client=client)
    assert orders.stale_authorizations(6 * 86400) == []
    assert fresh.awaiting_capture


def test_uncaptured_money_is_counted_apart_from_gross(client: stripe.StripeClient) -> None:
    captured, authorized = charges_checkout(client), charges_checkout(client, "tok_mastercard")
    fulfilment.ship_order(captured.id, client=client)
    sync.sync(client, full=True)
    frame = analytics.load_charges()
    assert analytics.totals(frame).gross == captured.amount
    assert analytics.uncaptured(frame) == (1, authorized.amount)


@pytest.mark.parametrize("flow", FLOWS)
def test_an_authorization_stripe_released_after_7_days_shows_as_released(
    client: stripe.StripeClient, flow: str
) -> None:
    order = FLOWS[flow](client)
    sync.sync(client, full=True)
    try:
        # The emulator's clock 7 days on: Stripe releases the uncaptured charge (charge.expired).
        client.raw_request("post", "/_emulator/clock", frozen_time=str(int(time.time()) + 7 * 86400 + 60))
        assert client.v1.charges.retrieve(order.charge_id).refunded is True
        sync.sync(client)
    finally:
        client.raw_request("post", "/_emulator/clock", frozen_time="")
    released = orders.get_order(order.id)
    assert released.status == "released" and released.released_at and not released.awaiting_capture
    assert [o.id for o in orders.released_authorizations()] == [order.id]
    with pytest.raises(OrderStateError, match="released uncaptured"):
        fulfilment.ship_order(order.id, client=client)
