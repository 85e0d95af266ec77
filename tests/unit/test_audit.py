"""The audit log: each action on an order or a charge leaves one entry saying who did what, and nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from shop import attempts, audit, catalog, clock, fulfilment, orders, refund_requests
from shop.checkout import charges
from shop.db import get_engine
from shop.orders import Customer, OrderStateError
from tests.support import use_emulator

HAMMING = "art-of-doing-science"  # $23.00 in the catalog
ADA = Customer(
    name="Ada Lovelace",
    email="ada@example.com",
    phone="+44 20 7946 0000",
    line1="12 St James's Square",
    line2="",
    city="London",
    state="",
    postal_code="SW1Y 4JH",
    country="GB",
)


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    return get_engine(database_url)


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator, database_url: str) -> stripe.StripeClient:
    use_emulator(monkeypatch, private_emulator, tmp_path, database_url)
    private_emulator.reset()
    return private_emulator.client()


def shipped_ready(engine: sa.Engine) -> orders.Order:
    order = orders.create_order(ADA, catalog.priced_line(HAMMING, 1), engine=engine)
    attempt = attempts.start_attempt(order.id, "n-1", card_brand="visa", card_last4="4242", engine=engine)
    attempts.finish_attempt(
        attempt.id, "succeeded", charge_id="ch_audit", amount=order.amount, currency=order.currency, engine=engine
    )
    return orders.get_order(order.id, engine=engine)


def paid_order(client: stripe.StripeClient) -> orders.Order:
    order = orders.create_order(ADA, catalog.priced_line(HAMMING, 1))
    charges.pay_order(order.id, "tok_visa", "nonce-1", card_brand="visa", card_last4="4242", client=client)
    return orders.get_order(order.id)


def test_an_entry_is_read_back_by_its_order_or_its_charge_oldest_first(engine: sa.Engine) -> None:
    with clock.store_clock(lambda: 1_700_000_000):
        audit.record(None, actor="staff", action="ship", order_id="SP-A", charge_id="ch_1", engine=engine)
    with clock.store_clock(lambda: 1_700_000_500):
        audit.record(
            None,
            actor="kim@example.com",
            action="refund",
            order_id=None,
            charge_id="ch_1",
            detail="$5.00",
            engine=engine,
        )
        audit.record(None, actor="customer", action="cancel", order_id="SP-B", charge_id="ch_2", engine=engine)

    by_charge = audit.entries(charge_id="ch_1", engine=engine)
    assert [(e.at, e.actor, e.action, e.order_id, e.detail) for e in by_charge] == [
        (1_700_000_000, "staff", "ship", "SP-A", ""),
        (1_700_000_500, "kim@example.com", "refund", None, "$5.00"),
    ]
    assert [e.charge_id for e in audit.entries(order_id="SP-B", engine=engine)] == ["ch_2"]
    both = audit.entries(order_id="SP-B", charge_id="ch_1", engine=engine)
    assert [e.action for e in both] == ["ship", "refund", "cancel"]
    assert by_charge[0].label == "Marked shipped"


def test_an_entry_inside_a_transaction_that_fails_is_not_kept(engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        audit.record(conn, actor="staff", action="ship", order_id="SP-A", charge_id=None)
        raise RuntimeError("the action failed")
    assert audit.entries(order_id="SP-A", engine=engine) == []


@pytest.mark.parametrize(("actor", "action"), [("", "ship"), ("  ", "ship"), ("staff", "delete_everything")])
def test_an_entry_needs_an_actor_and_a_known_action(engine: sa.Engine, actor: str, action: str) -> None:
    with pytest.raises(ValueError):
        audit.record(None, actor=actor, action=action, order_id="SP-A", charge_id=None, engine=engine)
    assert audit.entries(engine=engine) == []


def test_shipping_records_who_shipped_and_a_refused_shipment_records_nothing(engine: sa.Engine) -> None:
    order = shipped_ready(engine)
    orders.mark_shipped(order.id, actor="kim@example.com", engine=engine)
    with pytest.raises(OrderStateError):
        orders.mark_shipped(order.id, actor="staff", engine=engine)
    logged = audit.entries(order_id=order.id, engine=engine)
    assert [(e.actor, e.action, e.charge_id) for e in logged] == [("kim@example.com", "ship", "ch_audit")]


def test_a_rejected_refund_request_records_the_decision_and_its_note(engine: sa.Engine) -> None:
    order = shipped_ready(engine)
    orders.mark_shipped(order.id, actor="staff", engine=engine)
    request = refund_requests.request_refund(order.id, ADA.email, "Changed my mind", engine=engine)
    refund_requests.decide_refund_request(request.id, False, note="Past the window", actor="staff", engine=engine)
    last = audit.entries(order_id=order.id, engine=engine)[-1]
    assert (last.action, last.actor, last.charge_id) == ("reject_request", "staff", "ch_audit")
    assert "Past the window" in last.detail


def test_a_refund_records_its_amount_reason_and_refund_once(client: stripe.StripeClient) -> None:
    order = paid_order(client)
    refund = fulfilment.refund_charge(
        order.charge_id, amount=500, reason="duplicate", idempotency_key="r-1", client=client, actor="staff"
    )
    logged = audit.entries(charge_id=order.charge_id)
    assert [(e.actor, e.action, e.order_id) for e in logged] == [("staff", "refund", order.id)]
    assert "$5.00" in logged[0].detail and "duplicate" in logged[0].detail and refund.id in logged[0].detail


def test_a_refused_refund_records_nothing(client: stripe.StripeClient) -> None:
    order = paid_order(client)
    with pytest.raises(fulfilment.RefundError):
        fulfilment.refund_charge(order.charge_id, amount=99_999, idempotency_key="r-2", client=client, actor="staff")
    assert audit.entries(charge_id=order.charge_id) == []


def test_cancelling_records_one_entry_with_the_refund_even_when_repeated(client: stripe.StripeClient) -> None:
    order = paid_order(client)
    fulfilment.cancel_order(order.id, client=client, actor="customer")
    fulfilment.cancel_order(order.id, client=client, actor="staff")
    logged = audit.entries(order_id=order.id)
    assert [(e.actor, e.action) for e in logged] == [("customer", "cancel")]
    assert "$23.00" in logged[0].detail


def test_approving_a_request_records_the_approval_with_its_refund(client: stripe.StripeClient) -> None:
    order = paid_order(client)
    orders.mark_shipped(order.id, actor="staff")
    request = refund_requests.request_refund(order.id, ADA.email, "Arrived damaged")
    decided = fulfilment.approve_refund_request(
        request.id, note="photo received", client=client, actor="lee@example.com"
    )
    approval = audit.entries(order_id=order.id)[-1]
    assert (approval.action, approval.actor, approval.charge_id) == (
        "approve_request",
        "lee@example.com",
        order.charge_id,
    )
    assert decided.refund_id in approval.detail and "$23.00" in approval.detail
    assert [e.action for e in audit.entries(order_id=order.id)] == ["ship", "approve_request"]


def test_a_capture_records_the_amount_captured(client: stripe.StripeClient) -> None:
    token = client.v1.tokens.create(
        params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    charge = client.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": token.id, "capture": False})
    fulfilment.capture_charge(charge.id, 2000, idempotency_key="cap-1", client=client, actor="staff")
    logged = audit.entries(charge_id=charge.id)
    assert [(e.actor, e.action, e.order_id, e.detail) for e in logged] == [("staff", "capture", None, "$20.00")]
