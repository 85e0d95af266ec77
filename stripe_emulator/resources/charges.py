"""Charges: `/v1/charges` (+ capture) — one charge shape, built by `charge_object`, for every flow."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import money
from stripe_emulator import params as p
from stripe_emulator.core import (
    Context,
    apply_updates,
    changes,
    check_amount,
    check_currency,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
    retrieve,
    shipping_object,
)
from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.resources import balance_transactions, disputes
from stripe_emulator.resources.refunds import refund_object
from stripe_emulator.resources.tokens import consume_source

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


def check_descriptor_suffix(value: str | None, param: str) -> None:
    """Stripe's rule for a statement descriptor suffix: a letter at least, none of < > \\ ' " *."""
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


def _billing_details(card: dict[str, Any]) -> dict[str, Any]:
    return {
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
    }


def charge_object(
    ctx: Context,
    terms: dict[str, Any],
    card: dict[str, Any],
    private: dict[str, Any],
    behaviour: card_facts.Behaviour,
    *,
    payment_intent: str | None = None,
    payment_method: str | None = None,
    billing_details: dict[str, Any] | None = None,
    three_d_secure: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The charge object (Stripe's one shape) for charging `card` on `terms`, approved or declined by `behaviour`.

    `private` is what the emulator knows of the card and Stripe never shows: its number and whether a CVC was given.

    `terms` holds the checked create parameters: amount, currency, capture (default true), customer (an id) and
    optionally description, metadata, receipt_email, shipping, statement_descriptor(_suffix), transfer_group.
    A charge of a PaymentIntent names its `payment_intent` and `payment_method` and has no `source`."""
    failed = behaviour.code is not None
    capture = terms.get("capture", True)
    card = copy.deepcopy(card)
    cvc_given = private["cvc_given"]
    cvc_check = (behaviour.cvc_check or "pass") if cvc_given else None
    line1_check, postal_check = _address_checks(card, behaviour)
    card.update(cvc_check=cvc_check, address_line1_check=line1_check, address_zip_check=postal_check)
    brand = card_facts.brand_of(private["number"])
    charge_id = new_id("ch_")
    suffix = terms.get("statement_descriptor_suffix")
    amount = terms["amount"]
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if (capture and not failed) else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,  # set by record_charge once captured
        "billing_details": billing_details or _billing_details(card),
        "calculated_statement_descriptor": (
            f"{ACCOUNT_DESCRIPTOR}* {suffix}"[:22]
            if suffix
            else terms.get("statement_descriptor") or ACCOUNT_DESCRIPTOR
        ),
        "captured": bool(capture and not failed),
        "created": ctx.now,
        "currency": terms["currency"],
        "customer": terms.get("customer"),
        "description": terms.get("description"),
        "destination": None,
        "dispute": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": behaviour.code,
        "failure_message": behaviour.message,
        "fraud_details": {"stripe_report": "fraudulent"} if behaviour.outcome_type == "blocked" else {},
        "livemode": False,
        "metadata": merge_metadata({}, terms.get("metadata") or {}),
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
        "payment_intent": payment_intent,
        "payment_method": payment_method or card["id"],
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
                "three_d_secure": three_d_secure,
                "wallet": None,
            },
            "type": "card",
        },
        "radar_options": {},
        "receipt_email": terms.get("receipt_email"),
        "receipt_number": None,
        "receipt_url": f"{ctx.base_url}/receipts/{charge_id}",
        "refunded": False,
        "review": None,
        "shipping": shipping_object(terms.get("shipping")),
        "source": None if payment_method else card,
        "source_transfer": None,
        "statement_descriptor": terms.get("statement_descriptor"),
        "statement_descriptor_suffix": suffix,
        "status": "failed" if failed else "succeeded",
        "transfer_data": None,
        "transfer_group": terms.get("transfer_group"),
    }


def record_charge(ctx: Context, charge: dict[str, Any]) -> None:
    """Store a new charge and emit its charge.succeeded or charge.failed event (a captured one gets its balance
    transaction)."""
    if charge["captured"]:
        charge["balance_transaction"] = balance_transactions.for_charge(ctx, charge)
    ctx.store.insert("charges", charge)
    ctx.emit("charge.failed" if charge["status"] == "failed" else "charge.succeeded", charge)
    disputes.open_if_disputed(ctx, charge)


def decline_error(
    behaviour: card_facts.Behaviour, charge_id: str | None, *, param: str | None = None, **extra: Any
) -> StripeError:
    """Stripe's 402 card_error for a declined card (`extra` adds fields such as `payment_intent`).

    `param` defaults to the card field the decline is about (cvc, exp_month), if any."""
    if param is None:
        param = {"incorrect_cvc": "cvc", "expired_card": "exp_month"}.get(behaviour.code or "")
    return StripeError(
        402,
        "card_error",
        behaviour.message or "Your card was declined.",
        code=behaviour.code,
        decline_code=behaviour.decline_code,
        charge=charge_id,
        param=param,
        extra=extra,
    )


def create_charge(ctx: Context) -> tuple[int, dict[str, Any]]:
    """POST /v1/charges: authorize (and by default capture) a card payment; declines are stored too."""
    params = p.check(ctx.params, CHARGE_CREATE)
    currency = check_currency(params["currency"])
    check_amount(params["amount"], currency)
    check_descriptor_suffix(params.get("statement_descriptor_suffix"), "statement_descriptor_suffix")
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
        card, private = consume_source(ctx, source, customer)
        behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
        terms = {**params, "currency": currency, "customer": customer["id"] if customer else None}
        charge = charge_object(ctx, terms, card, private, behaviour)
        record_charge(ctx, charge)
    if charge["status"] == "failed":
        raise decline_error(behaviour, charge["id"])
    return 200, expand(ctx, charge, params.get("expand", []))


def retrieve_charge(ctx: Context, charge_id: str) -> dict[str, Any]:
    """GET /v1/charges/{id}."""
    return retrieve(ctx, "charges", "charge", charge_id)


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
        charge = get_object(ctx, "charges", "charge", charge_id)
        before = copy.deepcopy(charge)
        apply_updates(charge, params, ("description", "receipt_email", "transfer_group"))
        if params.get("fraud_details"):
            charge["fraud_details"] = {**charge["fraud_details"], **params["fraud_details"]}
        if params.get("customer"):
            if charge["customer"] and charge["customer"] != params["customer"]:
                raise invalid("This charge already has a customer.", param="customer")
            if ctx.store.get("customers", params["customer"]) is None:
                raise missing("customer", params["customer"], "customer")
            charge["customer"] = params["customer"]
        previous = changes(before, charge, [*params.keys()])
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
        charge = get_object(ctx, "charges", "charge", charge_id)
        extra = {
            key: params.get(key) for key in ("receipt_email", "statement_descriptor", "statement_descriptor_suffix")
        }
        capture(ctx, charge, params.get("amount", charge["amount"]), extra)
    return expand(ctx, charge, params.get("expand", []))


def capture(ctx: Context, charge: dict[str, Any], amount: int, extra: dict[str, Any] | None = None) -> None:
    """Capture `amount` of an authorized charge in place (the rest is released); store it and emit charge.captured.

    `extra` sets receipt_email / statement descriptors given with the capture."""
    charge_id = charge["id"]
    if charge["status"] == "failed":
        raise invalid(f"Charge {charge_id} has failed and cannot be captured.", param="charge")
    if charge["refunded"]:
        raise invalid(f"Charge {charge_id} has already been refunded.", code="charge_already_refunded", param="charge")
    if charge["captured"]:
        raise invalid(f"Charge {charge_id} has already been captured.", code="charge_already_captured", param="charge")
    if amount > charge["amount"]:
        raise invalid(
            f"You cannot capture more than the authorized amount "
            f"({money.display(charge['amount'], charge['currency'])}).",
            code="amount_too_large",
            param="amount",
        )
    check_amount(amount, charge["currency"])
    check_descriptor_suffix((extra or {}).get("statement_descriptor_suffix"), "statement_descriptor_suffix")
    before = copy.deepcopy(charge)
    charge.update(captured=True, amount_captured=amount)
    charge["balance_transaction"] = balance_transactions.for_charge(ctx, charge)
    for key, value in (extra or {}).items():
        if value is not None:
            charge[key] = value
    released = charge["amount"] - amount
    if released:
        refund = refund_object(ctx, charge, released, None, {}, balance_transaction=None)
        ctx.store.insert("refunds", refund)
        charge["amount_refunded"] = released
    ctx.store.update("charges", charge)
    ctx.emit("charge.captured", charge, changes(before, charge, list(charge)))
    disputes.open_if_disputed(ctx, charge)


def list_charges(ctx: Context) -> dict[str, Any]:
    """GET /v1/charges: newest first, with customer, payment_intent, transfer_group and created filters."""
    filters = {"customer": p.string(), "payment_intent": p.string(), "transfer_group": p.string()}
    return list_objects(
        ctx, "charges", "charge", "/v1/charges", filters, ("customer", "payment_intent"), ("transfer_group",)
    )
