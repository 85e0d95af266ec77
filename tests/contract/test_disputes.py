"""Disputes: Stripe's dispute test cards, the funds they withdraw, evidence that wins or loses, closing, lists."""

from __future__ import annotations

import pytest
import stripe

from tests.contract.calls import charge, events_for
from tests.contract.money import card_token, txn, wait_for

FRAUDULENT, NOT_RECEIVED, INQUIRY = "4000000000000259", "4000000000002685", "4000000000001976"
DISPUTE_FEE = 1500  # $15.00, stripe.com/pricing


def disputed(client, publishable_client, number: str, amount: int = 2300):
    """Charge a dispute test card and return (charge, dispute) once the dispute has opened."""
    created = charge(client, card_token(publishable_client, number), amount=amount)
    found = wait_for(
        lambda: client.v1.disputes.list(params={"charge": created.id}).data, bool, "the dispute", timeout=120
    )
    return created, found[0]


@pytest.mark.parametrize(("number", "reason"), [(FRAUDULENT, "fraudulent"), (NOT_RECEIVED, "product_not_received")])
def test_a_dispute_card_is_charged_then_disputed_with_the_amount_and_fee_withdrawn(
    stripe_client, publishable_client, number, reason
):
    created, dispute = disputed(stripe_client, publishable_client, number, amount=2300)
    assert created.status == "succeeded"
    assert dispute.id.startswith("dp_")
    assert (dispute.object, dispute.status, dispute.reason) == ("dispute", "needs_response", reason)
    assert (dispute.amount, dispute.currency, dispute.charge) == (2300, "usd", created.id)
    assert dispute.evidence_details.due_by > dispute.created
    assert dispute.evidence_details.submission_count == 0
    assert dispute.evidence.uncategorized_text is None
    [withdrawn] = dispute.balance_transactions
    assert (withdrawn.type, withdrawn.reporting_category) == ("adjustment", "dispute")
    assert (withdrawn.amount, withdrawn.fee, withdrawn.net) == (-2300, DISPUTE_FEE, -2300 - DISPUTE_FEE)
    assert txn(stripe_client, withdrawn.id).source == dispute.id
    assert stripe_client.v1.charges.retrieve(created.id).disputed is True
    assert stripe_client.v1.disputes.retrieve(dispute.id).id == dispute.id
    [opened] = events_for(stripe_client, dispute.id, type="charge.dispute.created")
    assert opened.data.object.status == "needs_response"
    assert events_for(stripe_client, dispute.id, type="charge.dispute.funds_withdrawn")


def test_an_inquiry_withdraws_nothing_and_waits_for_a_response(stripe_client, publishable_client):
    created, dispute = disputed(stripe_client, publishable_client, INQUIRY)
    assert dispute.status == "warning_needs_response"
    assert dispute.balance_transactions == []
    assert stripe_client.v1.charges.retrieve(created.id).disputed is True


def test_winning_evidence_wins_and_reinstates_the_amount_and_fee(stripe_client, publishable_client):
    created, dispute = disputed(stripe_client, publishable_client, FRAUDULENT, amount=4000)
    submitted = stripe_client.v1.disputes.update(
        dispute.id,
        params={"evidence": {"uncategorized_text": "winning_evidence", "customer_name": "Ada"}, "metadata": {"o": "1"}},
    )
    assert submitted.status in ("under_review", "won")
    assert submitted.evidence.customer_name == "Ada"
    assert submitted.evidence_details.submission_count == 1
    won = wait_for(lambda: stripe_client.v1.disputes.retrieve(dispute.id), lambda d: d.status == "won", "the win")
    withdrawn, reinstated = won.balance_transactions
    assert (reinstated.amount, reinstated.fee, reinstated.net) == (4000, -DISPUTE_FEE, 4000 + DISPUTE_FEE)
    assert reinstated.reporting_category == "dispute_reversal"
    assert withdrawn.net + reinstated.net == 0
    assert stripe_client.v1.charges.retrieve(created.id).disputed is True  # Stripe keeps the flag after a win
    assert events_for(stripe_client, dispute.id, type="charge.dispute.funds_reinstated")
    [closed] = events_for(stripe_client, dispute.id, type="charge.dispute.closed")
    assert closed.data.object.status == "won"
    assert events_for(stripe_client, dispute.id, type="charge.dispute.updated")


def test_losing_evidence_loses_and_keeps_the_funds_withdrawn(stripe_client, publishable_client):
    _, dispute = disputed(stripe_client, publishable_client, NOT_RECEIVED)
    stripe_client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "losing_evidence"}})
    lost = wait_for(lambda: stripe_client.v1.disputes.retrieve(dispute.id), lambda d: d.status == "lost", "the loss")
    assert len(lost.balance_transactions) == 1
    [closed] = events_for(stripe_client, dispute.id, type="charge.dispute.closed")
    assert closed.data.object.status == "lost"


def test_evidence_can_be_staged_without_submitting(stripe_client, publishable_client):
    _, dispute = disputed(stripe_client, publishable_client, FRAUDULENT)
    staged = stripe_client.v1.disputes.update(
        dispute.id, params={"evidence": {"product_description": "A book"}, "submit": False}
    )
    assert staged.status == "needs_response"
    assert staged.evidence.product_description == "A book"
    assert staged.evidence_details.has_evidence is True
    assert staged.evidence_details.submission_count == 0


def test_closing_accepts_the_dispute_as_lost(stripe_client, publishable_client):
    _, dispute = disputed(stripe_client, publishable_client, FRAUDULENT)
    closed = stripe_client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}})
    [event] = events_for(stripe_client, dispute.id, type="charge.dispute.closed")
    assert event.data.object.status == "lost"


def test_a_charged_back_charge_cannot_be_refunded(stripe_client, publishable_client):
    created, _ = disputed(stripe_client, publishable_client, FRAUDULENT)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(params={"charge": created.id})
    assert info.value.code == "charge_disputed"


def test_disputes_list_by_charge_and_payment_intent_newest_first(stripe_client, publishable_client):
    first, one = disputed(stripe_client, publishable_client, FRAUDULENT)
    _, two = disputed(stripe_client, publishable_client, NOT_RECEIVED)
    recent = stripe_client.v1.disputes.list(params={"created": {"gte": one.created}, "limit": 100})
    ids = [item.id for item in recent.data]
    assert ids.index(two.id) < ids.index(one.id)
    assert [d.id for d in stripe_client.v1.disputes.list(params={"charge": first.id}).data] == [one.id]
    assert stripe_client.v1.disputes.list(params={"payment_intent": "pi_none"}).data == []


def test_a_payment_intent_on_a_dispute_card_is_disputed_too(stripe_client):
    intent = stripe_client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_createDispute",
            "payment_method_types": ["card"],
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    found = wait_for(
        lambda: stripe_client.v1.disputes.list(params={"payment_intent": intent.id}).data, bool, "the dispute"
    )
    assert (found[0].charge, found[0].payment_intent) == (intent.latest_charge, intent.id)


def test_an_unknown_dispute_is_a_404(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.disputes.retrieve("dp_doesnotexist")
    assert info.value.http_status == 404
