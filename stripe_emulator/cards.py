"""Card facts: the card-number rules (shared with the Card Element's iframe), Luhn and expiry checks, Stripe's
test cards and test tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from stripe_emulator.errors import StripeError

# ---------------------------------------------------------------- card number rules
# The one source of the rules a card number must follow: the API's validation below and the Card Element's
# iframe (which gets `rules_json()` embedded in its HTML, see stripejs.py) both read these tables, so a number
# the iframe calls complete is one the API accepts, and the other way round.
#
# The network of a number, and how long it must be, go by its leading digits (its BIN), as in Stripe's own card
# forms: a table of BIN ranges, each with one card-number length, where the most specific (longest) prefix wins
# and digits that could still start two networks' numbers have no brand yet. Stripe's SDKs ship such a table for
# when their BIN service cannot be reached: Visa, Mastercard, Discover, JCB and UnionPay 16 digits, Amex 15,
# Diners Club 14 for prefix 36 and 16 for its other prefixes
# (https://github.com/stripe/stripe-ios/blob/master/StripePayments/StripePayments/Source/Helpers/STPBINController.swift,
# https://github.com/stripe/stripe-android/blob/master/payments-core/src/main/java/com/stripe/android/model/CardBrand.kt).
# Stripe's test cards agree (https://docs.stripe.com/testing#cards): every Visa card has 16 digits, Diners Club
# has a 16-digit 3056 9300 0902 0004 and a "14-digit card" 3622 720627 1667. This emulator has no BIN service,
# so the range of the documented 19-digit UnionPay test card 6205 5000 0000 0000 004 is listed here.
# Numbers of every network must pass the Luhn check, UnionPay's too: Stripe's validators check it whatever the
# brand (STPCardValidator in stripe-ios), and every UnionPay test card on https://docs.stripe.com/testing passes.


@dataclass(frozen=True)
class BinRange:
    """Card numbers whose first digits lie between `low` and `high` (as many digits each) have `length` digits."""

    low: str
    high: str
    brand: str
    length: int


# Prefixes are the networks' published issuer ranges: Mastercard 51-55 and 2221-2720, Discover 6011, 644-649
# and 65, Diners Club 300-305, 309, 36 and 38-39, JCB 3528-3589, UnionPay 62 and 81.
BIN_RANGES: tuple[BinRange, ...] = (
    BinRange("4", "4", "visa", 16),
    BinRange("51", "55", "mastercard", 16),
    BinRange("2221", "2720", "mastercard", 16),
    BinRange("34", "34", "amex", 15),
    BinRange("37", "37", "amex", 15),
    BinRange("6011", "6011", "discover", 16),
    BinRange("644", "649", "discover", 16),
    BinRange("65", "65", "discover", 16),
    BinRange("300", "305", "diners", 16),
    BinRange("309", "309", "diners", 16),
    BinRange("36", "36", "diners", 14),
    BinRange("38", "39", "diners", 16),
    BinRange("3528", "3589", "jcb", 16),
    BinRange("62", "62", "unionpay", 16),
    BinRange("81", "81", "unionpay", 16),
    BinRange("620550", "620550", "unionpay", 19),
    BinRange("621598", "621598", "unionpay", 19),
)

# A number of no known network is taken at 16 digits when it passes Luhn (the API decides what it is worth).
UNKNOWN_LENGTH = 16
# No card number is longer (ISO/IEC 7812); the iframe never takes more digits than this.
MAX_LENGTH = 19

# "Use any three-digit CVC (four digits for American Express cards)" (https://docs.stripe.com/testing#cards).
# Until the brand is known, either length may be right.
CVC_LENGTHS: dict[str, tuple[int, ...]] = {"amex": (4,), "unknown": (3, 4)}
DEFAULT_CVC_LENGTHS = (3,)

# The brand as a card object spells it (`card.brand`); payment_method_details use the code (the keys).
BRAND_NAMES: dict[str, str] = {
    "visa": "Visa",
    "mastercard": "MasterCard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}

# An expiry further ahead than this many years is refused, by the API (invalid_expiry_year) and the iframe.
MAX_YEARS_AHEAD = 50


def _prefix_matches(digits: str, bin_range: BinRange) -> bool:
    """True when `digits` may start a number of `bin_range` (shorter digits are compared with as many)."""
    width = min(len(digits), len(bin_range.low))
    head = int(digits[:width])
    return int(bin_range.low[:width]) <= head <= int(bin_range.high[:width])


def _matching_ranges(digits: str) -> list[BinRange]:
    return [bin_range for bin_range in BIN_RANGES if digits and _prefix_matches(digits, bin_range)]


def brand_of(number: str) -> str:
    """The card network of a number, or of its first digits; 'unknown' when none, or several, could match."""
    brands = {bin_range.brand for bin_range in _matching_ranges(number)}
    return brands.pop() if len(brands) == 1 else "unknown"


def pan_length(number: str) -> int:
    """How many digits a card number starting with these digits has: its most specific matching range's."""
    brand = brand_of(number)
    if brand == "unknown":
        return UNKNOWN_LENGTH
    ranges = [bin_range for bin_range in _matching_ranges(number) if bin_range.brand == brand]
    # While the digits are fewer than a range's prefix, that range only might apply.
    covered = [bin_range for bin_range in ranges if len(number) >= len(bin_range.low)] or ranges
    return max(covered, key=lambda bin_range: len(bin_range.low)).length


def cvc_lengths(brand: str) -> tuple[int, ...]:
    """The CVC lengths a card of this brand takes."""
    return CVC_LENGTHS.get(brand, DEFAULT_CVC_LENGTHS)


def rules_json() -> dict[str, object]:
    """These rules in the shape the Card Element's iframe reads (static/elements/rules.js)."""
    brands = [*BRAND_NAMES, "unknown"]
    return {
        "ranges": [[r.low, r.high, r.brand, r.length] for r in BIN_RANGES],
        "unknownLength": UNKNOWN_LENGTH,
        "maxLength": MAX_LENGTH,
        "cvcLengths": {brand: list(cvc_lengths(brand)) for brand in brands},
        "maxYearsAhead": MAX_YEARS_AHEAD,
    }


# One row per brand for callers that want everything at once: code -> (card.brand name, lengths, longest CVC).
BRANDS: dict[str, tuple[str, tuple[int, ...], int]] = {
    brand: (
        name,
        tuple(sorted({r.length for r in BIN_RANGES if r.brand == brand})),
        max(cvc_lengths(brand)),
    )
    for brand, name in BRAND_NAMES.items()
}


def luhn_ok(number: str) -> bool:
    """True when the number passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


@dataclass(frozen=True)
class Behaviour:
    """What a test card does when charged (None code = approved)."""

    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    outcome_type: str = "authorized"
    network_status: str = "approved_by_network"
    risk_level: str = "normal"
    reason: str | None = None
    seller_message: str = "Payment complete."
    cvc_check: str | None = None  # forced result of the CVC check when a CVC is given
    address_line1_check: str | None = None
    address_zip_check: str | None = None
    declines_on_attach: bool = True  # a declining card fails when attached to a customer
    funding: str = "credit"
    country: str = "US"


def _declined(decline_code: str, message: str = "Your card was declined.") -> Behaviour:
    return Behaviour(
        code="card_declined",
        decline_code=decline_code,
        message=message,
        outcome_type="issuer_declined",
        network_status="declined_by_network",
        reason=decline_code,
        seller_message=(
            "The bank did not return any further details with this decline."
            if decline_code == "generic_decline"
            else f"The bank returned the decline code `{decline_code}`."
        ),
    )


def _failed(code: str, message: str, **extra) -> Behaviour:
    # Stripe's error for these carries the code alone (no decline_code); the outcome still names the reason.
    return Behaviour(
        code=code,
        decline_code=None,
        message=message,
        outcome_type="issuer_declined",
        network_status="declined_by_network",
        reason=code,
        seller_message=f"The bank returned the decline code `{code}`.",
        **extra,
    )


APPROVED = Behaviour()
BLOCKED = Behaviour(
    code="card_declined",
    decline_code="fraudulent",
    message="Your card was declined.",
    outcome_type="blocked",
    network_status="not_sent_to_network",
    risk_level="highest",
    reason="highest_risk_level",
    seller_message="Stripe blocked this payment as too risky.",
)

TEST_CARDS: dict[str, Behaviour] = {
    "4000056655665556": Behaviour(funding="debit"),
    "5200828282828210": Behaviour(funding="debit"),
    "5105105105105100": Behaviour(funding="prepaid"),
    "4000000000000002": _declined("generic_decline"),
    "4000000000009995": _declined("insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": _declined("lost_card"),
    "4000000000009979": _declined("stolen_card"),
    "4000000000006975": _declined("card_velocity_exceeded"),
    "4000000000000069": _failed("expired_card", "Your card has expired."),
    "4000000000000127": _failed("incorrect_cvc", "Your card's security code is incorrect.", cvc_check="fail"),
    "4000000000000119": _failed(
        "processing_error", "An error occurred while processing your card. Try again in a little bit."
    ),
    "4100000000000019": BLOCKED,
    "4000000000004954": BLOCKED,
    "4000000000009235": Behaviour(risk_level="elevated"),
    "4000000000000341": Behaviour(
        code="card_declined",
        decline_code="generic_decline",
        message="Your card was declined.",
        outcome_type="issuer_declined",
        network_status="declined_by_network",
        reason="generic_decline",
        seller_message="The bank did not return any further details with this decline.",
        declines_on_attach=False,
    ),
    "4000000000000101": Behaviour(cvc_check="fail"),
    "4000000000000010": Behaviour(address_line1_check="fail", address_zip_check="fail"),
    "4000000000000028": Behaviour(address_line1_check="fail"),
    "4000000000000036": Behaviour(address_zip_check="fail"),
    "4000000000000044": Behaviour(address_line1_check="unavailable", address_zip_check="unavailable"),
}

CVC_FAIL = _failed("incorrect_cvc", "Your card's security code is incorrect.", cvc_check="fail")


def behaviour_of(number: str, cvc_given: bool) -> Behaviour:
    """The charge-time behaviour of a card; a failing CVC check declines the charge as Stripe's default rule."""
    behaviour = TEST_CARDS.get(number, APPROVED)
    if behaviour is TEST_CARDS.get("4000000000000101") and cvc_given:
        return CVC_FAIL
    return behaviour


# Stripe's reusable test tokens and the card each stands for.
TEST_TOKENS: dict[str, str] = {
    "tok_visa": "4242424242424242",
    "tok_us": "4242424242424242",
    "tok_visa_debit": "4000056655665556",
    "tok_mastercard": "5555555555554444",
    "tok_mastercard_debit": "5200828282828210",
    "tok_mastercard_prepaid": "5105105105105100",
    "tok_amex": "378282246310005",
    "tok_discover": "6011111111111117",
    "tok_diners": "3056930009020004",
    "tok_jcb": "3566002020360505",
    "tok_unionpay": "6200000000000005",
    "tok_chargeDeclined": "4000000000000002",
    "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
    "tok_chargeDeclinedLostCard": "4000000000009987",
    "tok_chargeDeclinedStolenCard": "4000000000009979",
    "tok_chargeDeclinedVelocityLimitExceeded": "4000000000006975",
    "tok_chargeDeclinedExpiredCard": "4000000000000069",
    "tok_chargeDeclinedIncorrectCvc": "4000000000000127",
    "tok_chargeDeclinedProcessingError": "4000000000000119",
    "tok_chargeDeclinedFraudulent": "4100000000000019",
    "tok_radarBlock": "4100000000000019",
    "tok_riskLevelHighest": "4000000000004954",
    "tok_riskLevelElevated": "4000000000009235",
    "tok_chargeCustomerFail": "4000000000000341",
    "tok_cvcCheckFail": "4000000000000101",
    "tok_avsFail": "4000000000000010",
    "tok_avsLine1Fail": "4000000000000028",
    "tok_avsZipFail": "4000000000000036",
    "tok_avsUnchecked": "4000000000000044",
    # Disputes (docs.stripe.com/testing#disputes), also as pm_card_createDispute…
    "tok_createDispute": "4000000000000259",
    "tok_createDisputeProductNotReceived": "4000000000002685",
    "tok_createDisputeInquiry": "4000000000001976",
    # Refunds (docs.stripe.com/testing#refunds): "Asynchronous failure", also as pm_card_refundFail
    "tok_refundFail": "4000000000005126",
}
# Tokens whose card carries a CVC (so that the CVC check runs).
TOKENS_WITH_CVC = {"tok_cvcCheckFail"}


def card_error(code: str, message: str, param: str) -> StripeError:
    """A 402 card_error raised while validating card details (no charge is created)."""
    return StripeError(402, "card_error", message, code=code, param=param)


def validate_card(number: str, exp_month: object, exp_year: object, cvc: str | None, now: int) -> tuple[str, int, int]:
    """Check number, expiry and CVC as Stripe's API does; return (number, month, four-digit year)."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit():
        raise card_error("invalid_number", "Your card number is not a valid credit card number.", "number")
    brand = brand_of(digits)
    if len(digits) != pan_length(digits):
        raise card_error("invalid_number", "Your card number is not a valid credit card number.", "number")
    if not luhn_ok(digits):
        raise card_error("incorrect_number", "Your card number is incorrect.", "number")
    try:
        month = int(str(exp_month))
    except ValueError:
        month = 0
    if not 1 <= month <= 12:
        raise card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    try:
        year = int(str(exp_year))
    except ValueError:
        year = -1
    if 0 <= year < 100:
        year += 2000
    today = dt.datetime.fromtimestamp(now, dt.UTC)
    if year < today.year or year > today.year + MAX_YEARS_AHEAD:
        raise card_error("invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year")
    if year == today.year and month < today.month:
        raise card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    if cvc and (not cvc.isdigit() or len(cvc) not in cvc_lengths(brand)):
        raise card_error("invalid_cvc", "Your card's security code is invalid.", "cvc")
    return digits, month, year


def fingerprint(number: str) -> str:
    """A stable per-number fingerprint, as Stripe gives the same one to every card with one number."""
    return hashlib.sha256(("fp:" + number).encode()).hexdigest()[:16]


# Cards whose charges succeed but whose refunds fail some time later, by fingerprint (a refund knows its charge's
# card by its fingerprint only). docs.stripe.com/testing#refunds: 4000 0000 0000 5126, "Asynchronous refund
# failure": the refund begins as succeeded, then turns failed with a `charge.refund.updated` event.
REFUND_FAILS = frozenset({fingerprint("4000000000005126")})


def refund_fails(card_fingerprint: str | None) -> bool:
    """Whether refunds of a charge on the card with this fingerprint fail asynchronously."""
    return card_fingerprint in REFUND_FAILS


# Cards whose charges succeed and are then disputed, by fingerprint (docs.stripe.com/testing#disputes):
# 0259 "Fraudulent", 2685 "Not received", 1976 "Inquiry" (a fraud inquiry: no funds withdrawn). Fingerprint ->
# (reason, is an inquiry). 4000 0000 0000 5423 ("Early fraud warning") raises a Radar early fraud warning, not a
# dispute: this emulator has no early fraud warnings, so it charges as an ordinary card.
DISPUTES: dict[str, tuple[str, bool]] = {
    fingerprint("4000000000000259"): ("fraudulent", False),
    fingerprint("4000000000002685"): ("product_not_received", False),
    fingerprint("4000000000001976"): ("fraudulent", True),
}


def dispute_of(card_fingerprint: str | None) -> tuple[str, bool] | None:
    """(reason, is an inquiry) of the dispute that follows a charge on this card, or None."""
    return DISPUTES.get(card_fingerprint or "")
