"""Stripe's test cards and test tokens: brands, funding, declines with their codes, messages and outcomes."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe

from tests.contract.calls import charge, declined

NEXT_YEAR = str(dt.date.today().year + 1)

SUCCESS_TOKENS = [
    ("tok_visa", "visa", "4242", "credit"),
    ("tok_visa_debit", "visa", "5556", "debit"),
    ("tok_mastercard", "mastercard", "4444", "credit"),
    ("tok_mastercard_debit", "mastercard", "8210", "debit"),
    ("tok_mastercard_prepaid", "mastercard", "5100", "prepaid"),
    ("tok_amex", "amex", "0005", "credit"),
    ("tok_discover", "discover", "1117", "credit"),
    ("tok_diners", "diners", "0004", "credit"),
    ("tok_jcb", "jcb", "0505", "credit"),
    ("tok_unionpay", "unionpay", "0005", "credit"),
]


@pytest.mark.parametrize(("token", "brand", "last4", "funding"), SUCCESS_TOKENS)
def test_success_tokens_charge_with_their_card(stripe_client, token, brand, last4, funding):
    created = charge(stripe_client, token)
    card = created.payment_method_details.card
    assert (created.status, created.paid, created.captured) == ("succeeded", True, True)
    assert (card.brand, card.last4, card.funding) == (brand, last4, funding)
    assert created.payment_method.startswith("card_")
    assert created.source.id == created.payment_method
    assert created.outcome.type == "authorized"
    assert created.outcome.network_status == "approved_by_network"
    assert created.outcome.seller_message == "Payment complete."
    assert created.failure_code is None


DECLINES = [
    ("tok_chargeDeclined", "card_declined", "generic_decline", "Your card was declined.", "issuer_declined"),
    (
        "tok_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
        "issuer_declined",
    ),
    ("tok_chargeDeclinedLostCard", "card_declined", "lost_card", "Your card was declined.", "issuer_declined"),
    ("tok_chargeDeclinedStolenCard", "card_declined", "stolen_card", "Your card was declined.", "issuer_declined"),
    ("tok_chargeDeclinedExpiredCard", "expired_card", None, "Your card has expired.", "issuer_declined"),
    (
        "tok_chargeDeclinedIncorrectCvc",
        "incorrect_cvc",
        None,
        "Your card's security code is incorrect.",
        "issuer_declined",
    ),
    (
        "tok_chargeDeclinedProcessingError",
        "processing_error",
        None,
        "An error occurred while processing your card. Try again in a little bit.",
        "issuer_declined",
    ),
    ("tok_radarBlock", "card_declined", "fraudulent", "Your card was declined.", "blocked"),
]


@pytest.mark.parametrize(("token", "code", "decline_code", "message", "outcome_type"), DECLINES)
def test_declining_tokens_fail_with_stripes_codes_and_keep_the_charge(
    stripe_client, token, code, decline_code, message, outcome_type
):
    error = declined(stripe_client, token)
    assert error.http_status == 402
    assert error.code == code
    assert error.user_message == message
    assert error.error.to_dict().get("decline_code") == decline_code
    assert error.error.charge.startswith("ch_")

    failed = stripe_client.v1.charges.retrieve(error.error.charge)
    assert (failed.status, failed.paid, failed.captured) == ("failed", False, False)
    assert failed.amount_captured == 0
    assert failed.failure_code == code
    assert failed.failure_message == message
    assert failed.outcome.type == outcome_type
    listed = stripe_client.v1.charges.list(params={"limit": 5})
    assert failed.id in [item.id for item in listed.data]


def test_radar_block_is_not_sent_to_the_network(stripe_client):
    failed = stripe_client.v1.charges.retrieve(declined(stripe_client, "tok_radarBlock").error.charge)
    assert failed.outcome.network_status == "not_sent_to_network"
    assert failed.outcome.risk_level == "highest"


def test_issuer_decline_reason_is_the_decline_code(stripe_client):
    failed = stripe_client.v1.charges.retrieve(
        declined(stripe_client, "tok_chargeDeclinedInsufficientFunds").error.charge
    )
    assert failed.outcome.network_status == "declined_by_network"
    assert failed.outcome.reason == "insufficient_funds"
    assert "insufficient_funds" in failed.outcome.seller_message


CARD_NUMBERS = [
    ("4242424242424242", "Visa"),
    ("4000056655665556", "Visa"),
    ("5555555555554444", "MasterCard"),
    ("2223003122003222", "MasterCard"),
    ("5200828282828210", "MasterCard"),
    ("5105105105105100", "MasterCard"),
    ("378282246310005", "American Express"),
    ("371449635398431", "American Express"),
    ("6011111111111117", "Discover"),
    ("3056930009020004", "Diners Club"),
    ("3566002020360505", "JCB"),
    ("6200000000000005", "UnionPay"),
]


def _card(number: str, **overrides: str) -> dict[str, str]:
    cvc = "1234" if number.startswith(("34", "37")) else "123"
    return {"number": number, "exp_month": "12", "exp_year": NEXT_YEAR, "cvc": cvc, **overrides}


@pytest.mark.parametrize(("number", "brand"), CARD_NUMBERS)
def test_tokens_from_card_numbers_know_the_brand(publishable_client, number, brand):
    token = publishable_client.v1.tokens.create(params={"card": _card(number)})
    assert token.id.startswith("tok_")
    assert (token.type, token.used, token.livemode) == ("card", False, False)
    assert (token.card.brand, token.card.last4) == (brand, number[-4:])
    assert (token.card.exp_month, token.card.exp_year) == (12, int(NEXT_YEAR))


@pytest.mark.parametrize(
    ("card", "code", "param"),
    [
        (_card("4242424242424241"), "incorrect_number", "number"),
        (_card("42424242"), "invalid_number", "number"),
        (_card("4242424242424242", exp_month="13"), "invalid_expiry_month", "exp_month"),
        (_card("4242424242424242", exp_year="2001"), "invalid_expiry_year", "exp_year"),
        (_card("4242424242424242", cvc="12"), "invalid_cvc", "cvc"),
    ],
)
def test_bad_card_details_are_refused_at_tokenization(publishable_client, card, code, param):
    with pytest.raises(stripe.CardError) as info:
        publishable_client.v1.tokens.create(params={"card": card})
    assert info.value.code == code
    assert info.value.param == param


def test_a_token_is_single_use(stripe_client, publishable_client):
    token = publishable_client.v1.tokens.create(params={"card": _card("4242424242424242")})
    first = charge(stripe_client, token.id)
    assert first.payment_method_details.card.last4 == "4242"
    with pytest.raises(stripe.InvalidRequestError) as info:
        charge(stripe_client, token.id)
    assert info.value.http_status == 400
    assert token.id in info.value.user_message


def test_a_declining_card_number_tokenizes_then_fails_at_charge_time(stripe_client, publishable_client):
    token = publishable_client.v1.tokens.create(params={"card": _card("4000000000009995")})
    error = declined(stripe_client, token.id)
    assert error.error.decline_code == "insufficient_funds"


def test_test_tokens_are_reusable(stripe_client):
    first, second = charge(stripe_client, "tok_visa"), charge(stripe_client, "tok_visa")
    assert first.id != second.id
    assert first.payment_method != second.payment_method


def test_cvc_check_fails_for_the_cvc_check_card(stripe_client, publishable_client):
    token = publishable_client.v1.tokens.create(params={"card": _card("4000000000000101")})
    error = declined(stripe_client, token.id)
    assert error.code == "incorrect_cvc"
    failed = stripe_client.v1.charges.retrieve(error.error.charge)
    assert failed.payment_method_details.card.checks.cvc_check == "fail"


def test_checks_pass_for_a_good_card_with_cvc_and_postal_code(stripe_client, publishable_client):
    token = publishable_client.v1.tokens.create(params={"card": _card("4242424242424242", address_zip="94107")})
    checks = charge(stripe_client, token.id).payment_method_details.card.checks
    assert checks.cvc_check == "pass"
    assert checks.address_postal_code_check == "pass"


def test_unknown_token_is_a_missing_resource(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        charge(stripe_client, "tok_doesNotExist123")
    assert info.value.code == "resource_missing"
    assert info.value.param == "source"
