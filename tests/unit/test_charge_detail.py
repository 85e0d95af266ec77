"""shop.charge_detail on charges made in a private emulator: finding a charge, the assembled detail, the timeline."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import stripe

from shop import audit, catalog, charge_detail, fulfilment, orders, refund_requests, sync
from shop.checkout import charges
from tests.support import Emulator, use_emulator
from tests.support_data import CUSTOMER

HAMMING = "art-of-doing-science"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator: Emulator) -> stripe.StripeClient:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    return private_emulator.client()


def paid_order() -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    assert charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242").succeeded
    return orders.get_order(order.id)


def test_find_by_charge_order_email_and_unknown(api):
    first, second = paid_order(), paid_order()
    other = api.v1.charges.create(
        params={"amount": 999, "currency": "usd", "source": "tok_visa", "receipt_email": "Solo@Example.com"}
    )
    sync.sync(api)

    assert charge_detail.find(first.charge_id) == charge_detail.Found(charge_id=first.charge_id)
    assert charge_detail.find(second.id.lower()).charge_id == second.charge_id
    assert charge_detail.find("solo@example.com").charge_id == other.id  # one charge: no list
    several = charge_detail.find(CUSTOMER.email)
    assert several.charge_id is None
    assert {c["id"] for c in several.choices} == {second.charge_id, first.charge_id}
    created = [c["created"] for c in several.choices]
    assert created == sorted(created, reverse=True)  # newest first
    for text in ("ch_nope", "pi_nope", "SP-NOPE", "nobody@example.com", "hello"):
        found = charge_detail.find(text)
        assert (found.charge_id, found.choices) == (None, []) and found.message, text


def test_find_by_payment_intent_through_its_order_or_the_charge_itself(api):
    intent = api.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "usd",
            "payment_method_types": ["card"],
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    sync.sync(api)
    assert charge_detail.find(intent.id).charge_id == intent.latest_charge


def test_the_detail_has_stripes_money_card_and_outcome_and_the_shops_refund_with_who_did_it(api):
    order = paid_order()
    refund = fulfilment.refund_charge(
        order.charge_id, amount=700, reason="requested_by_customer", idempotency_key=uuid.uuid4().hex, actor="staff"
    )
    sync.sync(api)
    charge = api.v1.charges.retrieve(order.charge_id, params={"expand": ["balance_transaction"]})
    refund_txn = api.v1.balance_transactions.retrieve(refund.balance_transaction)

    detail = charge_detail.load(order.charge_id)

    assert (detail.amount, detail.amount_refunded, detail.status) == (charge.amount, 700, "partially refunded")
    assert (detail.fee, detail.net) == (charge.balance_transaction.fee, charge.balance_transaction.net)
    assert (detail.card_brand, detail.card_last4) == ("visa", "4242")
    assert detail.card_checks["cvc_check"] == charge.payment_method_details.card.checks.cvc_check
    assert detail.outcome["risk_level"] == charge.outcome.risk_level
    assert detail.order.id == order.id and [a.charge_id for a in detail.attempts] == [order.charge_id]
    assert detail.email == CUSTOMER.email
    [line] = detail.refunds
    assert (line.id, line.amount, line.reason, line.by) == (refund.id, 700, "requested_by_customer", "staff")
    assert (line.fee, line.net) == (refund_txn.fee, refund_txn.net)
    assert [e.action for e in detail.audit] == ["refund"]
    assert charge_detail.load("ch_unknown") is None


def test_who_made_each_refund_is_found_by_the_refunds_id_whoever_made_it(api):
    shipped = orders.mark_shipped(paid_order().id)
    request = refund_requests.request_refund(shipped.id, CUSTOMER.email, "The cover was torn.")
    approved = fulfilment.approve_refund_request(request.id, note="sorry", actor="finance@example.com")
    cancelled = fulfilment.cancel_order(paid_order().id, actor="customer")
    sync.sync(api)

    [by_approval] = charge_detail.load(shipped.charge_id).refunds
    assert (by_approval.id, by_approval.by) == (approved.refund_id, "finance@example.com")
    [by_cancel] = charge_detail.load(cancelled.charge_id).refunds
    assert by_cancel.by == "customer"
    # Words that merely mention a refund's id do not make their author its maker.
    audit.record(
        None, actor="mallory", action="refund", order_id=None, charge_id=cancelled.charge_id, detail=by_cancel.id
    )
    assert charge_detail.load(cancelled.charge_id).refunds[0].by == "customer"


def test_the_timeline_has_the_charges_events_and_the_shops_actions_oldest_first(api):
    order = paid_order()
    fulfilment.refund_charge(order.charge_id, amount=300, idempotency_key=uuid.uuid4().hex, actor="staff")
    other = paid_order()  # another charge's events are not this one's
    sync.sync(api)
    detail = charge_detail.load(order.charge_id)

    entries = charge_detail.timeline(detail, api)

    stripe_types = [e.what for e in entries if e.source == "stripe"]
    events = api.v1.events.list(params={"limit": 100}).data
    expected = [
        e.type
        for e in reversed(events)
        if order.charge_id in (e.data.object.to_dict().get("id"), e.data.object.to_dict().get("charge"))
    ]
    # In the order they happened, also within one second (Stripe lists them newest first).
    assert stripe_types == expected and "charge.succeeded" in stripe_types
    assert all(other.charge_id not in e.detail for e in entries)
    assert [e.what for e in entries if e.source == "shop"] == [f"{audit.ACTION_LABELS['refund']} (by staff)"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_the_detail_shows_the_disputes_the_shops_disputes_module_has_for_the_charge(api, monkeypatch):
    # The disputes table is another module's (shop.disputes.list_disputes); here a stand-in with that interface.
    order = paid_order()
    sync.sync(api)
    asked: list[str] = []

    def list_disputes(*, charge_id=None, statuses=None, engine=None):
        asked.append(charge_id)
        return [
            SimpleNamespace(
                id="dp_1",
                created=100,
                amount=2300,
                reason="fraudulent",
                status="needs_response",
                due_by=900,
                net_amount=-3800,
            )
        ]

    monkeypatch.setitem(sys.modules, "shop.disputes", SimpleNamespace(list_disputes=list_disputes))
    detail = charge_detail.load(order.charge_id)
    assert asked == [order.charge_id]
    assert detail.disputes == [
        {
            "id": "dp_1",
            "opened": 100,
            "amount": 2300,
            "reason": "fraudulent",
            "status": "needs_response",
            "respond_by": 900,
            "net_amount": -3800,
        }
    ]
