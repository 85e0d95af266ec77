"""A bank debit reads as one wherever finance looks: the stored charge, the tables, the Failures page's codes and
the Charges page's "Processing" (charges made on an emulator of this module, as the Payment Element makes them)."""

from __future__ import annotations

import pandas as pd
import pytest
import stripe

from shop import analytics, payment_methods, sync_rows
from tests.contract.test_us_bank_account import INSUFFICIENT_FUNDS, SUCCEEDS, debit
from tests.support import Emulator
from tests.support_data import charge_object, ts


@pytest.fixture
def client(private_emulator: Emulator) -> stripe.StripeClient:
    return private_emulator.client()


def frame_of(*charges: stripe.Charge) -> pd.DataFrame:
    return analytics.prepare_charges(pd.DataFrame([sync_rows.charge_row(charge) for charge in charges]))


def card_charge(client: stripe.StripeClient, token: str) -> stripe.Charge:
    try:
        return client.v1.charges.create(params={"amount": 1800, "currency": "usd", "source": token})
    except stripe.CardError as declined:
        return client.v1.charges.retrieve(declined.error.charge)


def test_a_bank_debit_is_stored_and_listed_as_a_us_bank_account_and_is_processing(client):
    intent = debit(client, SUCCEEDS)
    bank = client.v1.charges.retrieve(intent.latest_charge)
    card = card_charge(client, "tok_visa")
    assert (sync_rows.charge_row(bank)["card_brand"], sync_rows.charge_row(bank)["card_last4"]) == (
        "us_bank_account",
        "6789",
    )
    frame = frame_of(bank, card)
    table = analytics.charges_table(frame)
    assert list(table["Payment method"]) == ["US bank account •••• 6789", "visa •••• 4242"]
    assert list(table["Status"]) == [analytics.PENDING, analytics.SUCCEEDED]
    assert analytics.processing(frame) == (1, 2300)  # not settled: apart from gross
    assert analytics.totals(frame).gross == 1800


def test_a_returned_bank_debit_is_counted_apart_from_a_card_declined_for_the_same_code(client, private_emulator):
    intent = debit(client, INSUFFICIENT_FUNDS)
    private_emulator.freeze_clock(private_emulator.now() + 3600)  # past the debit's settlement delay
    try:
        bank = client.v1.charges.retrieve(intent.latest_charge)
    finally:
        private_emulator.unfreeze_clock()
    assert (bank.status, bank.failure_code) == ("failed", "insufficient_funds")
    card = card_charge(client, "tok_chargeDeclinedInsufficientFunds")
    codes = analytics.failures_by_code(frame_of(bank, card)).set_index("code")
    assert set(codes.index) == {"insufficient_funds", "insufficient_funds (bank debit)"}
    assert "bank returned the debit" in codes.loc["insufficient_funds (bank debit)", "explanation"]
    assert "card does not have enough" in codes.loc["insufficient_funds", "explanation"]
    failed = analytics.failed_attempts_table(frame_of(bank, card))
    assert list(failed["Payment method"]) == ["US bank account •••• 2227", "visa •••• 9995"]


@pytest.mark.parametrize(
    ("brand", "last4", "label", "words"),
    [
        ("visa", "4242", "visa •••• 4242", "Visa card ending in 4242"),
        ("us_bank_account", "6789", "US bank account •••• 6789", "US bank account ending in 6789"),
        ("klarna", None, "Klarna", "Klarna"),
        (None, None, "", None),
    ],
)
def test_a_method_reads_the_same_on_tables_and_in_sentences(brand, last4, label, words):
    assert payment_methods.label(brand, last4) == label
    assert payment_methods.in_words(brand, last4) == words


def test_a_returned_debit_without_a_code_is_still_counted_as_a_bank_debit():
    bank = {"type": "us_bank_account", "us_bank_account": {"last4": "6789"}}
    charge = charge_object("ch_nocode", ts(16), 2300, status="failed") | {"payment_method_details": bank}
    codes = analytics.failures_by_code(analytics.prepare_charges(pd.DataFrame([sync_rows.charge_row(charge)])))
    assert list(codes["code"]) == ["unknown (bank debit)"]
    assert "bank returned the debit" in codes["explanation"].iloc[0]


def test_the_method_mix_counts_payments_and_the_debits_outcome_leaves_the_undecided_apart(client, private_emulator):
    settled, returned = debit(client, SUCCEEDS), debit(client, INSUFFICIENT_FUNDS)
    private_emulator.freeze_clock(private_emulator.now() + 3600)  # past the debits' settlement delay
    try:
        decided = [client.v1.charges.retrieve(intent.latest_charge) for intent in (settled, returned)]
    finally:
        private_emulator.unfreeze_clock()
    processing = client.v1.charges.retrieve(debit(client, SUCCEEDS).latest_charge)
    cards = [card_charge(client, token) for token in ("tok_visa", "tok_amex", "tok_chargeDeclined")]
    frame = frame_of(*decided, processing, *cards)

    mix = analytics.payment_method_mix(frame).set_index("method")
    assert mix["payments"].to_dict() == {"Card": 2, "US bank account": 1}  # the failed and processing ones are not
    assert mix["amount"].to_dict() == {"Card": 3600, "US bank account": 2300}
    assert mix["share_of_payments"].sum() == pytest.approx(1) and mix.index[0] == "Card"  # most paid first

    outcomes = analytics.bank_debit_outcomes(frame)
    assert (outcomes.settled, outcomes.returned, outcomes.processing) == (1, 1, 1)
    assert (outcomes.returned_share, outcomes.returned_amount) == (0.5, 2300)
    assert analytics.bank_debit_outcomes(frame_of(*cards)).returned_share is None  # no debit: no share
    assert analytics.payment_method_mix(frame_of(cards[2])).empty
