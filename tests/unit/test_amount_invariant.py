"""An order is paid only at what Stripe charged: its amount and currency, on every settle path.

The race of a revised quantity against a confirm of the old client secret is driven deterministically: the server's
update of the intent is held by the emulator's `delay_s` fault while the old secret is confirmed with the
publishable key, as a browser holding it could.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from shop import attempts, catalog, orders, second_charges, webhooks
from shop.checkout import charges, intents, reconcile, unwanted_charges
from shop.validation import validate_customer
from tests.support import use_emulator
from tests.support_data import CHECKOUT_DETAILS

HAMMING = "art-of-doing-science"  # $23.00 in the catalog
SECRET = {"Authorization": "Bearer sk_test_emulator"}


@pytest.fixture
def emu(private_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private emulator (faults are process-wide there), emptied per test, and a fresh order store."""
    private_emulator.reset()
    use_emulator(monkeypatch, private_emulator, tmp_path)
    yield private_emulator
    private_emulator.reset()


@pytest.fixture
def client(emu) -> stripe.StripeClient:
    return emu.client()


def arm(emu, method: str, path: str, action: Any) -> None:
    response = httpx.post(
        f"{emu.url}/_emulator/faults", json={"method": method, "path": path, "action": action}, headers=SECRET
    )
    assert response.status_code == 200, response.text


def wait_until_taken(emu) -> None:
    """Wait until the armed fault has met its request (the request is then held by the emulator)."""
    for _ in range(2000):
        if not httpx.get(f"{emu.url}/_emulator/faults", headers=SECRET).json()["data"]:
            return
        threading.Event().wait(0.005)
    raise AssertionError("the held request never arrived")


def prepare(client, quantity: int = 1, **kwargs) -> intents.PreparedCheckout:
    return intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, quantity, client=client, **kwargs)


def confirm_with_secret(emu, intent_id: str, client_secret: str) -> dict:
    """What the browser can do with the client secret it was given: confirm with the publishable key."""
    response = httpx.post(
        f"{emu.url}/v1/payment_intents/{intent_id}/confirm",
        data={"client_secret": client_secret, "payment_method": "pm_card_visa"},
        headers={"Authorization": "Bearer pk_test_emulator"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_quantity_racing_a_confirm_of_the_old_secret_never_records_the_new_amount_paid(client, emu):
    first = prepare(client)
    order_id, intent_id = first.order.id, first.order.payment_intent_id
    arm(emu, "POST", f"/v1/payment_intents/{intent_id}", {"delay_s": 3})  # the update, not the confirm
    answers: list[intents.PreparedCheckout] = []
    click = threading.Thread(target=lambda: answers.append(prepare(client, 10, order_id=order_id)))
    click.start()
    wait_until_taken(emu)
    confirmed = confirm_with_secret(emu, intent_id, first.client_secret)  # while the update is held
    click.join()
    assert (confirmed["status"], confirmed["amount"]) == ("succeeded", 2300)
    assert not answers[0].ready  # the update was refused: the intent had already succeeded

    intent = client.raw_request("get", f"/v1/payment_intents/{intent_id}").data
    event = {
        "id": "evt_race",
        "object": "event",
        "created": intent["created"],
        "type": "payment_intent.succeeded",
        "data": {"object": intent},
    }
    assert webhooks.apply_event(event, client=client)[0] == 200
    reconcile.settle_open_orders(client)
    order = orders.get_order(order_id)
    charge = client.v1.charges.retrieve(intent["latest_charge"])
    charge_refunded = charge.amount_refunded == charge.amount
    # Either the order is paid at exactly what was charged, or it is not paid and the charge went back.
    if order.paid_at:
        assert (order.amount, order.quantity, order.charge_id) == (charge.amount, 1, charge.id)
        assert not charge_refunded
    else:
        assert charge_refunded


# ------------------------------------------------------------------ every settle path, amount and currency apart

# What Stripe charged instead of the order's $23.00: another amount, or the same number in another currency.
MISMATCHES = {"amount": {"amount": 4600, "currency": "usd"}, "currency": {"amount": 2300, "currency": "eur"}}


def intent_paid_at_other_terms(client, terms: dict) -> intents.PreparedCheckout:
    """An intent order ($23.00) whose intent was changed at Stripe to other terms and then confirmed."""
    prepared = prepare(client)
    intent_id = prepared.order.payment_intent_id
    client.v1.payment_intents.update(intent_id, params=terms)
    client.v1.payment_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
    return prepared


def assert_refunded_not_paid(client, order_id: str, charge_id: str, terms: dict) -> None:
    order = orders.get_order(order_id)
    assert not order.paid_at and order.charge_id is None
    assert order.status == "cancelled"  # closed: its intent can take no other payment
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount, charge.currency) == (terms["amount"], terms["currency"])
    assert charge.amount_refunded == charge.amount
    [kept] = second_charges.list_second_charges()
    assert (kept.charge_id, kept.order_id, kept.found_by) == (charge_id, order_id, unwanted_charges.MISMATCH)
    assert (kept.amount, kept.currency) == (terms["amount"], terms["currency"])
    assert kept.refunded_at is not None


@pytest.mark.parametrize("kind", MISMATCHES)
def test_settling_from_the_browser_refunds_an_intent_of_other_terms(client, kind):
    terms = MISMATCHES[kind]
    prepared = intent_paid_at_other_terms(client, terms)
    result = intents.settle_order(prepared.order.id, client=client)
    assert not result.succeeded and result.outcome == "refunded"
    assert "refunded" in result.message and "pay again" in result.message
    charge_id = client.v1.payment_intents.retrieve(prepared.order.payment_intent_id).latest_charge
    assert_refunded_not_paid(client, prepared.order.id, charge_id, terms)
    # Settling again changes nothing and refunds nothing more.
    assert intents.settle_order(prepared.order.id, client=client).outcome == "refunded"
    assert len(client.v1.refunds.list(params={"charge": charge_id}).data) == 1


@pytest.mark.parametrize("kind", MISMATCHES)
def test_the_webhook_refunds_an_intent_of_other_terms(client, kind):
    terms = MISMATCHES[kind]
    prepared = intent_paid_at_other_terms(client, terms)
    intent = client.raw_request("get", f"/v1/payment_intents/{prepared.order.payment_intent_id}").data
    event = {"id": f"evt_{kind}", "object": "event", "created": intent["created"], "type": "payment_intent.succeeded"}
    assert webhooks.apply_event({**event, "data": {"object": intent}}, client=client)[0] == 200
    assert_refunded_not_paid(client, prepared.order.id, intent["latest_charge"], terms)


@pytest.mark.parametrize("kind", MISMATCHES)
def test_the_open_orders_check_refunds_an_intent_of_other_terms(client, kind):
    terms = MISMATCHES[kind]
    prepared = intent_paid_at_other_terms(client, terms)  # the tab closed: only the check hears of it
    [settled] = reconcile.settle_open_orders(client)
    assert settled.outcome == "refunded"
    charge_id = client.v1.payment_intents.retrieve(prepared.order.payment_intent_id).latest_charge
    assert_refunded_not_paid(client, prepared.order.id, charge_id, terms)
    assert reconcile.settle_open_orders(client) == []  # closed: not looked at again


@pytest.mark.parametrize("kind", MISMATCHES)
def test_reconciliation_refunds_an_intent_of_other_terms(client, kind):
    terms = MISMATCHES[kind]
    prepared = intent_paid_at_other_terms(client, terms)
    charge_id = client.v1.payment_intents.retrieve(prepared.order.payment_intent_id).latest_charge
    attempts.start_attempt(prepared.order.id, charge_id)  # crashed before the result was recorded
    results = reconcile.reconcile_pending(client, min_age_s=0, order_id=prepared.order.id)
    assert [r.outcome for r in results] != ["succeeded"]
    assert_refunded_not_paid(client, prepared.order.id, charge_id, terms)


def charges_order_and_attempt() -> tuple[orders.Order, attempts.Attempt]:
    order = orders.create_order(
        orders.Customer(**validate_customer(CHECKOUT_DETAILS).values), catalog.priced_line(HAMMING, 1)
    )
    return order, attempts.start_attempt(order.id, "click-1")


def charge_for(client, order: orders.Order, attempt: attempts.Attempt, terms: dict) -> Any:
    """A charge Stripe made for the attempt (its metadata names both), at `terms`."""
    metadata = {"order_id": order.id, "attempt": str(attempt.id)}
    return client.v1.charges.create(params={**terms, "source": "tok_visa", "metadata": metadata})


@pytest.mark.parametrize("kind", MISMATCHES)
def test_the_charges_flow_refunds_a_charge_of_other_terms(client, kind, monkeypatch):
    terms = MISMATCHES[kind]
    made = charges.charge_params
    monkeypatch.setattr(charges, "charge_params", lambda *args: {**made(*args), **terms})  # Stripe charged that
    order = orders.create_order(
        orders.Customer(**validate_customer(CHECKOUT_DETAILS).values), catalog.priced_line(HAMMING, 1)
    )
    result = charges.pay_order(order.id, "tok_visa", "click-1", client=client)
    assert not result.succeeded and "refunded" in result.message
    [attempt] = attempts.list_attempts(order.id)
    assert_refunded_not_paid(client, order.id, attempt.charge_id, terms)


@pytest.mark.parametrize("kind", MISMATCHES)
def test_reconciliation_refunds_a_charges_flow_charge_of_other_terms(client, kind):
    terms = MISMATCHES[kind]
    order, attempt = charges_order_and_attempt()
    charge = charge_for(client, order, attempt, terms)  # the answer was lost: the attempt stays pending
    results = reconcile.reconcile_pending(client, min_age_s=0, order_id=order.id)
    assert [r.outcome for r in results] == ["failed"]
    assert_refunded_not_paid(client, order.id, charge.id, terms)


@pytest.mark.parametrize("kind", MISMATCHES)
def test_a_sync_and_its_settling_refund_a_charges_flow_charge_of_other_terms(client, kind):
    terms = MISMATCHES[kind]
    order, attempt = charges_order_and_attempt()
    attempts.finish_attempt(attempt.id, "failed", code=attempts.NOT_CHARGED, message="Stripe has no charge")
    charge = charge_for(client, order, attempt, terms)  # made after its attempt was closed as not charged
    reconcile.sync_and_settle(client)
    assert_refunded_not_paid(client, order.id, charge.id, terms)


def test_the_store_pays_an_order_only_at_its_amount_and_currency(emu):
    order, attempt = charges_order_and_attempt()
    with pytest.raises(ValueError, match="amount and currency"):
        attempts.finish_attempt(attempt.id, "succeeded", charge_id="ch_x")
    attempts.finish_attempt(attempt.id, "succeeded", charge_id="ch_x", amount=2300, currency="eur")
    assert not orders.get_order(order.id).paid_at
    second = attempts.start_attempt(order.id, "click-2")
    attempts.finish_attempt(second.id, "succeeded", charge_id="ch_y", amount=2300, currency="USD")
    assert orders.get_order(order.id).charge_id == "ch_y"
