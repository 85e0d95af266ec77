"""Products and one-time Prices (docs.stripe.com/api/products, docs.stripe.com/api/prices)."""

from __future__ import annotations

import uuid

import pytest
import stripe


def _key() -> str:
    return f"book-{uuid.uuid4().hex[:12]}"


def test_create_retrieve_update_a_product(stripe_client):
    product = stripe_client.v1.products.create(
        params={"name": "Stubborn Attachments", "description": "Hardcover", "metadata": {"sku": "sa-1"}}
    )
    assert product.id.startswith("prod_")
    assert (product.object, product.name, product.active, product.default_price) == (
        "product",
        "Stubborn Attachments",
        True,
        None,
    )
    assert stripe_client.v1.products.retrieve(product.id).metadata["sku"] == "sa-1"
    updated = stripe_client.v1.products.update(product.id, params={"active": False, "name": "Stubborn Attachments 2"})
    assert (updated.active, updated.name) == (False, "Stubborn Attachments 2")
    listed = stripe_client.v1.products.list(params={"ids": [product.id]})
    assert [item.id for item in listed.data] == [product.id]
    inactive = stripe_client.v1.products.list(params={"active": False, "limit": 100})
    assert product.id in [item.id for item in inactive.data]


def test_a_product_with_its_default_price(stripe_client):
    product = stripe_client.v1.products.create(
        params={"name": "The Dream Machine", "default_price_data": {"currency": "usd", "unit_amount": 2800}}
    )
    assert product.default_price.startswith("price_")
    price = stripe_client.v1.prices.retrieve(product.default_price)
    assert (price.product, price.unit_amount, price.currency, price.type) == (product.id, 2800, "usd", "one_time")
    expanded = stripe_client.v1.products.retrieve(product.id, params={"expand": ["default_price"]})
    assert expanded.default_price.unit_amount == 2800


def test_a_price_for_a_product_and_one_with_product_data(stripe_client):
    product = stripe_client.v1.products.create(params={"name": "Working in Public"})
    price = stripe_client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount": 2400, "metadata": {"edition": "first"}}
    )
    assert (price.object, price.active, price.unit_amount, str(price.unit_amount_decimal)) == (
        "price",
        True,
        2400,
        "2400",
    )
    assert (price.recurring, price.billing_scheme) == (None, "per_unit")
    made = stripe_client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 1500, "product_data": {"name": "The Big Score"}}
    )
    assert stripe_client.v1.products.retrieve(made.product).name == "The Big Score"
    expanded = stripe_client.v1.prices.retrieve(price.id, params={"expand": ["product"]})
    assert expanded.product.name == "Working in Public"
    updated = stripe_client.v1.prices.update(price.id, params={"active": False, "nickname": "old"})
    assert (updated.active, updated.nickname, updated.unit_amount) == (False, "old", 2400)
    by_product = stripe_client.v1.prices.list(params={"product": product.id})
    assert [item.id for item in by_product.data] == [price.id]
    assert stripe_client.v1.prices.list(params={"product": product.id, "active": True}).data == []


def test_lookup_keys_name_one_price_and_move_when_transferred(stripe_client):
    key = _key()
    product = stripe_client.v1.products.create(params={"name": "Poor Charlie's Almanack"})
    first = stripe_client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "unit_amount": 3000, "lookup_key": key}
    )
    found = stripe_client.v1.prices.list(params={"lookup_keys": [key]})
    assert [item.id for item in found.data] == [first.id]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.prices.create(
            params={"product": product.id, "currency": "usd", "unit_amount": 3200, "lookup_key": key}
        )
    assert info.value.param == "lookup_key"
    second = stripe_client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 3200,
            "lookup_key": key,
            "transfer_lookup_key": True,
        }
    )
    assert stripe_client.v1.prices.retrieve(first.id).lookup_key is None
    assert [item.id for item in stripe_client.v1.prices.list(params={"lookup_keys": [key]}).data] == [second.id]


def test_refusals(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.products.create(params={"description": "no name"})
    assert info.value.param == "name"
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.prices.create(params={"product": "prod_doesNotExist0", "currency": "usd", "unit_amount": 100})
    assert info.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.prices.retrieve("price_doesNotExist00000000")
    assert info.value.code == "resource_missing"
