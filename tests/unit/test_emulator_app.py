"""Emulator-only behaviour in process: the clock, reset, receipts, error shapes, publishable keys."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # Starlette's note about a future httpx package, not about this code
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from starlette.routing import Route

from stripe_emulator.app import create_app
from stripe_emulator.resources import charges

SECRET = {"Authorization": "Bearer sk_test_unit"}
CHARGE = {"amount": "2300", "currency": "usd", "source": "tok_visa"}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_needs_no_key(client):
    response = client.get("/_emulator/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_frozen_clock_dates_charges_and_events(client):
    assert client.post("/_emulator/clock", data={"frozen_time": "1600000000"}, headers=SECRET).status_code == 200
    assert client.get("/_emulator/clock", headers=SECRET).json()["frozen_time"] == 1600000000
    charge = client.post("/v1/charges", data=CHARGE, headers=SECRET).json()
    assert charge["created"] == 1600000000
    events = client.get("/v1/events", headers=SECRET).json()["data"]
    assert [event["created"] for event in events] == [1600000000]

    client.post("/_emulator/clock", json={"frozen_time": None}, headers=SECRET)
    assert client.get("/_emulator/clock", headers=SECRET).json()["frozen_time"] is None
    later = client.post("/v1/charges", data=CHARGE, headers=SECRET).json()
    assert later["created"] > 1600000000
    listed = client.get("/v1/charges", headers=SECRET).json()["data"]
    assert [item["id"] for item in listed] == [later["id"], charge["id"]]


def test_clock_and_reset_need_a_secret_key(client):
    assert client.post("/_emulator/clock", data={"frozen_time": "1"}).status_code == 401
    assert client.post("/_emulator/reset", headers={"Authorization": "Bearer pk_test_x"}).status_code == 401
    assert client.get("/_emulator/clock", headers=SECRET).json()["frozen_time"] is None


def test_bad_frozen_time_is_a_400(client):
    response = client.post("/_emulator/clock", data={"frozen_time": "yesterday"}, headers=SECRET)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "frozen_time"


def test_reset_wipes_everything(client):
    client.post("/v1/charges", data=CHARGE, headers=SECRET)
    client.post("/v1/customers", data={"email": "a@example.com"}, headers=SECRET)
    assert client.post("/_emulator/reset", headers=SECRET).status_code == 200
    for path in ("/v1/charges", "/v1/customers", "/v1/events", "/v1/refunds"):
        assert client.get(path, headers=SECRET).json()["data"] == []


def test_publishable_key_creates_tokens_only(client):
    publishable = {"Authorization": "Bearer pk_test_unit"}
    card = {"card[number]": "4242 4242 4242 4242", "card[exp_month]": "12", "card[exp_year]": "2040"}
    token = client.post("/v1/tokens", data=card, headers=publishable)
    assert token.status_code == 200
    assert token.json()["card"]["last4"] == "4242"
    assert "4242424242424242" not in token.text  # the full number never comes back
    assert client.post("/v1/charges", data=CHARGE, headers=publishable).status_code == 401
    assert client.get(f"/v1/tokens/{token.json()['id']}", headers=publishable).status_code == 401


def test_basic_auth_works_like_bearer(client):
    response = client.get("/v1/charges", auth=("sk_test_unit", ""))
    assert response.status_code == 200


def test_missing_key_is_401_with_stripes_shape(client):
    response = client.get("/v1/charges")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["request-id"].startswith("req_")


def test_an_unexpected_failure_is_a_json_api_error(client, monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(charges, "list_charges", broken)
    # Routes captured the original function: rebuild a client on a fresh app with the broken one.
    with TestClient(
        create_app(client.app.state.emulator.store.path.parent),
        base_url="http://127.0.0.1",
        raise_server_exceptions=False,
    ) as fresh:
        response = fresh.get("/v1/charges", headers=SECRET)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"


def test_receipt_page_shows_the_charge(client):
    charge = client.post("/v1/charges", data={**CHARGE, "description": "Stubborn Attachments"}, headers=SECRET)
    page = client.get(charge.json()["receipt_url"].split("127.0.0.1", 1)[-1])
    assert page.status_code == 200
    assert "$23.00" in page.text
    assert "Stubborn Attachments" in page.text
    assert "4242" in page.text


def test_unknown_route_and_wrong_method_are_json_404(client):
    for response in (client.get("/v1/nothing", headers=SECRET), client.put("/v1/charges", headers=SECRET)):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_json_bodies_are_refused_on_the_api(client):
    response = client.post("/v1/charges", json={"amount": 100}, headers=SECRET)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_stripe_js_style_token_request_with_the_key_in_the_body(client):
    form = {
        "key": "pk_test_unit",
        "card[number]": "5555555555554444",
        "card[exp_month]": "4",
        "card[exp_year]": "40",
        "card[cvc]": "123",
        "payment_user_agent": "stripe.js/v3",
        "time_on_page": "1200",
    }
    token = client.post("/v1/tokens", data=form)
    assert token.status_code == 200
    assert (token.json()["card"]["brand"], token.json()["card"]["exp_year"]) == ("MasterCard", 2040)
    assert client.post("/v1/charges", data={**CHARGE, "key": "pk_test_unit"}).status_code == 401


def test_amex_needs_a_four_digit_cvc(client):
    # The emulator applies Stripe.js's rule (Amex has a 4-digit CVC) at the API as well.
    card = {"card[number]": "378282246310005", "card[exp_month]": "12", "card[exp_year]": "2040"}
    refused = client.post("/v1/tokens", data={**card, "card[cvc]": "123"}, headers=SECRET)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "invalid_cvc"
    accepted = client.post("/v1/tokens", data={**card, "card[cvc]": "1234"}, headers=SECRET)
    assert accepted.json()["card"]["brand"] == "American Express"


def test_every_path_stripe_js_may_call_answers_its_preflight_and_no_other_does(client):
    publishable = {
        route.path
        for route in client.app.routes
        if isinstance(route, Route) and getattr(route.endpoint, "allow_publishable", False)
    }
    assert {"/v1/tokens", "/v1/payment_methods", "/v1/payment_intents/{intent_id}/confirm"} <= publishable
    for path in publishable:
        url = path.replace("{", "").replace("}", "")  # a path parameter's name stands in for its value
        preflight = client.options(url)
        assert (preflight.status_code, preflight.headers["access-control-allow-origin"]) == (204, "*"), path
    assert client.options("/v1/charges").status_code == 404  # secret keys only: no page of another origin calls it
