"""Validation of the customer details typed at checkout: one clear message per wrong field.

`validate_customer` never raises: whatever arrives (None, numbers, control characters, huge strings), it returns
the cleaned values and a message for each field that needs fixing, keyed by the same field names as
`shop.orders.Customer`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
import pycountry

# Visible labels of the checkout form, by field name.
FIELD_LABELS = {
    "name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "line1": "Address line 1",
    "line2": "Address line 2",
    "city": "City",
    "state": "State / Region",
    "postal_code": "Postal code",
    "country": "Country",
}
MAX_LENGTHS = {
    "name": 100,
    "email": 254,
    "phone": 30,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "state": 100,
    "postal_code": 12,
    "country": 2,
}
DEFAULT_COUNTRY = "US"
# Countries whose addresses need a state or province to be delivered.
STATE_REQUIRED = frozenset({"US", "CA", "AU", "BR", "MX", "IN"})

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"  # local part
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"  # first domain label
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"  # more labels, then the TLD
)
PHONE_SHAPE_MESSAGE = (
    "Enter the phone number with its area code, like +1 415 555 0100; an extension may follow (ext 5)."
)
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_CA_POSTAL = re.compile(r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$")
_GENERIC_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,10}$")


@dataclass(frozen=True)
class ValidationResult:
    """Cleaned values (trimmed, normalised) and a message per field that needs fixing."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every field is valid."""
        return not self.errors


@functools.cache
def countries() -> list[tuple[str, str]]:
    """(alpha-2 code, name) of every ISO 3166 country, sorted by name."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1])


@functools.cache
def country_name(code: str) -> str:
    """The ISO name of an alpha-2 code ("US" -> "United States"); the code itself when unknown."""
    country = pycountry.countries.get(alpha_2=code) if isinstance(code, str) and len(code) == 2 else None
    return country.name if country else str(code)


def _clean(value: Any) -> str:
    """A single-line, trimmed text from whatever the form sent (None -> "")."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.split())


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text)


def _phone_problem(text: str, country: str) -> str | None:
    """What is wrong with a phone number, or None: it must be a real number (phonenumbers' metadata) of `country`
    unless it starts with + and its country code; an extension may follow ("ext 5", "x 12")."""
    region = country if country in phonenumbers.SUPPORTED_REGIONS else DEFAULT_COUNTRY
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        return PHONE_SHAPE_MESSAGE
    if not phonenumbers.is_valid_number(number):
        return "That is not a working phone number: check the digits, or start with + and the country code."
    return None


def validate_customer(data: Mapping[str, Any]) -> ValidationResult:
    """Check every checkout field of `data`; never raises.

    Rules: name, email, phone, address line 1, city and country are required; the state is required where
    addresses need one (US, CA, ...); the email needs the shape name@domain.tld; the phone must be a real number
    of the address's country (or +country code), an extension allowed; a US postal code is 12345 or 12345-6789,
    a Canadian one A1A 1A1, others 2 to 11 letters, digits, spaces or dashes.
    """
    raw = data if isinstance(data, Mapping) else {}
    values = {name: _clean(raw.get(name)) for name in FIELD_LABELS}
    values["country"] = values["country"].upper() or DEFAULT_COUNTRY
    errors: dict[str, str] = {}

    for name, text in values.items():
        label = FIELD_LABELS[name]
        if _has_control(text):
            errors[name] = f"{label} contains characters that cannot be printed; retype it."
        elif len(text) > MAX_LENGTHS[name]:
            errors[name] = f"{label} is too long: at most {MAX_LENGTHS[name]} characters."

    def require(name: str, message: str) -> bool:
        if name in errors:
            return False
        if not values[name]:
            errors[name] = message
            return False
        return True

    if require("name", "Enter your full name.") and not any(ch.isalpha() for ch in values["name"]):
        errors["name"] = "Enter your full name in letters."

    if require("email", "Enter your email address for the receipt."):
        if not _EMAIL.match(values["email"]) or ".." in values["email"]:
            errors["email"] = "Enter an email address like name@example.com."
        else:
            local, _, domain = values["email"].rpartition("@")
            values["email"] = f"{local}@{domain.lower()}"

    if require("phone", "Enter a phone number so the courier can reach you."):
        problem = _phone_problem(values["phone"], values["country"])
        if problem:
            errors["phone"] = problem

    require("line1", "Enter the street address.")
    require("city", "Enter the city.")

    country = values["country"]
    if "country" not in errors and pycountry.countries.get(alpha_2=country) is None:
        errors["country"] = "Choose a country from the list."

    if country in STATE_REQUIRED:
        require("state", "Enter the state or region.")

    postal = values["postal_code"]
    if "postal_code" not in errors:
        if country == "US":
            if not postal:
                errors["postal_code"] = "Enter the postal code (the ZIP code)."
            elif not _US_ZIP.match(postal):
                errors["postal_code"] = "A US postal code (ZIP code) looks like 12345 or 12345-6789."
        elif country == "CA":
            if not postal:
                errors["postal_code"] = "Enter the postal code."
            elif not _CA_POSTAL.match(postal):
                errors["postal_code"] = "A Canadian postal code looks like K1A 0B1."
            else:
                compact = postal.replace(" ", "").upper()
                values["postal_code"] = f"{compact[:3]} {compact[3:]}"
        elif postal and not _GENERIC_POSTAL.match(postal):
            errors["postal_code"] = "A postal code has 2 to 11 letters, digits, spaces or dashes."

    return ValidationResult(values=values, errors=errors)


def validate_email_only(data: Mapping[str, Any]) -> ValidationResult:
    """Check the email of `data` alone, as `validate_customer` checks it; the other values come back empty.

    For Checkout Sessions, where Stripe's Address Element asks the name, address and phone beside the payment
    (docs.stripe.com/js/custom_checkout/create_shipping_address_element) and the shop's form asks the email only.
    """
    checked = validate_customer(data)
    errors = {name: message for name, message in checked.errors.items() if name == "email"}
    return ValidationResult(values=dict.fromkeys(FIELD_LABELS, "") | {"email": checked.values["email"]}, errors=errors)
