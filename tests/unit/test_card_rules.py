"""The card-number rules the API and the Card Element's iframe share: brands, lengths, Luhn, CVC lengths."""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():  # Starlette's note about a future httpx package, not about this code
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stripe_emulator import cards, stripejs
from stripe_emulator.errors import StripeError

NOW = int(dt.datetime(2026, 6, 15, tzinfo=dt.UTC).timestamp())

# Stripe's test cards by brand (https://docs.stripe.com/testing#cards), each of which the API must accept.
DOCUMENTED_CARDS = [
    ("4242424242424242", "visa"),
    ("4000056655665556", "visa"),
    ("5555555555554444", "mastercard"),
    ("2223003122003222", "mastercard"),
    ("5200828282828210", "mastercard"),
    ("5105105105105100", "mastercard"),
    ("378282246310005", "amex"),
    ("371449635398431", "amex"),
    ("6011111111111117", "discover"),
    ("6011000990139424", "discover"),
    ("6011981111111113", "discover"),
    ("3056930009020004", "diners"),
    ("36227206271667", "diners"),
    ("3566002020360505", "jcb"),
    ("6200000000000005", "unionpay"),
    ("6200000000000047", "unionpay"),
    ("6205500000000000004", "unionpay"),
]


def _validate(number: str, cvc: str | None = None) -> tuple[str, int, int]:
    return cards.validate_card(number, "12", "2030", cvc, NOW)


def _refusal(number: str, cvc: str | None = None) -> tuple[str, str | None]:
    with pytest.raises(StripeError) as info:
        _validate(number, cvc)
    return info.value.code, info.value.param


@pytest.mark.parametrize(("number", "brand"), DOCUMENTED_CARDS)
def test_every_documented_test_card_has_its_brand_and_is_accepted(number: str, brand: str) -> None:
    assert cards.brand_of(number) == brand
    assert cards.pan_length(number) == len(number)
    assert _validate(number) == (number, 12, 2030)


@pytest.mark.parametrize(
    ("digits", "brand"),
    [
        ("4", "visa"),
        ("5", "mastercard"),
        ("2", "mastercard"),
        ("22", "mastercard"),
        ("2220", "unknown"),
        ("2721", "unknown"),
        ("3", "unknown"),  # Amex, Diners Club or JCB
        ("30", "diners"),
        ("306", "unknown"),
        ("309", "diners"),
        ("35", "jcb"),
        ("3527", "unknown"),
        ("6", "unknown"),  # Discover or UnionPay
        ("60", "discover"),
        ("6012", "unknown"),
        ("64", "discover"),
        ("643", "unknown"),
        ("62", "unionpay"),
        ("81", "unionpay"),
        ("9", "unknown"),
        ("", "unknown"),
    ],
)
def test_first_digits_give_a_brand_only_when_one_network_can_match(digits: str, brand: str) -> None:
    assert cards.brand_of(digits) == brand


@pytest.mark.parametrize(
    ("number", "length"),
    [
        ("36", 14),
        ("30", 16),
        ("309", 16),
        ("38", 16),
        ("34", 15),
        ("62", 16),
        ("6205", 16),
        ("620550", 19),
        ("621598", 19),
        ("4", 16),
        ("9999", cards.UNKNOWN_LENGTH),
    ],
)
def test_the_most_specific_range_decides_the_length(number: str, length: int) -> None:
    assert cards.pan_length(number) == length


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242424",  # a 19-digit number in a 16-digit Visa range
        "4222222222222",  # 13 digits
        "30569309025904",  # 14 digits where Diners Club numbers have 16
        "3622720627166700",  # 16 digits where they have 14
        "62000000000000050",  # 17 digits where UnionPay has 16
        "424242424242",  # too short for anything
    ],
)
def test_a_number_of_the_wrong_length_is_invalid(number: str) -> None:
    assert _refusal(number) == ("invalid_number", "number")


@pytest.mark.parametrize("number", ["4242424242424241", "6200000000000004", "6205500000000000005"])
def test_a_luhn_failure_is_incorrect_for_every_network_unionpay_too(number: str) -> None:
    assert _refusal(number) == ("incorrect_number", "number")


@pytest.mark.parametrize(
    ("number", "cvc", "accepted"),
    [
        ("4242424242424242", "123", True),
        ("4242424242424242", "1234", False),
        ("4242424242424242", "12", False),
        ("378282246310005", "1234", True),
        ("378282246310005", "123", False),
        ("6205500000000000004", "123", True),
        ("4242424242424242", "12a", False),
    ],
)
def test_cvc_lengths_follow_the_brand(number: str, cvc: str, accepted: bool) -> None:
    if accepted:
        assert _validate(number, cvc)[0] == number
    else:
        assert _refusal(number, cvc) == ("invalid_cvc", "cvc")


def test_an_expiry_more_than_fifty_years_ahead_is_invalid() -> None:
    cards.validate_card("4242424242424242", "12", str(2026 + cards.MAX_YEARS_AHEAD), None, NOW)
    with pytest.raises(StripeError) as info:
        cards.validate_card("4242424242424242", "1", str(2026 + cards.MAX_YEARS_AHEAD + 1), None, NOW)
    assert info.value.code == "invalid_expiry_year"


def test_the_iframe_gets_the_same_tables_as_json() -> None:
    rules = json.loads(json.dumps(cards.rules_json()))
    ranges = [tuple(row) for row in rules["ranges"]]
    assert ranges == [(r.low, r.high, r.brand, r.length) for r in cards.BIN_RANGES]
    assert rules["cvcLengths"]["amex"] == [4]
    assert rules["cvcLengths"]["visa"] == [3]
    assert rules["cvcLengths"]["unknown"] == [3, 4]
    assert rules["unknownLength"] == cards.UNKNOWN_LENGTH
    assert rules["maxLength"] == 19
    assert rules["maxYearsAhead"] == cards.MAX_YEARS_AHEAD
    # Every range's bounds have as many digits, and no range is longer than a card number can be.
    for low, high, _brand, length in ranges:
        assert len(low) == len(high) and low <= high
        assert length <= rules["maxLength"]


def test_the_card_brand_table_keeps_the_names_the_api_shows() -> None:
    assert cards.BRANDS["visa"] == ("Visa", (16,), 3)
    assert cards.BRANDS["diners"] == ("Diners Club", (14, 16), 3)
    assert cards.BRANDS["unionpay"] == ("UnionPay", (16, 19), 3)
    assert cards.BRANDS["amex"] == ("American Express", (15,), 4)


def test_the_card_frame_is_served_with_the_rules_written_in() -> None:
    client = TestClient(Starlette(routes=stripejs.routes()))
    frame = client.get("/v3/elements-inner-card.html")
    assert frame.status_code == 200
    assert "script-src 'self'" in frame.headers["content-security-policy"]
    embedded = re.search(r'<script type="application/json" id="card-rules">(.*?)</script>', frame.text, re.S)
    assert embedded is not None
    assert json.loads(embedded.group(1)) == json.loads(json.dumps(cards.rules_json()))
    # The frame's ES modules are served as JavaScript, or the browser refuses to run them.
    for module in ("rules", "format", "styles", "icons", "api", "frame", "card-frame", "controller-frame"):
        served = client.get(f"/v3/elements/{module}.js")
        assert served.status_code == 200, module
        assert served.headers["content-type"].startswith("application/javascript")
        assert served.headers["x-content-type-options"] == "nosniff"
    challenge = client.get("/v3/3ds-challenge.html")
    assert "Complete" in challenge.text and "Fail" in challenge.text
    assert "connect-src 'self'" in challenge.headers["content-security-policy"]
