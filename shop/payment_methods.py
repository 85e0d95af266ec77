"""How a payment's method reads: a card's brand and last 4 digits, or the kind of method Stripe used (a US bank
account and its last 4, Klarna). One rule for the stored charge, the finance tables, the charge page and emails.

The store keeps these as `card_brand` and `card_last4` (named when every payment was a card): for a method that
is not a card, `card_brand` holds Stripe's `payment_method_details.type` ("us_bank_account", "klarna") and
`card_last4` the account's last 4 when it has some (docs.stripe.com/api/charges/object#charge_object-
payment_method_details).
"""

from __future__ import annotations

from typing import Any

from shop.stripe_io import field

# Stripe's names of the methods that are not cards, as people read them.
METHOD_NAMES = {"us_bank_account": "US bank account", "klarna": "Klarna"}
# Methods paid by debiting a bank account: the payment processes for days, and the bank may return it after the
# customer has left (docs.stripe.com/payments/ach-direct-debit).
BANK_DEBITS = frozenset({"us_bank_account"})


def is_card(brand: str | None) -> bool:
    """Whether a payment's method (as `brand_and_last4` names it) is a card, or unknown and so read as one."""
    return brand not in METHOD_NAMES


def is_bank_debit(brand: str | None) -> bool:
    """Whether a payment's method (as `brand_and_last4` names it) is a bank debit."""
    return brand in BANK_DEBITS


def kind(brand: str | None) -> str:
    """The kind of method a payment used, for a mix of methods: "Card" (a card of any brand, or unknown), else
    the method's name ("US bank account", "Klarna")."""
    return "Card" if is_card(brand) else METHOD_NAMES[brand]


def brand_and_last4(charge: Any) -> tuple[str | None, str | None]:
    """The method of a Stripe charge (object or dict) as (brand, last 4): the card's ("visa", "4242"), a token
    charge's card source's, else the method's type and, for a bank account, its last 4; (None, None) unknown."""
    details = field(charge, "payment_method_details")
    card = field(details, "card") or field(charge, "source")
    if card:
        return field(card, "brand"), field(card, "last4")
    kind = field(details, "type")
    if not kind:
        return None, None
    return kind, field(details, kind, "last4")


def label(brand: str | None, last4: str | None) -> str:
    """ "visa •••• 4242", "US bank account •••• 6789", "Klarna"; "" when nothing is known."""
    name = METHOD_NAMES.get(brand or "", brand or "")
    return f"{name} •••• {last4}" if last4 else name


def in_words(brand: str | None, last4: str | None) -> str | None:
    """ "Visa card ending in 4242", "US bank account ending in 6789", "Klarna" for a sentence (a card's brand is a
    name, so capitalised: Stripe sends "visa"); None unknown."""
    if not brand:
        return None
    if is_card(brand):
        return f"{brand.title()} card ending in {last4}" if last4 else None
    name = METHOD_NAMES[brand]
    return f"{name} ending in {last4}" if last4 else name
