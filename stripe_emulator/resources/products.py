"""Products: `/v1/products` — create (with `default_price_data`), retrieve, update, list.

The object follows docs.stripe.com/api/products/object; a product's one-time prices are resources/prices.py's.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store as store_module
from stripe_emulator.core import (
    EXPANDABLE,
    Context,
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
from stripe_emulator.resources import prices

store_module.TABLES.setdefault("products", ("active",))
EXPANDABLE[("product", "default_price")] = "prices"

PRODUCT_FIELDS = {
    "name": (p.string(250), False),
    "active": (p.boolean, False),
    "description": (p.string(40000), False),
    "metadata": (p.metadata, False),
    "images": (p.string_list, False),
    "shippable": (p.boolean, False),
    "statement_descriptor": (p.string(22), False),
    "tax_code": (p.string(), False),
    "unit_label": (p.string(12), False),
    "url": (p.string(5000), False),
    "expand": (p.string_list, False),
}
# docs.stripe.com/api/products/create#create_product-default_price_data: a one-time price made with the product
DEFAULT_PRICE_DATA = {
    "currency": (p.string(), True),
    "unit_amount": (p.integer(minimum=0), False),
    "metadata": (p.metadata, False),
    "tax_behavior": (p.enum("exclusive", "inclusive", "unspecified"), False),
}
CREATE_PARAMS = {
    **PRODUCT_FIELDS,
    "name": (p.string(250), True),
    "id": (p.string(), False),
    "default_price_data": (p.hash_of(DEFAULT_PRICE_DATA), False),
}
UPDATE_PARAMS = {**PRODUCT_FIELDS, "default_price": (p.string(), False)}
UPDATED_AS_GIVEN = (
    "name", "active", "description", "images", "shippable", "statement_descriptor", "tax_code", "unit_label", "url",
)  # fmt: skip


def product_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """A new product for checked create parameters (also `product_data` of a price)."""
    return {
        "id": params.get("id") or new_id("prod_", 14),
        "object": "product",
        "active": params.get("active", True),
        "created": ctx.now,
        "default_price": None,
        "description": params.get("description"),
        "images": params.get("images") or [],
        "livemode": False,
        "marketing_features": [],
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "name": params["name"],
        "package_dimensions": None,
        "shippable": params.get("shippable"),
        "statement_descriptor": params.get("statement_descriptor"),
        "tax_code": params.get("tax_code"),
        "unit_label": params.get("unit_label"),
        "updated": ctx.now,
        "url": params.get("url"),
    }


def save_new(ctx: Context, product: dict[str, Any]) -> None:
    """Store a new product and record `product.created`; a taken custom id is Stripe's 400."""
    if ctx.store.get("products", product["id"]) is not None:
        raise invalid(f"Product already exists with ID '{product['id']}'.", param="id", code="resource_already_exists")
    ctx.store.insert("products", product)
    ctx.emit("product.created", product)


def create_product(ctx: Context) -> dict[str, Any]:
    """POST /v1/products."""
    params = p.check(ctx.params, CREATE_PARAMS)
    if params["name"] is None:
        raise invalid("Missing required param: name.", param="name", code="parameter_missing")
    product = product_object(ctx, params)
    with ctx.store.transaction():
        save_new(ctx, product)
        if params.get("default_price_data"):
            data = {**params["default_price_data"], "product": product["id"]}
            price = prices.price_object(ctx, data, "default_price_data")
            prices.save_new(ctx, price)
            product["default_price"] = price["id"]
            ctx.store.update("products", product)
    return expand(ctx, product, params.get("expand", []))


def retrieve_product(ctx: Context, product_id: str) -> dict[str, Any]:
    """GET /v1/products/{id}."""
    return retrieve(ctx, "products", "product", product_id)


def update_product(ctx: Context, product_id: str) -> dict[str, Any]:
    """POST /v1/products/{id}: `default_price` must be one of the product's active prices."""
    params = p.check(ctx.params, UPDATE_PARAMS)
    if "images" in params:
        params["images"] = params["images"] or []  # `images=""` empties the list
    with updating(ctx, "products", "product", product_id, stamp="updated") as product:
        set_given(product, params, UPDATED_AS_GIVEN)
        if "default_price" in params:
            if params["default_price"] is not None:
                price = get_object(ctx, "prices", "price", params["default_price"], "default_price")
                if price["product"] != product_id:
                    raise invalid(
                        f"The price {price['id']} does not belong to the product {product_id}.",
                        param="default_price",
                    )
            product["default_price"] = params["default_price"]
    return expand(ctx, product, params.get("expand", []))


def list_products(ctx: Context) -> Any:
    """GET /v1/products: newest first; `active`, `ids[]`, `shippable`, `url` and `created` filters."""
    filters = {"active": p.boolean, "ids": p.string_list, "shippable": p.boolean, "url": p.string()}
    conditions = {
        "active": lambda active: ("active = ?", [int(active)]),
        "ids": lambda ids: (f"id IN ({','.join('?' * len(ids))})", list(ids)),
        "shippable": lambda shippable: ("json_extract(body, '$.shippable') = ?", [int(shippable)]),
    }
    return list_objects(ctx, "products", "product", "/v1/products", filters, (), ("url",), conditions=conditions)
