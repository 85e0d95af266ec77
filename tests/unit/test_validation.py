"""Checkout field validation: one clear message per wrong field, never an exception."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.orders import CUSTOMER_FIELDS
from shop.validation import FIELD_LABELS, countries, country_name, validate_customer

VALID = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "phone": "+1 (415) 555-0100",
    "line1": "1 Harbor Way",
    "line2": "",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94107",
    "country": "US",
}


# Every message the email field can get, so a refusal is known to be one of them (and not, say, a phone message).
EMAIL_MESSAGES = {
    "Enter your email address for the receipt.",
    "Enter an email address like name@example.com.",
    "Email contains characters that cannot be printed; retype it.",
    "Email is too long: at most 254 characters.",
}


def with_(**changes: object) -> dict:
    return {**VALID, **changes}


def test_valid_details_pass_and_are_trimmed():
    result = validate_customer(with_(name="  Grace   Hopper ", email="grace@EXAMPLE.com "))
    assert result.ok
    assert result.values["name"] == "Grace Hopper"
    assert result.values["email"] == "grace@example.com"


def test_the_form_asks_for_exactly_the_details_an_order_keeps():
    assert set(FIELD_LABELS) == set(CUSTOMER_FIELDS)


@pytest.mark.parametrize("field", list(FIELD_LABELS))
def test_a_too_long_value_is_refused_under_the_fields_visible_label(field):
    result = validate_customer(with_(**{field: "x" * 300}))
    assert result.errors[field].startswith(f"{FIELD_LABELS[field]} is too long: at most ")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "", "full name"),
        ("name", "12345", "letters"),
        ("email", "", "email address"),
        ("email", "grace", "name@example.com"),
        ("email", "grace@example", "name@example.com"),
        ("email", "grace@@example.com", "name@example.com"),
        ("email", "gr ace@example.com", "name@example.com"),
        ("email", "grace..h@example.com", "name@example.com"),
        ("phone", "", "phone number"),
        ("phone", "12345", "with its area code"),
        ("phone", "1234567890123456", "with its area code"),
        ("phone", "555-CALL-NOW", "not a working phone number"),  # letters dial as digits: 555-225-5669
        ("phone", "0000000000", "not a working phone number"),
        ("line1", "", "street address"),
        ("city", "", "city"),
        ("state", "", "state"),
        ("postal_code", "", "postal code"),
        ("postal_code", "9410", "12345 or 12345-6789"),
        ("postal_code", "94107-12", "12345 or 12345-6789"),
        ("postal_code", "ABCDE", "12345 or 12345-6789"),
        ("country", "XX", "Choose a country"),
        ("name", "x" * 101, "too long"),
        ("line1", "1 Main\x00St", "cannot be printed"),
    ],
)
def test_each_wrong_field_gets_its_own_message(field, value, words):
    result = validate_customer(with_(**{field: value}))
    assert list(result.errors) == [field]
    assert words.lower() in result.errors[field].lower()


def test_zip_plus_four_is_fine():
    assert validate_customer(with_(postal_code="94107-1234")).ok


def test_other_countries_have_their_own_postal_rules():
    assert validate_customer(with_(country="GB", state="", postal_code="SW1A 1AA")).ok
    assert validate_customer(with_(country="IE", state="", postal_code="")).ok  # optional where none is needed
    canada = validate_customer(with_(country="CA", state="ON", postal_code="k1a0b1"))
    assert canada.ok
    assert canada.values["postal_code"] == "K1A 0B1"
    assert "K1A 0B1" in validate_customer(with_(country="CA", state="ON", postal_code="12345")).errors["postal_code"]
    assert "state" in validate_customer(with_(country="CA", state="")).errors


def test_missing_country_defaults_to_united_states():
    result = validate_customer(with_(country=""))
    assert result.values["country"] == "US"


def test_everything_empty_lists_every_required_field():
    result = validate_customer({})
    assert set(result.errors) == {"name", "email", "phone", "line1", "city", "state", "postal_code"}


def test_country_list():
    codes = dict(countries())
    assert codes["US"] == "United States"
    assert codes["DE"] == "Germany"
    assert len(codes) > 240
    assert country_name("FR") == "France"
    assert country_name("??") == "??"


TEXT = st.one_of(st.none(), st.text(max_size=300), st.integers(), st.floats(allow_nan=True))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({name: TEXT for name in FIELD_LABELS}))
def test_random_input_never_raises_and_every_error_is_a_message(data):
    result = validate_customer(data)
    assert set(result.errors) <= set(FIELD_LABELS)
    for message in result.errors.values():
        assert isinstance(message, str)
        assert message.endswith(".")
        assert len(message) > 10
    # What validation accepts, it accepts again: cleaning is stable.
    if result.ok:
        assert validate_customer(result.values).values == result.values


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_random_email_is_accepted_only_with_an_at_and_a_dot(text):
    result = validate_customer(with_(email=text))
    if "email" not in result.errors:
        assert "@" in result.values["email"]
        assert "." in result.values["email"].rpartition("@")[2]
    else:
        assert result.errors["email"] in EMAIL_MESSAGES


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-().x", max_size=40))
def test_random_phone_is_accepted_only_when_a_real_number(text):
    result = validate_customer(with_(phone=text))
    digits = sum(ch.isdigit() for ch in text)
    if "phone" not in result.errors:
        assert digits >= 7  # the shortest numbers of any plan, with an area code
        assert phonenumbers.is_valid_number(phonenumbers.parse(text, "US"))


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("(415) 555-0100 ext 5", "US"),
        ("415 555 0100 x12", "US"),
        ("020 7946 0958", "GB"),  # a national number of the address's country
        ("+44 20 7946 0958", "US"),  # any country with its code
    ],
)
def test_extensions_and_national_numbers_of_the_address_country_are_accepted(phone, country):
    state = "OR" if country == "US" else ""
    postal = "97205" if country == "US" else "SW1A 1AA"
    assert validate_customer(with_(phone=phone, country=country, state=state, postal_code=postal)).ok


def test_the_postal_code_error_names_the_field_as_its_label_does():
    assert FIELD_LABELS["postal_code"].lower() in validate_customer(with_(postal_code="9410")).errors["postal_code"]
