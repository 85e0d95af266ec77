"""Customers: `/v1/customers`, with a saved card as `default_source`."""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import params as p
from stripe_emulator.core import (
    NESTED_EXPANDABLE,
    SPECIAL_EXPANSIONS,
    Context,
    changes,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
)
from stripe_emulator.errors import invalid, missing
from stripe_emulator.resources.charges import decline_error
from stripe_emulator.resources.tokens import consume_source

# docs.stripe.com/api/customers/update#update_customer-invoice_settings
INVOICE_SETTINGS = {
    "default_payment_method": (p.string(), False),
    "footer": (p.string(5000), False),
    "custom_fields": (lambda value, name: value, False),
    "rendering_options": (lambda value, name: value, False),
}
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
    "invoice_settings": (p.hash_of(INVOICE_SETTINGS), False),
    "expand": (p.string_list, False),
}


def _full_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    full = {key: None for key in p.ADDRESS}
    full.update(address)
    return full


def _attach_source(ctx: Context, customer: dict[str, Any], source: str) -> None:
    card, private = consume_source(ctx, source, None)
    behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
    if behaviour.code and behaviour.declines_on_attach:
        raise decline_error(behaviour, None, param="")
    card = {**copy.deepcopy(card), "customer": customer["id"]}
    if private["cvc_given"]:
        card["cvc_check"] = behaviour.cvc_check or "pass"
    ctx.store.insert(
        "cards", {"id": card["id"], "created": ctx.now, "customer": customer["id"], "card": card, "_private": private}
    )
    customer["default_source"] = card["id"]


def _expand_default_source(ctx: Context, customer: dict[str, Any]) -> None:
    # The stored record keeps the card number beside the card object (for later charges); only the card object,
    # as Stripe shows it, may leave the emulator.
    source = customer.get("default_source")
    if isinstance(source, str):
        record = ctx.store.get("cards", source)
        if record is not None:
            customer["default_source"] = copy.deepcopy(record["card"])


SPECIAL_EXPANSIONS[("customer", "default_source")] = _expand_default_source
NESTED_EXPANDABLE[("customer", "invoice_settings.default_payment_method")] = "payment_methods"


def _apply_invoice_settings(ctx: Context, customer: dict[str, Any], settings: dict[str, Any] | None) -> None:
    """`invoice_settings`: its default payment method must be one of the customer's own (Stripe's 400 else)."""
    for key, value in (settings or {}).items():
        if key == "default_payment_method" and value is not None:
            method = ctx.store.get("payment_methods", value)
            if method is None or method.get("customer") != customer["id"]:
                raise invalid(
                    f"No such PaymentMethod: '{value}'; the payment method must be attached to the customer "
                    f"{customer['id']} first.",
                    param="invoice_settings[default_payment_method]",
                    code="resource_missing",
                )
        customer["invoice_settings"][key] = value


def customer_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The customer object for checked create parameters (without its source, attached afterwards)."""
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
        "metadata": merge_metadata({}, params.get("metadata") or {}),
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
    return customer


def create_customer(ctx: Context) -> dict[str, Any]:
    """POST /v1/customers."""
    params = p.check(ctx.params, CUSTOMER_FIELDS)
    customer = customer_object(ctx, params)
    with ctx.store.transaction():
        _apply_invoice_settings(ctx, customer, params.get("invoice_settings"))
        if params.get("source"):
            _attach_source(ctx, customer, params["source"])
        ctx.store.insert("customers", customer)
        ctx.emit("customer.created", customer)
    return expand(ctx, customer, params.get("expand", []))


def retrieve_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    """GET /v1/customers/{id} (a deleted customer answers `deleted: true`, as Stripe)."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    customer = get_object(ctx, "customers", "customer", customer_id)
    if customer.get("deleted"):
        return {"id": customer_id, "object": "customer", "deleted": True}
    return expand(ctx, customer, params.get("expand", []))


def update_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    """POST /v1/customers/{id}."""
    params = p.check(ctx.params, {**CUSTOMER_FIELDS, "default_source": (p.string(), False)})
    with ctx.store.transaction():
        customer = get_object(ctx, "customers", "customer", customer_id)
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
            customer["metadata"] = merge_metadata(customer["metadata"], params["metadata"])
        if "invoice_settings" in params:
            _apply_invoice_settings(ctx, customer, params["invoice_settings"])
        if params.get("source"):
            _attach_source(ctx, customer, params["source"])
        if params.get("default_source"):
            card = ctx.store.get("cards", params["default_source"])
            if card is None or card["customer"] != customer_id:
                raise missing("source", params["default_source"], "default_source")
            customer["default_source"] = params["default_source"]
        previous = changes(before, customer, list(customer))
        if previous:
            ctx.store.update("customers", customer)
            ctx.emit("customer.updated", customer, previous)
    return expand(ctx, customer, params.get("expand", []))


def delete_customer(ctx: Context, customer_id: str) -> dict[str, Any]:
    """DELETE /v1/customers/{id}."""
    p.check(ctx.params, {})
    with ctx.store.transaction():
        customer = get_object(ctx, "customers", "customer", customer_id)
        if customer.get("deleted"):
            raise missing("customer", customer_id)
        ctx.emit("customer.deleted", customer)
        customer["deleted"] = True
        ctx.store.update("customers", customer)
    return {"id": customer_id, "object": "customer", "deleted": True}


def list_customers(ctx: Context) -> dict[str, Any]:
    """GET /v1/customers: newest first, `email` (exact, case-sensitive as Stripe) and `created` filters."""
    not_deleted = [("json_extract(body, '$.deleted') IS NULL", [])]
    return list_objects(
        ctx, "customers", "customer", "/v1/customers", {"email": p.string(512)}, ("email",), where=not_deleted
    )
