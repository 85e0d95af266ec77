"""Disputes in the shop against the emulator: stored by the sync and by webhooks, answered, accepted, counted."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe

from shop import audit, catalog, disputes, orders, sync, webhooks
from shop.analytics import disputes as dispute_numbers
from shop.analytics import load_charges
from shop.checkout import charges
from shop.db import get_engine
from tests.contract.money import card_token
from tests.support import use_emulator
from tests.support_data import CUSTOMER, charge_object, store_charges

HAMMING = "art-of-doing-science"  # $23.00
FRAUDULENT, INQUIRY = "4000000000000259", "4000000000001976"
DISPUTE_FEE = 1500


@pytest.fixture
def client(private_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stripe.StripeClient:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    return private_emulator.client()


def disputed_order(client: stripe.StripeClient, number: str = FRAUDULENT) -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    token = card_token(client_for_tokens(client), number)
    result = charges.pay_order(order.id, token, uuid.uuid4().hex, client=client)
    assert result.succeeded, result.message
    return orders.get_order(order.id)


def client_for_tokens(client: stripe.StripeClient) -> stripe.StripeClient:
    base = client._requestor.base_addresses["api"]
    return stripe.StripeClient("pk_test_emulator", base_addresses={"api": base}, max_network_retries=0)


def until(read, done, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {value!r}"
        time.sleep(0.1)


def synced_dispute(client: stripe.StripeClient, order: orders.Order) -> disputes.Dispute:
    sync.sync(client)
    [found] = disputes.list_disputes(charge_id=order.charge_id)
    return found


def test_the_sync_stores_a_new_dispute_with_its_deadline_and_withdrawal(client: stripe.StripeClient) -> None:
    order = disputed_order(client)
    dispute = synced_dispute(client, order)
    assert (dispute.reason, dispute.status, dispute.amount) == ("fraudulent", "needs_response", order.amount)
    assert dispute.is_open and dispute.due_by and dispute.due_by > time.time() + 6 * 86400
    assert (dispute.net_amount, dispute.fees, dispute.net_effect) == (-2300, DISPUTE_FEE, -3800)
    assert [d.id for d in disputes.list_disputes(statuses=disputes.OPEN_STATUSES)] == [dispute.id]


def test_a_backfill_lists_disputes_too(client: stripe.StripeClient) -> None:
    order = disputed_order(client)
    sync.sync(client, full=True)
    assert [d.charge_id for d in disputes.list_disputes()] == [order.charge_id]


def test_webhook_events_store_the_dispute(client: stripe.StripeClient) -> None:
    order = disputed_order(client)
    events = client.v1.events.list(params={"type": "charge.dispute.created"}).data
    assert webhooks.apply_event(events[0].to_dict(), client=client)[0] == 200
    [dispute] = disputes.list_disputes()
    assert dispute.charge_id == order.charge_id and dispute.is_open


def test_winning_evidence_wins_and_restores_net(client: stripe.StripeClient) -> None:
    order = orders.mark_shipped(disputed_order(client).id)
    dispute = synced_dispute(client, order)
    evidence = disputes.evidence_for(order, dispute)
    assert evidence["customer_name"] == CUSTOMER.name
    assert evidence["customer_email_address"] == CUSTOMER.email
    assert CUSTOMER.line1 in evidence["shipping_address"] and CUSTOMER.postal_code in evidence["shipping_address"]
    assert evidence["shipping_date"] == datetime.fromtimestamp(order.shipped_at, UTC).strftime("%Y-%m-%d")
    assert order.id in evidence["product_description"]

    winning = {**evidence, "uncategorized_text": "winning_evidence"}
    answered = disputes.submit_evidence(dispute.id, winning, actor="staff", client=client)
    assert answered.status == "under_review"
    assert answered.evidence["uncategorized_text"] == "winning_evidence"
    responses = [e for e in audit.entries(order_id=order.id) if e.action == "dispute_response"]
    assert [(e.actor, e.detail.split(": ")[1]) for e in responses] == [("staff", "submitted evidence")]

    def status() -> str:
        sync.sync(client)
        return disputes.get_dispute(dispute.id).status

    until(status, lambda value: value == "won", "the bank's decision")
    won = disputes.get_dispute(dispute.id)
    assert (won.net_amount, won.fees, won.net_effect) == (0, 0, 0)
    with pytest.raises(disputes.DisputeError, match="takes no more evidence"):
        disputes.submit_evidence(dispute.id, {"uncategorized_text": "more"}, client=client)


def test_accepting_a_dispute_closes_it_lost(client: stripe.StripeClient) -> None:
    dispute = synced_dispute(client, disputed_order(client))
    accepted = disputes.accept(dispute.id, actor="ann@example.com", client=client)
    assert accepted.status == "lost" and accepted.is_closed
    [entry] = audit.entries(charge_id=dispute.charge_id)
    assert (entry.actor, entry.action) == ("ann@example.com", "dispute_response")
    assert entry.order_id == orders.list_orders()[0].id and dispute.id in entry.detail
    with pytest.raises(disputes.DisputeError, match="can no longer be accepted"):
        disputes.accept(dispute.id, client=client)


def test_refusals_and_outages_are_sentences(client: stripe.StripeClient) -> None:
    with pytest.raises(disputes.DisputeError, match="Write some evidence"):
        disputes.submit_evidence("dp_x", {"uncategorized_text": "  "}, client=client)
    with pytest.raises(disputes.DisputeError, match="Unknown evidence"):
        disputes.submit_evidence("dp_x", {"receipt": "file_1"}, client=client)
    with pytest.raises(disputes.DisputeError, match="Stripe refused to submit the evidence"):
        disputes.submit_evidence("dp_missing", {"uncategorized_text": "hello"}, client=client)
    unreachable = stripe.StripeClient("sk_test_emulator", base_addresses={"api": "http://127.0.0.1:9"})
    with pytest.raises(disputes.DisputeError, match="could not reach Stripe"):
        disputes.accept("dp_missing", client=unreachable)


def test_time_left_counts_down_and_says_overdue() -> None:
    now = 1_000_000
    assert disputes.time_left(now + 3 * 86400 + 4 * 3600, now) == ("3 days 4 h left", False)
    assert disputes.time_left(now + 5 * 3600 + 60 * 7, now) == ("5 h 7 min left", False)
    assert disputes.time_left(now - 2 * 3600, now) == ("overdue by 2 h 0 min", True)
    assert disputes.time_left(None, now) == ("–", False)


def test_dispute_rate_and_effect_on_net(client: stripe.StripeClient) -> None:
    disputed_order(client)
    disputed_order(client, INQUIRY)
    for _ in range(2):
        order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
        assert charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, client=client).succeeded
    sync.sync(client, full=True)
    frame = dispute_numbers.load_disputes()
    rate = dispute_numbers.dispute_rate(load_charges(), frame)
    assert (rate.disputes, rate.charges, rate.rate) == (2, 4, 0.5)
    effect = dispute_numbers.dispute_effect(frame)
    # The chargeback withdrew $23.00 and the $15.00 fee; the inquiry withdrew nothing.
    assert (effect.open_count, effect.amount, effect.fees, effect.net) == (2, -2300, DISPUTE_FEE, -3800)

    # Counted in the store instead of a frame: the same rate, all time and for a period; a successful charge of
    # two years ago counts all time only.
    old = charge_object("ch_two_years_ago", int(time.time()) - 730 * 86400, 2300, email="old@example.com")
    store_charges(get_engine(), [old])
    assert dispute_numbers.stored_dispute_rate(frame) == dispute_numbers.DisputeRate(disputes=2, charges=5)
    day = (datetime.fromtimestamp(time.time() - 86400, UTC), datetime.fromtimestamp(time.time() + 86400, UTC))
    assert dispute_numbers.stored_dispute_rate(frame, *day) == dispute_numbers.dispute_rate(load_charges(), frame, *day)
    assert dispute_numbers.stored_dispute_rate(frame, *day).charges == 4
    # Only the disputed charges, with their orders, for the Disputes page.
    disputed = dispute_numbers.disputed_charges()
    assert set(disputed["id"]) == set(frame["charge_id"]) and len(disputed) == 2
    assert disputed["order_id"].str.startswith("SP-").all()


def test_an_overdue_deadline_is_drawn_in_red_and_a_near_one_is_not() -> None:
    import pandas as pd

    from ui import disputes as dispute_view

    def stored(dispute_id: str, due_by: int) -> disputes.Dispute:
        return disputes.Dispute(
            id=dispute_id,
            charge_id="ch_1",
            payment_intent_id=None,
            created=due_by - 8 * 86400,
            amount=2300,
            currency="usd",
            reason="fraudulent",
            status="needs_response",
            due_by=due_by,
            net_amount=-2300,
            fees=DISPUTE_FEE,
            evidence={},
        )

    now = int(time.time())
    charges = pd.DataFrame({"id": ["ch_1"], "order_id": ["SP-ABCDEFGH"]})
    frame = dispute_view.disputes_frame([stored("dp_late", now - 3600), stored("dp_soon", now + 3600)], charges)
    assert list(frame["Order"]) == ["SP-ABCDEFGH", "SP-ABCDEFGH"]
    assert frame["Time left"][0].startswith("overdue by") and frame["Time left"][1].endswith("left")
    assert list(frame["Effect on net"]) == [-38.0, -38.0]
    styles = dispute_view._red_when_overdue(frame["Time left"])
    assert styles[0] == dispute_view.OVERDUE_STYLE and styles[1] == ""


def test_customer_typed_test_mode_evidence_values_never_pre_fill_the_evidence(client: stripe.StripeClient) -> None:
    typed = dataclasses.replace(
        CUSTOMER, name="Ada winning_evidence", email="losing_evidence@example.com", line1="1 LOSING_EVIDENCE Way"
    )
    order = orders.create_order(typed, catalog.priced_line(HAMMING, 1))

    evidence = disputes.evidence_for(order)

    for name, value in evidence.items():
        assert "winning_evidence" not in value.lower() and "losing_evidence" not in value.lower(), name
    assert evidence["customer_name"] == evidence["customer_email_address"] == evidence["shipping_address"] == ""
    assert order.id in evidence["product_description"]  # the shop's own words are still filled in
    plain = disputes.evidence_for(orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1)))
    assert (plain["customer_name"], plain["customer_email_address"]) == (CUSTOMER.name, CUSTOMER.email)
