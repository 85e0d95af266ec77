"""ACH Direct Debit on a PaymentIntent: `processing`, then succeeded or failed later, with its fee.

docs.stripe.com/payments/ach-direct-debit/accept-a-payment ("Test your integration": routing number 110000000;
account 000123456789 succeeds, 000222222227 fails with insufficient_funds, 000111111113 with account_closed),
docs.stripe.com/payments/paymentintents/lifecycle (`processing`), stripe.com/pricing#local-payment-methods
(ACH Direct Debit: 0.8%, $5.00 cap). Against the emulator the debit settles when its clock has moved past the
settlement delay; against real Stripe the tests wait for its events.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe

from tests.contract.calls import events_for

ROUTING = "110000000"
SUCCEEDS, INSUFFICIENT_FUNDS, ACCOUNT_CLOSED = "000123456789", "000222222227", "000111111113"
MANDATE = {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1", "user_agent": "contract"}}}


@pytest.fixture(scope="module")
def stripe_client(
    stripe_client: stripe.StripeClient, real_stripe: bool, request: pytest.FixtureRequest
) -> stripe.StripeClient:
    """The suite's client, but on the emulator one of this module only: `settle` moves its clock forward, and the
    events it dates ahead would otherwise stay newest on the shared emulator past everything made after them."""
    if real_stripe:
        return stripe_client
    return request.getfixturevalue("private_emulator").client()


@pytest.fixture
def settle(real_stripe: bool, request: pytest.FixtureRequest) -> Callable[[], None]:
    """Let pending debits settle: on the emulator, move its clock an hour on for one request."""

    def run() -> None:
        if real_stripe:
            return  # Stripe settles test debits itself; events_for waits for them
        emulator = request.getfixturevalue("private_emulator")
        emulator.freeze_clock(emulator.now() + 3600)
        try:
            emulator.client().v1.balance.retrieve()
        finally:
            emulator.unfreeze_clock()

    return run


def debit(client: stripe.StripeClient, account: str, amount: int = 2300, **params) -> stripe.PaymentIntent:
    """A PaymentIntent confirmed with a new US bank account (as the Payment Element sends it)."""
    intent = client.v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "payment_method_types": ["us_bank_account"], **params}
    )
    return client.v1.payment_intents.confirm(
        intent.id,
        params={
            "payment_method_data": {
                "type": "us_bank_account",
                "us_bank_account": {
                    "routing_number": ROUTING,
                    "account_number": account,
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Ada Lovelace", "email": "ada@example.com"},
            },
            "mandate_data": MANDATE,
        },
    )


def test_a_confirmed_debit_is_processing_with_a_pending_charge(stripe_client):
    intent = debit(stripe_client, SUCCEEDS, metadata={"order_id": "ach-1"})
    assert (intent.status, intent.amount_received) == ("processing", 0)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.amount, charge.payment_intent) == ("pending", 2300, intent.id)
    details = charge.payment_method_details
    assert details.type == "us_bank_account"
    bank = details.us_bank_account
    assert (bank.last4, bank.routing_number, bank.account_holder_type) == ("6789", ROUTING, "individual")
    assert bank.bank_name == "STRIPE TEST BANK"
    method = stripe_client.v1.payment_methods.retrieve(intent.payment_method)
    assert (method.type, method.us_bank_account.last4) == ("us_bank_account", "6789")
    assert method.billing_details.name == "Ada Lovelace"
    [processing] = events_for(stripe_client, intent.id, type="payment_intent.processing")
    assert processing.data.object.status == "processing"
    [pending] = events_for(stripe_client, charge.id, type="charge.pending")
    assert pending.data.object.status == "pending"


@pytest.mark.parametrize(("amount", "fee"), [(2300, 18), (62500, 500), (100000, 500)])
def test_a_debit_that_settles_succeeds_with_the_ach_fee(stripe_client, settle, amount, fee):
    intent = debit(stripe_client, SUCCEEDS, amount=amount)
    settle()
    [succeeded] = events_for(stripe_client, intent.id, type="payment_intent.succeeded", timeout=120)
    assert (succeeded.data.object.status, succeeded.data.object.amount_received) == ("succeeded", amount)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge, params={"expand": ["balance_transaction"]})
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    # 0.8% of the amount, at most $5.00.
    txn = charge.balance_transaction
    assert (txn.amount, txn.fee, txn.net) == (amount, fee, amount - fee)
    [charge_succeeded] = events_for(stripe_client, charge.id, type="charge.succeeded")
    # The bank answered, not a request of the account's (docs.stripe.com/api/events/object#event_object-request).
    assert succeeded.request.id is None and charge_succeeded.request.id is None


@pytest.mark.parametrize(
    ("account", "code"), [(INSUFFICIENT_FUNDS, "insufficient_funds"), (ACCOUNT_CLOSED, "account_closed")]
)
def test_a_debit_that_fails_leaves_the_intent_for_another_payment_method(stripe_client, settle, account, code):
    intent = debit(stripe_client, account)
    assert intent.status == "processing"
    settle()
    [failed] = events_for(stripe_client, intent.id, type="payment_intent.payment_failed", timeout=120)
    after = failed.data.object
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == code
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.failure_code, charge.balance_transaction) == ("failed", code, None)
    assert events_for(stripe_client, charge.id, type="charge.failed")


def test_a_processing_debit_cannot_be_confirmed_again(stripe_client):
    intent = debit(stripe_client, SUCCEEDS)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert info.value.code == "payment_intent_unexpected_state"


def test_a_bank_account_is_refused_where_the_intent_does_not_allow_it(stripe_client):
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 2300, "currency": "usd", "payment_method_types": ["card"]}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.confirm(
            intent.id,
            params={
                "payment_method_data": {
                    "type": "us_bank_account",
                    "us_bank_account": {"routing_number": ROUTING, "account_number": SUCCEEDS},
                    "billing_details": {"name": "Ada Lovelace"},
                },
                "mandate_data": MANDATE,
            },
        )
    assert "us_bank_account" in info.value.user_message


def test_a_bank_account_needs_the_holders_name(stripe_client):
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 2300, "currency": "usd", "payment_method_types": ["us_bank_account"]}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.confirm(
            intent.id,
            params={
                "payment_method_data": {
                    "type": "us_bank_account",
                    "us_bank_account": {"routing_number": ROUTING, "account_number": SUCCEEDS},
                },
                "mandate_data": MANDATE,
            },
        )
    assert info.value.param == "payment_method_data[billing_details][name]"


def test_a_processing_debit_cannot_be_canceled(stripe_client):
    intent = debit(stripe_client, SUCCEEDS)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.cancel(intent.id)
    assert info.value.code == "payment_intent_unexpected_state"
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "processing"
