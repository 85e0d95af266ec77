"""Tokens and the cards inside them: `POST /v1/tokens`, Stripe's test tokens, and using a source once."""

from __future__ import annotations

import time
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import params as p
from stripe_emulator.core import Context, new_id
from stripe_emulator.errors import invalid, missing

CARD_PARAMS = {
    "number": (p.string(), True),
    "exp_month": (p.string(), True),
    "exp_year": (p.string(), True),
    "cvc": (p.string(), False),
    "name": (p.string(), False),
    "address_line1": (p.string(), False),
    "address_line2": (p.string(), False),
    "address_city": (p.string(), False),
    "address_state": (p.string(), False),
    "address_zip": (p.string(), False),
    "address_country": (p.string(), False),
    "currency": (p.string(), False),
    "metadata": (p.metadata, False),
    "object": (p.enum("card"), False),
}


def build_card(details: dict[str, Any], now: int, prefix: str = "card") -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate raw card details; return (the card object, private facts: number and whether a CVC was given)."""
    for key in ("number", "exp_month", "exp_year"):
        if details.get(key) is None:
            raise invalid(
                f"Missing required param: {prefix}[{key}].", param=f"{prefix}[{key}]", code="parameter_missing"
            )
    number, month, year = card_facts.validate_card(
        details["number"], details["exp_month"], details["exp_year"], details.get("cvc"), now
    )
    brand = card_facts.brand_of(number)
    behaviour = card_facts.TEST_CARDS.get(number, card_facts.APPROVED)
    cvc_given = bool(details.get("cvc"))
    card = {
        "id": new_id("card_"),
        "object": "card",
        "address_city": details.get("address_city"),
        "address_country": details.get("address_country"),
        "address_line1": details.get("address_line1"),
        "address_line1_check": "unchecked" if details.get("address_line1") else None,
        "address_line2": details.get("address_line2"),
        "address_state": details.get("address_state"),
        "address_zip": details.get("address_zip"),
        "address_zip_check": "unchecked" if details.get("address_zip") else None,
        "brand": card_facts.BRANDS.get(brand, ("Unknown",))[0],
        "country": behaviour.country,
        "customer": None,
        "cvc_check": "unchecked" if cvc_given else None,
        "dynamic_last4": None,
        "exp_month": month,
        "exp_year": year,
        "fingerprint": card_facts.fingerprint(number),
        "funding": behaviour.funding,
        "last4": number[-4:],
        "metadata": {},
        "name": details.get("name"),
        "tokenization_method": None,
        "wallet": None,
    }
    return card, {"number": number, "cvc_given": cvc_given}


def token_object(ctx: Context, card: dict[str, Any], token_id: str | None = None) -> dict[str, Any]:
    """The token object wrapping `card` (a new id unless a test token's own is given)."""
    return {
        "id": token_id or new_id("tok_"),
        "object": "token",
        "card": card,
        "client_ip": ctx.client_ip,
        "created": ctx.now,
        "livemode": False,
        "type": "card",
        "used": False,
    }


def card_of_test_token(ctx: Context, token_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card (and private facts) a reusable test token such as `tok_visa` stands for: expires next year."""
    number = card_facts.TEST_TOKENS[token_id]
    year = time.gmtime(ctx.now).tm_year + 1
    details = {"number": number, "exp_month": "12", "exp_year": str(year)}
    if token_id in card_facts.TOKENS_WITH_CVC:
        details["cvc"] = "123"
    return build_card(details, ctx.now)


def create_token(ctx: Context) -> dict[str, Any]:
    """POST /v1/tokens: a single-use card token."""
    params = p.check(
        ctx.params,
        {
            "card": (lambda value, name: value, False),
            "customer": (p.string(), False),
            "expand": (p.string_list, False),
        },
    )
    if "card" not in params:
        raise invalid(
            "You must supply either a card, customer, PII data, bank account, or account legal entity "
            "to create a token."
        )
    card_param = params["card"]
    if isinstance(card_param, str):
        raise invalid("Invalid hash", param="card")
    card_param = p.check(card_param, CARD_PARAMS, prefix="card")
    card, private = build_card(card_param, ctx.now)
    token = token_object(ctx, card)
    stored = {**token, "_private": private}
    with ctx.store.transaction():
        ctx.store.insert("tokens", stored)
    return token


def retrieve_token(ctx: Context, token_id: str) -> dict[str, Any]:
    """GET /v1/tokens/{id}."""
    p.check(ctx.params, {"expand": (p.string_list, False)})
    if token_id in card_facts.TEST_TOKENS:
        card, _ = card_of_test_token(ctx, token_id)
        return token_object(ctx, card, token_id)
    stored = ctx.store.get("tokens", token_id)
    if stored is None:
        raise missing("token", token_id)
    stored.pop("_private", None)
    return stored


def consume_source(ctx: Context, source: Any, customer: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card a charge or customer uses: test token, one-time token (marked used), saved card or raw details."""
    if isinstance(source, dict):
        details = p.check(source, CARD_PARAMS, prefix="source")
        return build_card(details, ctx.now, prefix="source")
    if source in card_facts.TEST_TOKENS:
        return card_of_test_token(ctx, source)
    if source.startswith("tok_"):
        stored = ctx.store.get("tokens", source)
        if stored is None:
            raise missing("token", source, "source")
        if stored["used"]:
            raise invalid(
                f"You cannot use a Stripe token more than once: {source}.", param="source", code="token_already_used"
            )
        private = stored.pop("_private")
        stored["used"] = True
        ctx.store.update("tokens", {**stored, "_private": private})
        return stored["card"], private
    if source.startswith("card_"):
        stored = ctx.store.get("cards", source)
        # A saved card is usable only together with the customer that owns it.
        if stored is None or customer is None or stored["card"]["customer"] != customer["id"]:
            raise missing("source", source, "source")
        return stored["card"], stored["_private"]
    raise missing("source", source, "source")
