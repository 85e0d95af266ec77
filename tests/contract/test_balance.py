"""Balance transactions and the balance: Stripe's US card fee, refunds' transactions, expand, list filters."""

from __future__ import annotations

import pytest
import stripe

from tests.contract.calls import charge
from tests.contract.money import card_token, txn, wait_for

# (amount, fee) worked out by hand from stripe.com/pricing: 2.9% of the amount, rounded to the cent, plus 30¢.
US_FEES = [(2300, 67 + 30), (1000, 29 + 30), (50, 1 + 30), (1750, 51 + 30), (9999, 290 + 30), (123456, 3580 + 30)]


@pytest.mark.parametrize(("amount", "fee"), US_FEES)
def test_a_captured_charge_has_a_balance_transaction_with_stripes_us_card_fee(stripe_client, amount, fee):
    created = charge(stripe_client, amount=amount, expand=["balance_transaction"])
    moved = created.balance_transaction
    assert moved.id.startswith("txn_")
    assert (moved.object, moved.type, moved.reporting_category) == ("balance_transaction", "charge", "charge")
    assert (moved.amount, moved.fee, moved.net, moved.currency) == (amount, fee, amount - fee, "usd")
    assert [(d.type, d.amount, d.currency) for d in moved.fee_details] == [("stripe_fee", fee, "usd")]
    assert moved.source == created.id
    assert moved.status == "pending"
    assert moved.available_on > moved.created
    assert txn(stripe_client, moved.id).net == amount - fee


def test_funds_become_available_two_business_days_later_at_midnight_utc(stripe_client):
    moved = txn(stripe_client, charge(stripe_client).balance_transaction)
    assert moved.available_on % 86400 == 0
    assert 2 * 86400 <= moved.available_on - (moved.created - moved.created % 86400) <= 4 * 86400


def test_an_authorization_has_no_balance_transaction_until_it_is_captured_for_what_was_captured(stripe_client):
    authorized = charge(stripe_client, amount=5000, capture=False)
    assert authorized.balance_transaction is None
    captured = stripe_client.v1.charges.capture(
        authorized.id, params={"amount": 3000, "expand": ["balance_transaction"]}
    )
    assert (captured.balance_transaction.amount, captured.balance_transaction.fee) == (3000, 87 + 30)
    assert captured.balance_transaction.net == 3000 - 117


def test_a_declined_charge_has_no_balance_transaction(stripe_client):
    with pytest.raises(stripe.CardError) as info:
        charge(stripe_client, "tok_chargeDeclined")
    assert stripe_client.v1.charges.retrieve(info.value.error.charge).balance_transaction is None


def test_a_refund_gives_back_the_amount_but_not_the_fee(stripe_client):
    created = charge(stripe_client, amount=2300)
    refund = stripe_client.v1.refunds.create(params={"charge": created.id, "amount": 1000})
    back = stripe_client.v1.refunds.retrieve(refund.id, params={"expand": ["balance_transaction"]}).balance_transaction
    assert (back.type, back.reporting_category, back.source) == ("refund", "refund", refund.id)
    assert (back.amount, back.fee, back.net, back.fee_details) == (-1000, 0, -1000, [])
    assert txn(stripe_client, created.balance_transaction).fee == 97  # the charge's fee stays
    assert refund.balance_transaction != created.balance_transaction


def test_releasing_an_authorization_moves_no_money(stripe_client):
    authorized = charge(stripe_client, amount=4000, capture=False)
    refund = stripe_client.v1.refunds.create(params={"charge": authorized.id})
    assert refund.balance_transaction is None


def test_a_refund_that_fails_later_comes_back_to_the_balance(stripe_client, publishable_client):
    # docs.stripe.com/testing#refunds: 4000 0000 0000 5126 refunds fail asynchronously.
    created = charge(stripe_client, card_token(publishable_client, "4000000000005126"), amount=2300)
    refund = stripe_client.v1.refunds.create(params={"charge": created.id})
    failed = wait_for(
        lambda: stripe_client.v1.refunds.retrieve(refund.id), lambda r: r.status == "failed", "the refund failure"
    )
    reversal = txn(stripe_client, failed.failure_balance_transaction)
    assert (reversal.type, reversal.amount, reversal.fee, reversal.net) == ("refund_failure", 2300, 0, 2300)
    assert reversal.source == refund.id


def test_charges_retrieve_and_list_expand_their_balance_transactions(stripe_client):
    created = charge(stripe_client, amount=2000)
    again = stripe_client.v1.charges.retrieve(created.id, params={"expand": ["balance_transaction"]})
    assert again.balance_transaction.id == created.balance_transaction
    page = stripe_client.v1.charges.list(params={"limit": 3, "expand": ["data.balance_transaction"]})
    assert all(item.balance_transaction is None or item.balance_transaction.object == "balance_transaction"
               for item in page.data)  # fmt: skip
    assert page.data[0].balance_transaction.source == page.data[0].id
    refunds = stripe_client.v1.refunds.list(params={"limit": 1, "expand": ["data.balance_transaction"]})
    assert refunds.data[0].balance_transaction is None or refunds.data[0].balance_transaction.type == "refund"


def test_balance_transactions_list_by_type_source_and_created_newest_first(stripe_client):
    first = charge(stripe_client, amount=1100)
    second = charge(stripe_client, amount=1200)
    refund = stripe_client.v1.refunds.create(params={"charge": second.id, "amount": 200})
    by_source = stripe_client.v1.balance_transactions.list(params={"source": second.id})
    assert [item.id for item in by_source.data] == [second.balance_transaction]
    refunds = stripe_client.v1.balance_transactions.list(params={"type": "refund", "limit": 5})
    assert refunds.data[0].id == refund.balance_transaction
    assert all(item.type == "refund" for item in refunds.data)
    since = txn(stripe_client, first.balance_transaction).created
    recent = stripe_client.v1.balance_transactions.list(params={"created": {"gte": since}, "limit": 100})
    ids = [item.id for item in recent.data]
    assert ids.index(refund.balance_transaction) < ids.index(second.balance_transaction)
    assert ids.index(second.balance_transaction) < ids.index(first.balance_transaction)
    after = stripe_client.v1.balance_transactions.list(
        params={"starting_after": second.balance_transaction, "limit": 1, "created": {"gte": since}}
    )
    assert [item.id for item in after.data] == [first.balance_transaction]


def test_an_unknown_balance_transaction_is_a_404(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.balance_transactions.retrieve("txn_doesnotexist")
    assert info.value.http_status == 404


def test_the_balance_holds_new_charges_pending_and_refunds_out_of_it(stripe_client):
    def pending_usd() -> int:
        balance = stripe_client.v1.balance.retrieve()
        assert balance.object == "balance"
        return next(entry.amount for entry in balance.pending if entry.currency == "usd")

    def available_usd() -> int:
        return next(e.amount for e in stripe_client.v1.balance.retrieve().available if e.currency == "usd")

    before_pending, before_available = pending_usd(), available_usd()
    charge(stripe_client, amount=2300)
    assert pending_usd() - before_pending == 2300 - 97
    assert available_usd() == before_available
