"""A Checkout Session's line items: `price` or inline `price_data`, their Price objects and the session's totals.

docs.stripe.com/api/checkout/sessions/create#create_checkout_session-line_items: each item names a stored Price
(`price`) or describes one inline (`price_data` with `currency`, `unit_amount` and `product` or `product_data`),
with a `quantity`. The items are listed by `GET /v1/checkout/sessions/{id}/line_items` as `item` objects
(docs.stripe.com/api/checkout/sessions/line_items), in the order they were given.

The items of a session are kept beside it (table `checkout_session_terms`, one row per session under the
session's id), since a session object carries them only when `line_items` is expanded; so are the terms of the
PaymentIntent it makes when the customer pays (`payment_intent_data`), which no session field shows.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store
from stripe_emulator.core import Context, check_amount, check_currency, list_response, merge_metadata, new_id
from stripe_emulator.errors import invalid, missing
from stripe_emulator.resources import prices  # noqa: F401  (registers the prices and products tables)

TABLE = "checkout_session_terms"
store.TABLES.setdefault(TABLE, ())
MAX_ITEMS = 100  # docs: "up to 100 line items" in payment mode

PRODUCT_DATA = {
    "name": (p.string(250), True),
    "description": (p.string(40000), False),
    "images": (p.string_list, False),
    "metadata": (p.metadata, False),
    "tax_code": (p.string(), False),
    "unit_label": (p.string(12), False),
}
PRICE_DATA = {
    "currency": (p.string(), True),
    "unit_amount": (p.integer(minimum=0), False),
    "product": (p.string(), False),
    "product_data": (p.hash_of(PRODUCT_DATA), False),
    "tax_behavior": (p.enum("exclusive", "inclusive", "unspecified"), False),
    "recurring": (lambda value, name: value, False),
}
LINE_ITEM = {
    "price": (p.string(), False),
    "price_data": (p.hash_of(PRICE_DATA), False),
    "quantity": (p.integer(minimum=1, maximum=999_999), False),
    "metadata": (p.metadata, False),
}


def line_items_param(value: Any, name: str) -> list[dict[str, Any]]:
    """`line_items[0][price]=…&line_items[0][quantity]=1`: a list of checked line-item hashes."""
    if not isinstance(value, list) or not value:
        raise invalid("Invalid array", param=name)
    if len(value) > MAX_ITEMS:
        raise invalid(f"You may only specify up to {MAX_ITEMS} line items.", param=name)
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise invalid("Invalid hash", param=f"{name}[{index}]")
        items.append(p.check(item, LINE_ITEM, prefix=f"{name}[{index}]"))
    return items


def find_price(ctx: Context, price_id: str) -> dict[str, Any] | None:
    """A stored Price by id (`resources/prices.py`), or None."""
    return ctx.store.get("prices", price_id)


def product_name(ctx: Context, price: dict[str, Any]) -> str | None:
    """The name of a price's product (the line item's description), when the product is stored."""
    product = price.get("product")
    if isinstance(product, dict):
        return product.get("name")
    if isinstance(product, str):
        stored = ctx.store.get("products", product)
        return stored.get("name") if stored else None
    return None


def _inline_price(ctx: Context, data: dict[str, Any], param: str) -> tuple[dict[str, Any], str | None]:
    """The inactive Price Stripe makes for `price_data`, and the product's name."""
    currency = check_currency(data["currency"])
    if data.get("recurring"):
        raise invalid(
            "You must be in `subscription` mode to use recurring prices.", param=f"{param}[price_data][recurring]"
        )
    if "unit_amount" not in data:
        raise invalid(
            "Missing required param: unit_amount.", param=f"{param}[price_data][unit_amount]", code="parameter_missing"
        )
    if bool(data.get("product")) == bool(data.get("product_data")):
        raise invalid(
            "You must specify exactly one of `product` or `product_data` in `price_data`.",
            param=f"{param}[price_data]",
        )
    name = (data.get("product_data") or {}).get("name")
    price = {
        "id": new_id("price_"),
        "object": "price",
        "active": False,  # an inline price cannot be reused
        "billing_scheme": "per_unit",
        "created": ctx.now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        # product_data makes a product of its own; it is not stored here (the Products resource is separate)
        "product": data.get("product") or new_id("prod_", 14),
        "recurring": None,
        "tax_behavior": data.get("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": data["unit_amount"],
        "unit_amount_decimal": str(data["unit_amount"]),
    }
    return price, name


def _stored_price(ctx: Context, price_id: str, param: str) -> tuple[dict[str, Any], str | None]:
    price = find_price(ctx, price_id)
    if price is None:
        raise missing("price", price_id, f"{param}[price]")
    if not price.get("active", True):
        raise invalid(
            "The price specified is inactive. This field only accepts active prices.", param=f"{param}[price]"
        )
    if price.get("recurring") or price.get("type") == "recurring":
        raise invalid("You must be in `subscription` mode to use recurring prices.", param=f"{param}[price]")
    if price.get("unit_amount") is None:
        raise invalid("The price specified has no unit_amount.", param=f"{param}[price]")
    return price, product_name(ctx, price)


def build_line_items(ctx: Context, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `item` objects for checked `line_items` parameters, all in one currency."""
    built = []
    for index, item in enumerate(items):
        param = f"line_items[{index}]"
        if bool(item.get("price")) == bool(item.get("price_data")):
            raise invalid("You must specify either `price` or `price_data` in each line item.", param=param)
        if "quantity" not in item:
            raise invalid(
                f"Missing required param: {param}[quantity].", param=f"{param}[quantity]", code="parameter_missing"
            )
        if item.get("price"):
            price, name = _stored_price(ctx, item["price"], param)
        else:
            price, name = _inline_price(ctx, item["price_data"], param)
        amount = price["unit_amount"] * item["quantity"]
        built.append(
            {
                "id": new_id("li_"),
                "object": "item",
                "adjustable_quantity": None,
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price["currency"],
                "description": name,
                "metadata": merge_metadata({}, item.get("metadata") or {}),
                "price": price,
                "quantity": item["quantity"],
            }
        )
    currencies = {item["currency"] for item in built}
    if len(currencies) > 1:
        raise invalid("All line items must have the same currency.", param="line_items")
    return built


def totals(items: list[dict[str, Any]]) -> tuple[str, int]:
    """(currency, amount_total) of the items, checked against the currency's minimum and maximum."""
    currency = items[0]["currency"]
    total = sum(item["amount_total"] for item in items)
    check_amount(total, currency, param="line_items")
    return currency, total


def save(
    ctx: Context, session: dict[str, Any], items: list[dict[str, Any]], payment_intent_data: dict[str, Any]
) -> None:
    """Keep a new session's items and PaymentIntent terms beside it."""
    row = {"id": session["id"], "created": session["created"], "data": items}
    ctx.store.insert(TABLE, {**row, "payment_intent_data": payment_intent_data})


def items_of(ctx: Context, session_id: str) -> list[dict[str, Any]]:
    """A session's items in the order given."""
    row = ctx.store.get(TABLE, session_id)
    return row["data"] if row else []


def payment_intent_data(ctx: Context, session_id: str) -> dict[str, Any]:
    """The `payment_intent_data` a session was created with ({} when none)."""
    row = ctx.store.get(TABLE, session_id)
    return row["payment_intent_data"] if row else {}


def list_page(ctx: Context, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """A page of a session's items: Stripe's cursors over the order they were given (at most 100 items)."""
    items = items_of(ctx, session_id)
    ids = [item["id"] for item in items]
    limit = params.get("limit", 10)
    url = f"/v1/checkout/sessions/{session_id}/line_items"
    if params.get("starting_after"):
        if params["starting_after"] not in ids:
            raise missing("line_item", params["starting_after"], "starting_after")
        start = ids.index(params["starting_after"]) + 1
        page = items[start : start + limit]
        return list_response(url, page, start + limit < len(items))
    if params.get("ending_before"):
        if params["ending_before"] not in ids:
            raise missing("line_item", params["ending_before"], "ending_before")
        end = ids.index(params["ending_before"])
        return list_response(url, items[max(end - limit, 0) : end], end - limit > 0)
    return list_response(url, items[:limit], len(items) > limit)
