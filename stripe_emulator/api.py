"""The Stripe resources: tokens, charges, refunds, customers, events — their rules, shapes and events."""

from __future__ import annotations

import copy
import json
import secrets
import string as _string
import time
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import money
from stripe_emulator import params as p
from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.store import Store

API_VERSION = "2026-10-28.endive"
_ALPHABET = _string.ascii_letters + _string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-like id: prefix + random base62."""
    number = int.from_bytes(secrets.token_bytes(length), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return prefix + "".join(chars)


class Clock:
    """'Now' for every object: real time unless frozen for seeding history."""

    def __init__(self) -> None:
        self.frozen: int | None = None

    def now(self) -> int:
        return self.frozen if self.frozen is not None else int(time.time())


@dataclass
class Context:
    """What a handler needs to know about the request it serves."""

    store: Store
    clock: Clock
    params: dict[str, Any]
    request_id: str
    base_url: str
    client_ip: str | None = None
    idempotency_key: str | None = None
    now: int = 0
    expand: list[str] = field(default_factory=list)

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        """Record Stripe's event for a state change, with the object as it is now (stored serialized at once)."""
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        self.store.insert(
            "events",
            {
                "id": new_id("evt_"),
                "object": "event",
                "api_version": API_VERSION,
                "created": self.now,
                "data": data,
                "livemode": False,
                "pending_webhooks": 0,
                "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
                "type": type_,
            },
        )


def _changes(before: dict[str, Any], after: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """previous_attributes: the old values of the keys that changed (metadata per key, as Stripe)."""
    previous: dict[str, Any] = {}
    for key in keys:
        if before.get(key) == after.get(key):
            continue
        if key == "metadata":
            old, new = before.get(key) or {}, after.get(key) or {}
            previous[key] = {k: old.get(k, "") for k in set(old) | set(new) if old.get(k) != new.get(k)}
        else:
            previous[key] = before.get(key)
    return previous


def _merge_metadata(current: dict[str, str], update: dict[str, str | None]) -> dict[str, str]:
    if update == {}:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _list_response(url: str, objects: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": objects, "has_more": has_more, "url": url}


def _created_where(created: dict[str, int] | None) -> list[tuple[str, list[Any]]]:
    ops = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    return [(f"created {ops[op]} ?", [value]) for op, value in (created or {}).items()]


@dataclass
class RawList:
    """A list page whose objects are still the stored JSON texts: sent as they are, without parsing them."""

    url: str
    bodies: list[str]
    has_more: bool

    def render(self) -> str:
        head = json.dumps({"object": "list", "has_more": self.has_more, "url": self.url})[:-1]
        return head + ', "data": [' + ",".join(self.bodies) + "]}"


def paginate(
    ctx: Context, table: str, kind: str, url: str, where: list[tuple[str, list[Any]]]
) -> dict[str, Any] | RawList:
    """Stripe's cursor pagination over a table, newest first (unparsed when nothing is to be expanded)."""
    limit = ctx.params.get("limit", 10)
    after = before = None
    if ctx.params.get("starting_after"):
        after = ctx.store.position(table, ctx.params["starting_after"])
        if after is None:
            raise missing(kind, ctx.params["starting_after"], "starting_after")
    elif ctx.params.get("ending_before"):
        before = ctx.store.position(table, ctx.params["ending_before"])
        if before is None:
            raise missing(kind, ctx.params["ending_before"], "ending_before")
    raw = not ctx.params.get("expand")
    objects, has_more = ctx.store.page(table, where, limit, after, before, raw=raw)
    return RawList(url, objects, has_more) if raw else _list_response(url, objects, has_more)


# ---------------------------------------------------------------- expansion


def expand(ctx: Context, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Replace ids by objects for the requested `expand[]` paths that this emulator can expand."""
    if not paths:
        return obj
    for path in paths:
        head, _, rest = path.partition(".")
        if obj.get("object") == "list" and head == "data":
            for item in obj["data"]:
                expand(ctx, item, [rest])
            continue
        value = obj.get(head)
        if head == "customer" and obj.get("object") in ("charge", "card"):
            if isinstance(value, str):
                obj[head] = ctx.store.get("customers", value) or value
        elif head == "charge" and obj.get("object") == "refund":
            if isinstance(value, str):
                obj[head] = ctx.store.get("charges", value) or value
        elif head == "refunds" and obj.get("object") == "charge":
            objects, has_more = ctx.store.page("refunds", [("charge = ?", [obj["id"]])], 100)
            obj[head] = _list_response(f"/v1/charges/{obj['id']}/refunds", objects, has_more)
        elif head == "default_source" and obj.get("object") == "customer":
            if isinstance(value, str):
                obj[head] = ctx.store.get("cards", value) or value
        elif head == "source" and obj.get("object") == "charge":
            pass  # already an object
        else:
            raise invalid(f"This property cannot be expanded ({path}).", param="expand")
        if rest and isinstance(obj.get(head), dict):
            expand(ctx, obj[head], [rest])
    return obj


# ---------------------------------------------------------------- tokens and cards

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


def _token_object(ctx: Context, card: dict[str, Any], token_id: str | None = None) -> dict[str, Any]:
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


def _test_token_card(ctx: Context, token_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
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
    token = _token_object(ctx, card)
    stored = {**token, "_private": private}
    with ctx.store.transaction():
        ctx.store.insert("tokens", stored)
    return token


def retrieve_token(ctx: Context, token_id: str) -> dict[str, Any]:
    """GET /v1/tokens/{id}."""
    p.check(ctx.params, {"expand": (p.string_list, False)})
    if token_id in card_facts.TEST_TOKENS:
        card, _ = _test_token_card(ctx, token_id)
        return _token_object(ctx, card, token_id)
    stored = ctx.store.get("tokens", token_id)
    if stored is None:
        raise missing("token", token_id)
    stored.pop("_private", None)
    return stored


def _consume_source(
    ctx: Context, source: Any, customer: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card a charge or customer uses: test token, one-time token (marked used), saved card or raw details."""
    if isinstance(source, dict):
        details = p.check(source, CARD_PARAMS, prefix="source")
        return build_card(details, ctx.now, prefix="source")
    if source in card_facts.TEST_TOKENS:
        return _test_token_card(ctx, source)
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


# ---------------------------------------------------------------- charges

CHARGE_CREATE = {
    "amount": (p.integer(), True),
    "currency": (p.string(), True),
    "source": (lambda value, name: value, False),
    "customer": (p.string(), False),
    "capture": (p.boolean, False),
    "description": (p.string(40000), False),
    "receipt_email": (p.email, False),
    "shipping": (p.hash_of(p.SHIPPING), False),
    "metadata": (p.metadata, False),
    "statement_descriptor": (p.string(22), False),
    "statement_descriptor_suffix": (p.string(22), False),
    "transfer_group": (p.string(), False),
    "expand": (p.string_list, False),
}
ACCOUNT_DESCRIPTOR = "EMULATOR"


def _check_amount(amount: int, currency: str, param: str = "amount") -> None:
    minimum = money.MINIMUM.get(currency, 1)
    if amount < 1:
        raise invalid(f"Invalid positive integer: {amount}", param=param)
    if amount < minimum:
        raise invalid(
            f"Amount must be at least {money.display(minimum, currency)} {currency}",
            param=param,
            code="amount_too_small",
        )
    if amount > money.MAXIMUM:
        raise invalid(
            f"Amount must be no more than {money.display(money.MAXIMUM, currency)}",
            param=param,
            code="amount_too_large",
        )


def _check_currency(value: str | None) -> str:
    currency = (value or "").lower()
    if currency not in money.SUPPORTED:
        raise invalid(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(money.SUPPORTED)),
            param="currency",
        )
    return currency


def _check_descriptor_suffix(value: str | None, param: str) -> None:
    if value is None:
        return
    if any(char in value for char in "<>\\'\"*") or not any(char.isalpha() for char in value):
        raise invalid(
            "The statement descriptor suffix must contain at least one letter and none of < > \\ ' \" *.",
            param=param,
        )


def _address_checks(card: dict[str, Any], behaviour: card_facts.Behaviour) -> tuple[str | None, str | None]:
    line1 = behaviour.address_line1_check or ("pass" if card.get("address_line1") else None)
    postal = behaviour.address_zip_check or ("pass" if card.get("address_zip") else None)
    return line1, postal


def create_charge(ctx: Context) -> tuple[int, dict[str, Any]]:
    """POST /v1/charges: authorize (and by default capture) a card payment; declines are stored too."""
    params = p.check(ctx.params, CHARGE_CREATE)
    currency = _check_currency(params["currency"])
    _check_amount(params["amount"], currency)
    _check_descriptor_suffix(params.get("statement_descriptor_suffix"), "statement_descriptor_suffix")
    customer = None
    if params.get("customer"):
        customer = ctx.store.get("customers", params["customer"])
        if customer is None or customer.get("deleted"):
            raise missing("customer", params["customer"], "customer")
    source = params.get("source")
    if source is None:
        if customer is None:
            raise invalid("Must provide source or customer.", code="parameter_missing")
        if not customer.get("default_source"):
            raise StripeError(
                402, "card_error", "Cannot charge a customer that has no active card", code="missing", param="card"
            )
        source = customer["default_source"]
    elif not isinstance(source, (str, dict)):
        raise invalid("Invalid source", param="source")

    with ctx.store.transaction():
        card, private = _consume_source(ctx, source, customer)
        card = copy.deepcopy(card)
        behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
        failed = behaviour.code is not None
        capture = params.get("capture", True)
        cvc_check = (behaviour.cvc_check or "pass") if private["cvc_given"] else None
        line1_check, postal_check = _address_checks(card, behaviour)
        card.update(cvc_check=cvc_check, address_line1_check=line1_check, address_zip_check=postal_check)
        brand = card_facts.brand_of(private["number"])
        charge_id = new_id("ch_")
        suffix = params.get("statement_descriptor_suffix")
        amount = params["amount"]
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount if (capture and not failed) else 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": new_id("txn_") if (capture and not failed) else None,
            "billing_details": {
                "address": {
                    "city": card.get("address_city"),
                    "country": card.get("address_country"),
                    "line1": card.get("address_line1"),
                    "line2": card.get("address_line2"),
                    "postal_code": card.get("address_zip"),
                    "state": card.get("address_state"),
                },
                "email": None,
                "name": card.get("name"),
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": (
                f"{ACCOUNT_DESCRIPTOR}* {suffix}"[:22]
                if suffix
                else params.get("statement_descriptor") or ACCOUNT_DESCRIPTOR
            ),
            "captured": bool(capture and not failed),
            "created": ctx.now,
            "currency": currency,
            "customer": customer["id"] if customer else None,
            "description": params.get("description"),
            "destination": None,
            "dispute": None,
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": behaviour.code,
            "failure_message": behaviour.message,
            "fraud_details": {"stripe_report": "fraudulent"} if behaviour.outcome_type == "blocked" else {},
            "livemode": False,
            "metadata": _merge_metadata({}, params.get("metadata") or {}),
            "on_behalf_of": None,
            "order": None,
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": behaviour.network_status,
                "reason": behaviour.reason,
                "risk_level": behaviour.risk_level,
                "risk_score": {"normal": 20, "elevated": 70, "highest": 95}[behaviour.risk_level],
                "seller_message": behaviour.seller_message,
                "type": behaviour.outcome_type,
            },
            "paid": not failed,
            "payment_intent": None,
            "payment_method": card["id"],
            "payment_method_details": {
                "card": {
                    "amount_authorized": None if failed else amount,
                    "authorization_code": None if failed else f"{secrets.randbelow(10**6):06d}",
                    "brand": brand,
                    "checks": {
                        "address_line1_check": line1_check,
                        "address_postal_code_check": postal_check,
                        "cvc_check": cvc_check,
                    },
                    "country": card["country"],
                    "exp_month": card["exp_month"],
                    "exp_year": card["exp_year"],
                    "extended_authorization": {"status": "disabled"},
                    "fingerprint": card["fingerprint"],
                    "funding": card["funding"],
                    "incremental_authorization": {"status": "unavailable"},
                    "installments": None,
                    "last4": card["last4"],
                    "mandate": None,
                    "multicapture": {"status": "unavailable"},
                    "network": brand if brand != "unknown" else None,
                    "network_token": {"used": False},
                    "network_transaction_id": None if failed else new_id("", 15).upper(),
                    "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                    "regulated_status": "unregulated",
                    "three_d_secure": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "radar_options": {},
            "receipt_email": params.get("receipt_email"),
            "receipt_number": None,
            "receipt_url": f"{ctx.base_url}/receipts/{charge_id}",
            "refunded": False,
            "review": None,
            "shipping": _shipping(params.get("shipping")),
            "source": card,
            "source_transfer": None,
            "statement_descriptor": params.get("statement_descriptor"),
            "statement_descriptor_suffix": suffix,
            "status": "failed" if failed else "succeeded",
            "transfer_data": None,
            "transfer_group": params.get("transfer_group"),
        }
        ctx.store.insert("charges", charge)
        ctx.emit("charge.failed" if failed else "charge.succeeded", charge)
    if failed:
        raise StripeError(
            402,
            "card_error",
            behaviour.message or "Your card was declined.",
            code=behaviour.code,
            decline_code=behaviour.decline_code,
            charge=charge_id,
            param="cvc"
            if behaviour.code == "incorrect_cvc"
            else ("exp_month" if behaviour.code == "expired_card" else None),
        )
    return 200, expand(ctx, charge, params.get("expand", []))


def _shipping(shipping: dict[str, Any] | None) -> dict[str, Any] | None:
    if shipping is None:
        return None
    address = {key: None for key in p.ADDRESS}
    address.update(shipping.get("address") or {})
    return {
        "address": address,
        "carrier": shipping.get("carrier"),
        "name": shipping.get("name"),
        "phone": shipping.get("phone"),
        "tracking_number": shipping.get("tracking_number"),
    }


def _get_charge(ctx: Context, charge_id: str, param: str = "id") -> dict[str, Any]:
    charge = ctx.store.get("charges", charge_id)
    if charge is None:
        raise missing("charge", charge_id, param)
    return charge


def retrieve_charge(ctx: Context, charge_id: str) -> dict[str, Any]:
    """GET /v1/charges/{id}."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    return expand(ctx, _get_charge(ctx, charge_id), params.get("expand", []))


def update_charge(ctx: Context, charge_id: str) -> dict[str, Any]:
    """POST /v1/charges/{id}: description, metadata, receipt_email, shipping and a few more."""
    params = p.check(
        ctx.params,
        {
            "description": (p.string(40000), False),
            "metadata": (p.metadata, False),
            "receipt_email": (p.email, False),
            "shipping": (p.hash_of(p.SHIPPING), False),
            "customer": (p.string(), False),
            "fraud_details": (p.hash_of({"user_report": (p.enum("fraudulent", "safe"), True)}), False),
            "transfer_group": (p.string(), False),
            "expand": (p.string_list, False),
        },
    )
    with ctx.store.transaction():
        charge = _get_charge(ctx, charge_id)
        before = copy.deepcopy(charge)
        for key in ("description", "receipt_email", "transfer_group"):
            if key in params:
                charge[key] = params[key]
        if "shipping" in params:
            charge["shipping"] = _shipping(params["shipping"])
        if "metadata" in params:
            charge["metadata"] = _merge_metadata(charge["metadata"], params["metadata"])
        if params.get("fraud_details"):
            charge["fraud_details"] = {**charge["fraud_details"], **params["fraud_details"]}
        if params.get("customer"):
            if charge["customer"] and charge["customer"] != params["customer"]:
                raise invalid("This charge already has a customer.", param="customer")
            if ctx.store.get("customers", params["customer"]) is None:
                raise missing("customer", params["customer"], "customer")
            charge["customer"] = params["customer"]
        previous = _changes(before, charge, [*params.keys()])
        previous.pop("expand", None)
        if previous:
            ctx.store.update("charges", charge)
            ctx.emit("charge.updated", charge, previous)
    return expand(ctx, charge, params.get("expand", []))


def capture_charge(ctx: Context, charge_id: str) -> dict[str, Any]:
    """POST /v1/charges/{id}/capture: capture an authorization, optionally for less (the rest is released)."""
    params = p.check(
        ctx.params,
        {
            "amount": (p.integer(), False),
            "receipt_email": (p.email, False),
            "statement_descriptor": (p.string(22), False),
            "statement_descriptor_suffix": (p.string(22), False),
            "expand": (p.string_list, False),
        },
    )
    with ctx.store.transaction():
        charge = _get_charge(ctx, charge_id)
        if charge["status"] == "failed":
            raise invalid(f"Charge {charge_id} has failed and cannot be captured.", param="charge")
        if charge["refunded"]:
            raise invalid(
                f"Charge {charge_id} has already been refunded.", code="charge_already_refunded", param="charge"
            )
        if charge["captured"]:
            raise invalid(
                f"Charge {charge_id} has already been captured.", code="charge_already_captured", param="charge"
            )
        amount = params.get("amount", charge["amount"])
        if amount > charge["amount"]:
            raise invalid(
                f"You cannot capture more than the authorized amount "
                f"({money.display(charge['amount'], charge['currency'])}).",
                code="amount_too_large",
                param="amount",
            )
        _check_amount(amount, charge["currency"])
        _check_descriptor_suffix(params.get("statement_descriptor_suffix"), "statement_descriptor_suffix")
        before = copy.deepcopy(charge)
        charge.update(
            captured=True,
            amount_captured=amount,
            balance_transaction=new_id("txn_"),
        )
        for key in ("receipt_email", "statement_descriptor", "statement_descriptor_suffix"):
            if params.get(key) is not None:
                charge[key] = params[key]
        released = charge["amount"] - amount
        if released:
            refund = _refund_object(ctx, charge, released, None, {}, balance_transaction=None)
            ctx.store.insert("refunds", refund)
            charge["amount_refunded"] = released
        ctx.store.update("charges", charge)
        ctx.emit("charge.captured", charge, _changes(before, charge, list(charge)))
    return expand(ctx, charge, params.get("expand", []))


def list_charges(ctx: Context) -> dict[str, Any]:
    """GET /v1/charges: newest first, with customer, payment_intent, transfer_group and created filters."""
    ctx.params = p.check(
        ctx.params,
        {
            **p.PAGINATION,
            "created": (p.created_filter, False),
            "customer": (p.string(), False),
            "payment_intent": (p.string(), False),
            "transfer_group": (p.string(), False),
        },
    )
    where = _created_where(ctx.params.get("created"))
    for key in ("customer", "payment_intent"):
        if ctx.params.get(key):
            where.append((f"{key} = ?", [ctx.params[key]]))
    if ctx.params.get("transfer_group"):
        where.append(("json_extract(body, '$.transfer_group') = ?", [ctx.params["transfer_group"]]))
    result = paginate(ctx, "charges", "charge", "/v1/charges", where)
    return expand(ctx, result, ctx.params.get("expand", []))


# ---------------------------------------------------------------- refunds


def _refund_object(
    ctx: Context,
    charge: dict[str, Any],
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
    balance_transaction: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge["id"],
        "created": ctx.now,
        "currency": charge["currency"],
        "destination_details": {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def create_refund(ctx: Context) -> dict[str, Any]:
    """POST /v1/refunds: refund what was captured (never more), or release an uncaptured charge."""
    params = p.check(
        ctx.params,
        {
            "charge": (p.string(), False),
            "payment_intent": (p.string(), False),
            "amount": (p.integer(minimum=1), False),
            "reason": (p.enum("duplicate", "fraudulent", "requested_by_customer"), False),
            "metadata": (p.metadata, False),
            "instructions_email": (p.email, False),
            "expand": (p.string_list, False),
        },
    )
    if not params.get("charge") and not params.get("payment_intent"):
        raise invalid("One of the following params should be provided for this request: charge or payment_intent.")
    with ctx.store.transaction():
        if params.get("charge"):
            charge = _get_charge(ctx, params["charge"], "charge")
        else:
            raise missing("payment_intent", params["payment_intent"], "payment_intent")
        charge_id = charge["id"]
        if charge["status"] == "failed":
            raise invalid(
                f"Charge {charge_id} has failed; there is nothing to refund.",
                param="charge",
                code="charge_not_refundable",
            )
        if charge["refunded"]:
            raise invalid(
                f"Charge {charge_id} has already been refunded.", code="charge_already_refunded", param="charge"
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = params.get("amount", remaining)
        if not charge["captured"] and amount != charge["amount"]:
            raise invalid(
                "You cannot partially refund an uncaptured charge. Instead, capture the charge for an amount "
                "less than the original amount",
                param="amount",
            )
        if amount > remaining:
            raise invalid(
                f"Refund amount ({money.display(amount, charge['currency'])}) is greater than unrefunded amount "
                f"on charge ({money.display(remaining, charge['currency'])})",
                param="amount",
                code="amount_too_large",
            )
        refund = _refund_object(
            ctx,
            charge,
            amount,
            params.get("reason"),
            _merge_metadata({}, params.get("metadata") or {}),
            balance_transaction=new_id("txn_") if charge["captured"] else None,
        )
        before = copy.deepcopy(charge)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        if params.get("reason") == "fraudulent":
            charge["fraud_details"] = {**charge["fraud_details"], "user_report": "fraudulent"}
        ctx.store.insert("refunds", refund)
        ctx.store.update("charges", charge)
        ctx.emit("refund.created", refund)
        ctx.emit("charge.refunded", charge, _changes(before, charge, ["amount_refunded", "refunded", "fraud_details"]))
    return expand(ctx, refund, params.get("expand", []))


def retrieve_refund(ctx: Context, refund_id: str) -> dict[str, Any]:
    """GET /v1/refunds/{id}."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    refund = ctx.store.get("refunds", refund_id)
    if refund is None:
        raise missing("refund", refund_id)
    return expand(ctx, refund, params.get("expand", []))


def update_refund(ctx: Context, refund_id: str) -> dict[str, Any]:
    """POST /v1/refunds/{id}: metadata."""
    params = p.check(ctx.params, {"metadata": (p.metadata, False), "expand": (p.string_list, False)})
    with ctx.store.transaction():
        refund = ctx.store.get("refunds", refund_id)
        if refund is None:
            raise missing("refund", refund_id)
        before = copy.deepcopy(refund)
        if "metadata" in params:
            refund["metadata"] = _merge_metadata(refund["metadata"], params["metadata"])
        previous = _changes(before, refund, ["metadata"])
        if previous:
            ctx.store.update("refunds", refund)
            ctx.emit("refund.updated", refund, previous)
            ctx.emit("charge.refund.updated", refund, previous)
    return expand(ctx, refund, params.get("expand", []))


def list_refunds(ctx: Context) -> dict[str, Any]:
    """GET /v1/refunds: newest first, charge / payment_intent / created filters."""
    ctx.params = p.check(
        ctx.params,
        {
            **p.PAGINATION,
            "charge": (p.string(), False),
            "payment_intent": (p.string(), False),
            "created": (p.created_filter, False),
        },
    )
    where = _created_where(ctx.params.get("created"))
    for key in ("charge", "payment_intent"):
        if ctx.params.get(key):
            where.append((f"{key} = ?", [ctx.params[key]]))
    return expand(ctx, paginate(ctx, "refunds", "refund", "/v1/refunds", where), ctx.params.get("expand", []))


# ---------------------------------------------------------------- customers

CUSTOMER_FIELDS = {
    "email": (p.email, False),
    "name": (p.string(256), False),
    "phone": (p.string(20), False),
    "description": (p.string(350), False),
    "metadata": (p.metadata, False),
    "address": (p.hash_of(p.ADDRESS), False),
    "shipping": (p.hash_of(p.CUSTOMER_SHIPPING), False),
    "source": (p.string(), False),
    "preferred_locales": (p.string_list, False),
    "expand": (p.string_list, False),
}


def _full_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    full = {key: None for key in p.ADDRESS}
    full.update(address)
    return full


def _attach_source(ctx: Context, customer: dict[str, Any], source: str) -> None:
    card, private = _consume_source(ctx, source, None)
    behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
    if behaviour.code and behaviour.declines_on_attach:
        raise StripeError(
            402,
            "card_error",
            behaviour.message or "Your card was declined.",
            code=behaviour.code,
            decline_code=behaviour.decline_code,
            param="",
        )
    card = {**copy.deepcopy(card), "customer": customer["id"]}
    if private["cvc_given"]:
        card["cvc_check"] = behaviour.cvc_check or "pass"
    ctx.store.insert(
        "cards", {"id": card["id"], "created": ctx.now, "customer": customer["id"], "card": card, "_private": private}
    )
    customer["default_source"] = card["id"]


def create_customer(ctx: Context) -> dict[str, Any]:
    """POST /v1/customers."""
    params = p.check(ctx.params, CUSTOMER_FIELDS)
    customer = {
        "id": new_id("cus_", 14),
        "object": "customer",
        "address": _full_address(params.get("address")),
        "balance": 0,
        "created": ctx.now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": params.get("description"),
        "discount": None,
        "email": params.get("email"),
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": _merge_metadata({}, params.get("metadata") or {}),
        "name": params.get("name"),
        "next_invoice_sequence": 1,
        "phone": params.get("phone"),
        "preferred_locales": params.get("preferred_locales") or [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    if params.get("shipping"):
        customer["shipping"] = {**params["shipping"], "address": _full_address(params["shipping"]["address"])}
        customer["shipping"].setdefault("phone", None)
    with ctx.store.transaction():
        if params.get("source"):
            _attach_source(ctx, customer, params["source"])
        ctx.store.insert("customers", customer)
        ctx.emit("customer.created", customer)
    return expand(ctx, customer, params.get("expand", []))


def _get_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    customer = ctx.store.get("customers", customer_id)
    if customer is None:
        raise missing("customer", customer_id)
    return customer


def retrieve_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    """GET /v1/customers/{id} (a deleted customer answers `deleted: true`, as Stripe)."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    customer = _get_customer(ctx, customer_id)
    if customer.get("deleted"):
        return {"id": customer_id, "object": "customer", "deleted": True}
    return expand(ctx, customer, params.get("expand", []))


def update_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    """POST /v1/customers/{id}."""
    params = p.check(ctx.params, {**CUSTOMER_FIELDS, "default_source": (p.string(), False)})
    with ctx.store.transaction():
        customer = _get_customer(ctx, customer_id)
        if customer.get("deleted"):
            raise invalid(f"No such customer: '{customer_id}'", code="resource_missing", param="id")
        before = copy.deepcopy(customer)
        for key in ("email", "name", "phone", "description"):
            if key in params:
                customer[key] = params[key]
        if "preferred_locales" in params:
            customer["preferred_locales"] = params["preferred_locales"]
        if "address" in params:
            customer["address"] = _full_address(params["address"])
        if "shipping" in params:
            shipping = params["shipping"]
            customer["shipping"] = (
                None if shipping is None else {"phone": None, **shipping, "address": _full_address(shipping["address"])}
            )
        if "metadata" in params:
            customer["metadata"] = _merge_metadata(customer["metadata"], params["metadata"])
        if params.get("source"):
            _attach_source(ctx, customer, params["source"])
        if params.get("default_source"):
            card = ctx.store.get("cards", params["default_source"])
            if card is None or card["customer"] != customer_id:
                raise missing("source", params["default_source"], "default_source")
            customer["default_source"] = params["default_source"]
        previous = _changes(before, customer, list(customer))
        if previous:
            ctx.store.update("customers", customer)
            ctx.emit("customer.updated", customer, previous)
    return expand(ctx, customer, params.get("expand", []))


def delete_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    """DELETE /v1/customers/{id}."""
    p.check(ctx.params, {})
    with ctx.store.transaction():
        customer = _get_customer(ctx, customer_id)
        if customer.get("deleted"):
            raise missing("customer", customer_id)
        ctx.emit("customer.deleted", customer)
        customer["deleted"] = True
        ctx.store.update("customers", customer)
    return {"id": customer_id, "object": "customer", "deleted": True}


def list_customers(ctx: Context) -> dict[str, Any]:
    """GET /v1/customers: newest first, `email` (exact, case-sensitive as Stripe) and `created` filters."""
    ctx.params = p.check(
        ctx.params, {**p.PAGINATION, "email": (p.string(512), False), "created": (p.created_filter, False)}
    )
    where = _created_where(ctx.params.get("created"))
    where.append(("json_extract(body, '$.deleted') IS NULL", []))
    if ctx.params.get("email"):
        where.append(("email = ?", [ctx.params["email"]]))
    return expand(ctx, paginate(ctx, "customers", "customer", "/v1/customers", where), ctx.params.get("expand", []))


# ---------------------------------------------------------------- events


def list_events(ctx: Context) -> dict[str, Any]:
    """GET /v1/events: newest first; `type` (with `*` wildcards), `types[]`, `created` filters."""
    ctx.params = p.check(
        ctx.params,
        {
            **p.PAGINATION,
            "type": (p.string(), False),
            "types": (p.string_list, False),
            "created": (p.created_filter, False),
            "delivery_success": (p.boolean, False),
        },
    )
    if ctx.params.get("type") and ctx.params.get("types"):
        raise invalid("You may only specify one of these parameters: type, types.", param="types")
    where = _created_where(ctx.params.get("created"))
    if ctx.params.get("type"):
        pattern = ctx.params["type"]
        if "*" in pattern:
            where.append(("type GLOB ?", [pattern]))
        else:
            where.append(("type = ?", [pattern]))
    if ctx.params.get("types"):
        types = ctx.params["types"]
        if len(types) > 20:
            raise invalid("You may pass at most 20 types.", param="types")
        where.append((f"type IN ({', '.join('?' * len(types))})", types))
    return paginate(ctx, "events", "event", "/v1/events", where)


def retrieve_event(ctx: Context, event_id: str) -> dict[str, Any]:
    """GET /v1/events/{id}."""
    p.check(ctx.params, {"expand": (p.string_list, False)})
    event = ctx.store.get("events", event_id)
    if event is None:
        raise missing("event", event_id)
    return event
