"""Prices: `/v1/prices` — one-time prices: create (with `product_data`), retrieve, update, list.

The object follows docs.stripe.com/api/prices/object. A `lookup_key` names one price at a time: giving a taken one
is refused unless `transfer_lookup_key` moves it (docs.stripe.com/api/prices/create#create_price-lookup_key).
Recurring prices (subscriptions) are not emulated: `recurring` is refused as an unknown parameter.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store as store_module
from stripe_emulator.core import (
    EXPANDABLE,
    Context,
    changes,
    check_currency,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
    retrieve,
    set_given,
    updating,
)
from stripe_emulator.errors import invalid
from stripe_emulator.resources import products

store_module.TABLES.setdefault("prices", ("product", "lookup_key"))
EXPANDABLE[("price", "product")] = "products"

MAX_LOOKUP_KEYS = 10  # docs.stripe.com/api/prices/list#list_prices-lookup_keys: "up to 10 lookup keys"
PRODUCT_DATA = {
    "name": (p.string(250), True),
    "active": (p.boolean, False),
    "metadata": (p.metadata, False),
    "statement_descriptor": (p.string(22), False),
    "tax_code": (p.string(), False),
    "unit_label": (p.string(12), False),
    "id": (p.string(), False),
}
CREATE_PARAMS = {
    "currency": (p.string(), True),
    "unit_amount": (p.integer(minimum=0), False),
    "product": (p.string(), False),
    "product_data": (p.hash_of(PRODUCT_DATA), False),
    "active": (p.boolean, False),
    "lookup_key": (p.string(200), False),
    "transfer_lookup_key": (p.boolean, False),
    "metadata": (p.metadata, False),
    "nickname": (p.string(), False),
    "tax_behavior": (p.enum("exclusive", "inclusive", "unspecified"), False),
    "expand": (p.string_list, False),
}
UPDATE_PARAMS = {
    "active": (p.boolean, False),
    "lookup_key": (p.string(200), False),
    "transfer_lookup_key": (p.boolean, False),
    "metadata": (p.metadata, False),
    "nickname": (p.string(), False),
    "tax_behavior": (p.enum("exclusive", "inclusive", "unspecified"), False),
    "expand": (p.string_list, False),
}


def price_object(ctx: Context, params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A new one-time price for checked parameters naming an existing `product` (an id)."""

    def name(param: str) -> str:
        return f"{prefix}[{param}]" if prefix else param

    currency = check_currency(params["currency"])
    if params.get("unit_amount") is None:
        raise invalid("Missing required param: unit_amount.", param=name("unit_amount"), code="parameter_missing")
    return {
        "id": new_id("price_"),
        "object": "price",
        "active": params.get("active", True),
        "billing_scheme": "per_unit",
        "created": ctx.now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": params.get("lookup_key"),
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "nickname": params.get("nickname"),
        "product": params["product"],
        "recurring": None,
        "tax_behavior": params.get("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": params["unit_amount"],
        "unit_amount_decimal": str(params["unit_amount"]),
    }


def _claim_lookup_key(ctx: Context, price: dict[str, Any], key: str | None, transfer: bool) -> None:
    if key is None:
        return
    holders = ctx.store.select("prices", [("lookup_key = ?", [key])], order_by="lookup_key")
    for holder in holders:
        if holder["id"] == price["id"]:
            continue
        if not transfer:
            raise invalid(
                f"A price (`{holder['id']}`) already uses that lookup key. Pass `transfer_lookup_key=true` to move "
                "it to this price.",
                param="lookup_key",
            )
        before = copy.deepcopy(holder)
        holder["lookup_key"] = None
        ctx.store.update("prices", holder)
        ctx.emit("price.updated", holder, changes(before, holder, ["lookup_key"]))


def save_new(ctx: Context, price: dict[str, Any], transfer_lookup_key: bool = False) -> None:
    """Store a new price (taking its lookup key) and record `price.created`."""
    _claim_lookup_key(ctx, price, price["lookup_key"], transfer_lookup_key)
    ctx.store.insert("prices", price)
    ctx.emit("price.created", price)


def create_price(ctx: Context) -> dict[str, Any]:
    """POST /v1/prices: for `product`, or a new product made from `product_data`."""
    params = p.check(ctx.params, CREATE_PARAMS)
    if bool(params.get("product")) == bool(params.get("product_data")):
        raise invalid("You must specify exactly one of `product` or `product_data`.", param="product")
    with ctx.store.transaction():
        if params.get("product_data"):
            product = products.product_object(ctx, params["product_data"])
            price = price_object(ctx, {**params, "product": product["id"]})
            products.save_new(ctx, product)
        else:
            get_object(ctx, "products", "product", params["product"], "product")
            price = price_object(ctx, params)
        save_new(ctx, price, params.get("transfer_lookup_key", False))
    return expand(ctx, price, params.get("expand", []))


def retrieve_price(ctx: Context, price_id: str) -> dict[str, Any]:
    """GET /v1/prices/{id}."""
    return retrieve(ctx, "prices", "price", price_id)


def update_price(ctx: Context, price_id: str) -> dict[str, Any]:
    """POST /v1/prices/{id}: what Stripe lets change once a price exists (not its amount or currency)."""
    params = p.check(ctx.params, UPDATE_PARAMS)
    with updating(ctx, "prices", "price", price_id) as price:
        set_given(price, params, ("active", "nickname", "tax_behavior"))
        if "lookup_key" in params:
            _claim_lookup_key(ctx, price, params["lookup_key"], params.get("transfer_lookup_key", False))
            price["lookup_key"] = params["lookup_key"]
    return expand(ctx, price, params.get("expand", []))


def list_prices(ctx: Context) -> Any:
    """GET /v1/prices: newest first; `active`, `currency`, `product`, `type`, `lookup_keys[]`, `created`."""
    filters = {
        "active": p.boolean,
        "currency": p.string(),
        "product": p.string(),
        "type": p.enum("one_time", "recurring"),
        "lookup_keys": p.string_list,
    }
    conditions = {
        "active": lambda active: ("json_extract(body, '$.active') = ?", [int(active)]),
        "currency": lambda currency: ("json_extract(body, '$.currency') = ?", [currency.lower()]),
        "lookup_keys": _lookup_keys_condition,
    }
    return list_objects(ctx, "prices", "price", "/v1/prices", filters, ("product",), ("type",), conditions=conditions)


def _lookup_keys_condition(keys: list[str]) -> tuple[str, list[Any]]:
    if len(keys) > MAX_LOOKUP_KEYS:
        raise invalid(f"You may pass at most {MAX_LOOKUP_KEYS} lookup keys.", param="lookup_keys")
    return f"lookup_key IN ({','.join('?' * len(keys))})", list(keys)
