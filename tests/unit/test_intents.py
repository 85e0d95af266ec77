"""shop.checkout.intents against the emulator: one intent per order, settled from Stripe, faults that never charge
twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import stripe

from shop import attempts, catalog, order_checks, orders
from shop.checkout import intents, reconcile
from shop.config import ConfigError, load_settings
from tests.support import use_emulator
from tests.support_data import CHECKOUT_DETAILS

HAMMING = "art-of-doing-science"  # $23.00 in the catalog
DETAILS = CHECKOUT_DETAILS


@pytest.fixture
def emu(private_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private emulator (faults are process-wide there), emptied per test, and a fresh order store."""
    private_emulator.reset()
    use_emulator(monkeypatch, private_emulator, tmp_path)
    yield private_emulator
    private_emulator.reset()


@pytest.fixture
def client(emu) -> stripe.StripeClient:
    """A client without network retries of its own, so the shop's retries are what is tested."""
    return emu.client()


def arm(emu, method: str, path: str, action: Any, times: int = 1) -> None:
    response = httpx.post(
        f"{emu.url}/_emulator/faults",
        json={"method": method, "path": path, "action": action, "times": times},
        headers={"Authorization": "Bearer sk_test_emulator"},
    )
    assert response.status_code == 200, response.text


def prepare(client, **kwargs) -> intents.PreparedCheckout:
    prepared = intents.prepare_checkout(
        DETAILS, kwargs.pop("book_id", HAMMING), kwargs.pop("quantity", 1), client=client, **kwargs
    )
    return prepared


def browser_confirm(client, prepared: intents.PreparedCheckout, payment_method: str) -> Any:
    """What stripe.confirmCardPayment does in the page, done with the secret key."""
    try:
        return client.v1.payment_intents.confirm(
            prepared.order.payment_intent_id, params={"payment_method": payment_method}
        )
    except stripe.CardError as exc:
        return exc


def authenticate(emu, intent_id: str, result: str) -> None:
    secret = emu.client().v1.payment_intents.retrieve(intent_id).client_secret
    response = httpx.post(
        f"{emu.url}/_emulator/3ds/{intent_id}/authenticate", data={"client_secret": secret, "result": result}
    )
    assert response.status_code == 200, response.text


def intents_of(client, order_id: str) -> list[Any]:
    return [
        intent
        for intent in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.metadata.to_dict().get("order_id") == order_id
    ]


def succeeded_charges(client, order_id: str) -> list[Any]:
    return [
        charge
        for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if charge.metadata.to_dict().get("order_id") == order_id and charge.status == "succeeded"
    ]


def test_checkout_api_defaults_to_payment_intents_and_charges_is_the_switch() -> None:
    assert load_settings({}, secrets={}).checkout_api == "payment_intents"
    assert load_settings({"CHECKOUT_API": "charges"}, secrets={}).checkout_api == "charges"
    assert load_settings({}, secrets={"checkout_api": "charges"}).checkout_api == "charges"
    with pytest.raises(ConfigError, match="CHECKOUT_API"):
        load_settings({"CHECKOUT_API": "sources"}, secrets={})


def test_the_intent_carries_the_order_and_its_id_is_stored(client):
    prepared = prepare(client, quantity=2)
    assert prepared.ready
    order = prepared.order
    intent = client.v1.payment_intents.retrieve(order.payment_intent_id)
    assert prepared.client_secret == intent.client_secret
    assert (intent.amount, intent.currency, intent.status) == (4600, "usd", "requires_payment_method")
    assert intent.metadata.to_dict() == {"order_id": order.id, "book_id": HAMMING, "quantity": "2"}
    assert intent.receipt_email == "grace@example.com"
    assert intent.shipping.name == "Grace Hopper"
    assert intent.shipping.address.postal_code == "94107"
    assert intent.payment_method_types == ["card"]
    assert order.status == "pending"


def test_a_paid_intent_pays_the_order_with_latest_charge_and_the_charges_card(client):
    prepared = prepare(client)
    browser_confirm(client, prepared, "pm_card_mastercard")
    result = intents.settle_order(prepared.order.id, client=client)
    intent = client.v1.payment_intents.retrieve(prepared.order.payment_intent_id)
    assert result.succeeded
    assert result.charge_id == intent.latest_charge
    assert (result.card_brand, result.card_last4) == ("mastercard", "4444")
    order = orders.get_order(prepared.order.id)
    assert (order.status, order.charge_id) == ("paid", intent.latest_charge)


def test_a_decline_keeps_the_intent_and_a_later_card_pays_the_same_order(client):
    first = prepare(client)
    browser_confirm(client, first, "pm_card_chargeDeclinedInsufficientFunds")
    declined = intents.settle_order(first.order.id, client=client)
    assert declined.outcome == "declined"
    assert "insufficient funds" in declined.message
    assert orders.get_order(first.order.id).status == "failed"

    again = prepare(client, order_id=first.order.id)
    assert (again.order.id, again.order.payment_intent_id) == (first.order.id, first.order.payment_intent_id)
    browser_confirm(client, again, "pm_card_visa")
    assert intents.settle_order(first.order.id, client=client).succeeded
    assert len(intents_of(client, first.order.id)) == 1
    assert len(succeeded_charges(client, first.order.id)) == 1
    assert [a.outcome for a in attempts.list_attempts(first.order.id)] == ["failed", "succeeded"]


def test_settling_twice_records_a_decline_once(client):
    prepared = prepare(client)
    browser_confirm(client, prepared, "pm_card_chargeDeclined")
    intents.settle_order(prepared.order.id, client=client)
    intents.settle_order(prepared.order.id, client=client)
    assert [a.outcome for a in attempts.list_attempts(prepared.order.id)] == ["failed"]


def test_a_new_quantity_updates_the_amount_of_the_same_intent(client):
    first = prepare(client)
    revised = prepare(client, order_id=first.order.id, quantity=3, book_id="working-in-public")
    assert revised.order.id == first.order.id
    intent = client.v1.payment_intents.retrieve(first.order.payment_intent_id)
    assert (revised.order.amount, intent.amount) == (8400, 8400)
    assert intent.metadata["quantity"] == "3"
    assert intent.metadata["book_id"] == "working-in-public"


def test_one_click_prices_the_book_once_also_when_it_revises_the_order(client):
    first = prepare(client)
    with mock.patch("shop.catalog.price_for", wraps=catalog.price_for) as price_for:
        revised = prepare(client, order_id=first.order.id, quantity=2)
    assert revised.order.amount == 2 * catalog.get_book(HAMMING).price
    assert price_for.call_count == 1  # the duplicate check, the revision and Stripe share one priced line


@pytest.mark.parametrize(
    ("payment_method", "result", "words"),
    [
        ("pm_card_authenticationRequired", "complete", None),
        ("pm_card_authenticationRequired", "fail", "could not confirm"),
        ("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", "complete", "insufficient funds"),
    ],
)
def test_three_d_secure_outcomes(client, emu, payment_method, result, words):
    prepared = prepare(client)
    intent = browser_confirm(client, prepared, payment_method)
    assert intent.status == "requires_action"
    assert intents.settle_order(prepared.order.id, client=client).outcome == "not_finished"
    authenticate(emu, intent.id, result)
    settled = intents.settle_order(prepared.order.id, client=client, nonce="click-1")
    if words is None:
        assert settled.succeeded
    else:
        assert settled.outcome == "declined"
        assert words in settled.message


@pytest.mark.parametrize(
    ("code", "decline_code", "words"),
    [
        ("card_declined", "authentication_required", "confirm this payment"),
        ("payment_intent_authentication_failure", None, "could not confirm"),
        ("card_declined", "fraudulent", "Your card was declined."),
        ("card_declined", "insufficient_funds", "insufficient funds"),
        ("expired_card", None, "expired"),
    ],
)
def test_every_code_has_its_message_and_a_radar_block_says_only_declined(code, decline_code, words):
    message = intents.intent_decline_message(code, decline_code)
    assert words in message
    assert "fraud" not in message


def test_a_recent_paid_order_of_the_same_book_is_a_possible_duplicate(client):
    first = prepare(client)
    browser_confirm(client, first, "pm_card_visa")
    intents.settle_order(first.order.id, client=client)
    again = prepare(client)
    assert again.duplicate_of is not None and again.duplicate_of.id == first.order.id
    assert not again.ready
    assert len(orders.list_orders()) == 1  # nothing written while asking
    assert prepare(client, quantity=2).ready  # another amount is not a duplicate
    assert prepare(client, allow_duplicate=True).ready
    later = time.time() + order_checks.DUPLICATE_WINDOW_S + 1
    assert order_checks.possible_duplicate("grace@example.com", catalog.priced_line(HAMMING, 1), now=later) is None


def test_a_reload_continues_the_unpaid_order_and_its_intent(client):
    first = prepare(client)
    browser_confirm(client, first, "pm_card_authenticationRequired")  # then the tab reloads mid-challenge
    again = prepare(client)  # a new session: no order id
    assert (again.order.id, again.order.payment_intent_id) == (first.order.id, first.order.payment_intent_id)
    browser_confirm(client, again, "pm_card_visa")
    assert intents.settle_order(first.order.id, client=client).succeeded
    assert len(orders.list_orders()) == 1
    assert len(succeeded_charges(client, first.order.id)) == 1


def test_a_tab_closed_after_paying_is_settled_by_the_orders_reconciliation(client):
    prepared = prepare(client)
    browser_confirm(client, prepared, "pm_card_visa")  # the outcome never reaches the server
    [settled] = reconcile.settle_open_orders(client)
    assert settled.succeeded
    assert orders.get_order(prepared.order.id).status == "paid"
    assert reconcile.settle_open_orders(client) == []


def test_a_pending_attempt_left_by_a_crash_is_settled_from_the_intent(client):
    prepared = prepare(client)
    confirmed = browser_confirm(client, prepared, "pm_card_visa")
    attempts.start_attempt(prepared.order.id, confirmed.latest_charge)  # crashed before the result was recorded
    results = reconcile.reconcile_pending(client, min_age_s=0, order_id=prepared.order.id)
    assert [r.outcome for r in results] == ["succeeded"]
    assert orders.get_order(prepared.order.id).charge_id == confirmed.latest_charge


@pytest.mark.parametrize("action", ["drop_after_commit", {"status": 500}, {"status": 429}])
def test_a_fault_on_create_gives_one_intent(client, emu, action):
    arm(emu, "POST", "/v1/payment_intents", action)
    prepared = prepare(client)
    assert prepared.ready, prepared.message
    assert len(intents_of(client, prepared.order.id)) == 1


@pytest.mark.parametrize("action", ["drop_after_commit", {"status": 500}, {"status": 429}])
def test_a_fault_on_retrieve_is_retried(client, emu, action):
    prepared = prepare(client)
    browser_confirm(client, prepared, "pm_card_visa")
    arm(emu, "GET", "/v1/payment_intents/*", action)
    assert intents.settle_order(prepared.order.id, client=client).succeeded


def test_a_lost_answer_to_the_confirm_is_settled_by_retrieving_and_never_charges_twice(client, emu):
    prepared = prepare(client)
    arm(emu, "POST", "/v1/payment_intents/*/confirm", "drop_after_commit")
    with pytest.raises(stripe.APIConnectionError):
        browser_confirm(client, prepared, "pm_card_visa")
    assert intents.settle_order(prepared.order.id, client=client).succeeded
    # The customer pays again anyway: Stripe refuses a second confirm of the succeeded intent.
    again = prepare(client, order_id=prepared.order.id)
    assert again.paid is not None and again.paid.succeeded
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    assert len(succeeded_charges(client, prepared.order.id)) == 1


def test_stripe_down_for_every_try_says_so_and_writes_no_second_intent(client, emu):
    arm(emu, "POST", "/v1/payment_intents", {"status": 500}, times=intents.CALL_TRIES)
    down = prepare(client)
    assert not down.ready
    assert "unexpected error" in down.message
    assert down.order.payment_intent_id is None
    retried = prepare(client, order_id=down.order.id)  # next click: the same order, one intent
    assert retried.ready and retried.order.id == down.order.id
    assert len(intents_of(client, down.order.id)) == 1


def test_a_lost_create_then_a_new_amount_adopts_the_intent_stripe_made(client, emu):
    arm(emu, "POST", "/v1/payment_intents", "drop_after_commit", times=intents.CALL_TRIES)
    lost = prepare(client)
    assert not lost.ready and lost.order.payment_intent_id is None
    revised = prepare(client, order_id=lost.order.id, quantity=2)
    assert revised.ready
    [intent] = intents_of(client, lost.order.id)
    assert (intent.id, intent.amount) == (revised.order.payment_intent_id, 4600)
