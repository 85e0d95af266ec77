"""What the Shipping Address Element and the contact methods accept: per-country address rules, phone, email.

One table serves both ends: the Address Element's frame gets it as JSON (written in by stripejs.py, as the card
rules are) to tell the customer at once, and the API checks the same rules when the details arrive, so a page
that skips the frame cannot store what the frame would refuse.

The countries with rules of their own are those a US shop ships to most: the United States and Canada (a state or
province from the list, ZIP or postal code format), the United Kingdom (postcode format, county optional), Germany
and France (five-digit postal code, no state). Other countries need a street, a city and a postal code of any
form. Nothing is autocompleted: the emulator has no address data.
"""

from __future__ import annotations

import re
from typing import Any

from stripe_emulator import params as p
from stripe_emulator.errors import invalid

US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI"
).split()
CA_PROVINCES = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()

# Per country: the label of its state field and its choices (None: no state field), whether a state is required,
# the postal code's label and pattern (a regular expression both Python and JavaScript read alike), an example.
COUNTRIES: dict[str, dict[str, Any]] = {
    "US": {
        "name": "United States",
        "stateLabel": "State",
        "states": US_STATES,
        "stateRequired": True,
        "postalLabel": "ZIP code",
        "postalPattern": r"^\d{5}(-\d{4})?$",
        "postalExample": "94103",
    },
    "CA": {
        "name": "Canada",
        "stateLabel": "Province",
        "states": CA_PROVINCES,
        "stateRequired": True,
        "postalLabel": "Postal code",
        "postalPattern": r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$",
        "postalExample": "K1A 0B1",
    },
    "GB": {
        "name": "United Kingdom",
        "stateLabel": "County (optional)",
        "states": None,
        "stateRequired": False,
        "postalLabel": "Postcode",
        "postalPattern": r"^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$",
        "postalExample": "SW1A 1AA",
    },
    "DE": {
        "name": "Germany",
        "stateLabel": None,
        "states": None,
        "stateRequired": False,
        "postalLabel": "Postal code",
        "postalPattern": r"^\d{5}$",
        "postalExample": "10115",
    },
    "FR": {
        "name": "France",
        "stateLabel": None,
        "states": None,
        "stateRequired": False,
        "postalLabel": "Postal code",
        "postalPattern": r"^\d{5}$",
        "postalExample": "75001",
    },
}
OTHER = {
    "stateLabel": "State, province or region (optional)",
    "states": None,
    "stateRequired": False,
    "postalLabel": "Postal code",
    "postalPattern": r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$",
    "postalExample": "",
}
EMAIL_PATTERN = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
# A phone number: digits with the usual separators, an optional leading +; 7 to 15 digits (E.164's longest).
PHONE_PATTERN = r"^\+?[0-9 ().-]{7,24}$"
PHONE_DIGITS = (7, 15)


def noun(label: str) -> str:
    """A field's label inside a sentence: "Postal code" -> "postal code", "ZIP code" stays."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def rules_json() -> dict[str, Any]:
    """The rules as the Address Element's frame reads them."""
    return {
        "countries": COUNTRIES,
        "other": OTHER,
        "emailPattern": EMAIL_PATTERN,
        "phonePattern": PHONE_PATTERN,
        "phoneDigits": PHONE_DIGITS,
    }


def check_email(value: str) -> str:
    """A trimmed email address, or Stripe's 400 saying what is wrong."""
    email = value.strip()
    if not re.match(EMAIL_PATTERN, email):
        raise invalid("Your email address is invalid.", param="email", code="email_invalid")
    return email


def check_phone(value: str) -> str:
    """A trimmed phone number, or a 400 saying what is wrong."""
    phone = value.strip()
    digits = sum(ch.isdigit() for ch in phone)
    if not re.match(PHONE_PATTERN, phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        raise invalid("Your phone number is invalid: use digits, with the country code after a +.", param="phone")
    return phone


def check_shipping(shipping: dict[str, Any], allowed_countries: list[str] | None) -> dict[str, Any]:
    """The shipping details with a full address, checked against the country's rules and the allowed countries."""
    name = (shipping.get("name") or "").strip()
    address = {key: ((shipping["address"].get(key) or "").strip() or None) for key in p.ADDRESS}
    country = (address["country"] or "").upper()
    address["country"] = country or None
    param = "shipping[address]"
    if not name:
        raise invalid("Enter the full name for shipping.", param="shipping[name]", code="parameter_missing")
    if not country:
        raise invalid("Choose a country.", param=f"{param}[country]", code="parameter_missing")
    if allowed_countries is not None and country not in allowed_countries:
        raise invalid("This store does not ship to that country.", param=f"{param}[country]")
    rules = COUNTRIES.get(country, OTHER)
    for key, label in (("line1", "the address"), ("city", "the city")):
        if not address[key]:
            raise invalid(f"Enter {label}.", param=f"{param}[{key}]", code="parameter_missing")
    if rules["stateRequired"] and not address["state"]:
        raise invalid(f"Choose a {noun(rules['stateLabel'])}.", param=f"{param}[state]", code="parameter_missing")
    if rules["states"] is not None and address["state"] and address["state"].upper() not in rules["states"]:
        raise invalid(f"That is not a {noun(rules['stateLabel'])} of {rules['name']}.", param=f"{param}[state]")
    if rules["states"] is not None and address["state"]:
        address["state"] = address["state"].upper()
    if not rules["stateLabel"]:
        address["state"] = None
    postal = address["postal_code"]
    if not postal:
        raise invalid(f"Enter the {noun(rules['postalLabel'])}.", param=f"{param}[postal_code]")
    if not re.match(rules["postalPattern"], postal):
        example = f" (like {rules['postalExample']})" if rules["postalExample"] else ""
        raise invalid(f"The {noun(rules['postalLabel'])} is not valid{example}.", param=f"{param}[postal_code]")
    if country in ("CA", "GB"):
        address["postal_code"] = postal.upper()
    return {"name": name, "address": address}
