"""Products and prices in process: the list filters and updates their contract tests do not reach."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # Starlette's note about a future httpx package, not about this code
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stripe_emulator.app import create_app

SECRET = {"Authorization": "Bearer sk_test_unit"}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["data"]]


def events(client, kind: str) -> list[dict]:
    return [event for event in client.get("/v1/events", headers=SECRET).json()["data"] if event["type"] == kind]


def test_products_filter_by_shippable_and_url(client):
    book = client.post(
        "/v1/products", data={"name": "Book", "shippable": "true", "url": "https://a.test"}, headers=SECRET
    )
    ebook = client.post("/v1/products", data={"name": "E-book", "shippable": "false"}, headers=SECRET)
    book_id, ebook_id = book.json()["id"], ebook.json()["id"]
    assert ids(client.get("/v1/products?shippable=false", headers=SECRET)) == [ebook_id]
    assert ids(client.get("/v1/products?shippable=true", headers=SECRET)) == [book_id]
    assert ids(client.get("/v1/products?url=https://a.test", headers=SECRET)) == [book_id]
    assert ids(client.get("/v1/products?ids[]=" + ebook_id, headers=SECRET)) == [ebook_id]


def test_a_product_update_stamps_updated_and_records_an_event_only_when_something_changed(client):
    created = client.post("/v1/products", data={"name": "Book", "images[]": "https://a.test/1.png"}, headers=SECRET)
    product = created.json()
    client.post("/_emulator/clock", data={"frozen_time": str(product["created"] + 100)}, headers=SECRET)
    same = client.post(f"/v1/products/{product['id']}", data={"name": "Book"}, headers=SECRET).json()
    assert same["updated"] == product["updated"]
    assert events(client, "product.updated") == []
    changed = client.post(
        f"/v1/products/{product['id']}", data={"images": "", "metadata[shelf]": "B2"}, headers=SECRET
    ).json()
    assert (changed["images"], changed["metadata"], changed["updated"]) == (
        [],
        {"shelf": "B2"},
        product["created"] + 100,
    )
    [event] = events(client, "product.updated")
    assert event["data"]["previous_attributes"] == {"images": ["https://a.test/1.png"], "metadata": {"shelf": ""}}


def test_a_refused_product_update_changes_nothing(client):
    product = client.post("/v1/products", data={"name": "Book"}, headers=SECRET).json()
    other = client.post("/v1/products", data={"name": "Other"}, headers=SECRET).json()
    price = client.post(
        "/v1/prices", data={"currency": "usd", "unit_amount": "100", "product": other["id"]}, headers=SECRET
    )
    refused = client.post(
        f"/v1/products/{product['id']}", data={"name": "Renamed", "default_price": price.json()["id"]}, headers=SECRET
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "default_price"
    assert client.get(f"/v1/products/{product['id']}", headers=SECRET).json()["name"] == "Book"


def test_prices_filter_by_currency_in_any_case_and_inactive(client):
    product = client.post("/v1/products", data={"name": "Book"}, headers=SECRET).json()["id"]
    usd = client.post("/v1/prices", data={"currency": "usd", "unit_amount": "100", "product": product}, headers=SECRET)
    eur = client.post("/v1/prices", data={"currency": "eur", "unit_amount": "90", "product": product}, headers=SECRET)
    eur_id = eur.json()["id"]
    assert ids(client.get("/v1/prices?currency=EUR", headers=SECRET)) == [eur_id]
    client.post(f"/v1/prices/{eur_id}", data={"active": "false", "nickname": "old"}, headers=SECRET)
    assert ids(client.get("/v1/prices?active=false", headers=SECRET)) == [eur_id]
    assert ids(client.get("/v1/prices?active=true", headers=SECRET)) == [usd.json()["id"]]
    [event] = events(client, "price.updated")
    assert event["data"]["previous_attributes"] == {"active": True, "nickname": None}


def test_more_than_ten_lookup_keys_are_refused(client):
    query = "&".join(f"lookup_keys[]=key{n}" for n in range(11))
    refused = client.get(f"/v1/prices?{query}", headers=SECRET)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "lookup_keys"
