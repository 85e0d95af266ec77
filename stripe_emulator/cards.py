"""Card facts: brands from numbers, Luhn and expiry checks, Stripe's test cards and test tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from stripe_emulator.errors import StripeError

# (brand code used in payment_method_details, display brand of the card object, valid lengths, cvc length)
BRANDS: dict[str, tuple[str, tuple[int, ...], int]] = {
    "visa": ("Visa", (13, 16, 19), 3),
    "mastercard": ("MasterCard", (16,), 3),
    "amex": ("American Express", (15,), 4),
    "discover": ("Discover", (16, 19), 3),
    "diners": ("Diners Club", (14, 16), 3),
    "jcb": ("JCB", (16, 17, 18, 19), 3),
    "unionpay": ("UnionPay", (16, 17, 18, 19), 3),
}


def brand_of(number: str) -> str:
    """The card network of a number from its leading digits ('unknown' when none matches)."""
    two, four, six = int(number[:2] or 0), int(number[:4] or 0), int(number[:6] or 0)
    if number.startswith("4"):
        return "visa"
    if 51 <= two <= 55 or 222100 <= six <= 272099:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3] or 0) <= 649:
        return "discover"
    if two in (36, 38, 39) or 300 <= int(number[:3] or 0) <= 305:
        return "diners"
    if 3528 <= four <= 3589:
        return "jcb"
    if two == 62 or two == 81:
        return "unionpay"
    return "unknown"


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
    lengths = BRANDS[brand][1] if brand in BRANDS else tuple(range(12, 20))
    if len(digits) not in lengths:
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
    if year < today.year or year > today.year + 50:
        raise card_error("invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year")
    if year == today.year and month < today.month:
        raise card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "exp_month")
    if cvc is not None and cvc != "":
        expected = BRANDS.get(brand, ("", (), 3))[2]
        if not cvc.isdigit() or len(cvc) not in (3, 4) or (expected == 4 and len(cvc) != 4):
            raise card_error("invalid_cvc", "Your card's security code is invalid.", "cvc")
    return digits, month, year


def fingerprint(number: str) -> str:
    """A stable per-number fingerprint, as Stripe gives the same one to every card with one number."""
    return hashlib.sha256(("fp:" + number).encode()).hexdigest()[:16]
