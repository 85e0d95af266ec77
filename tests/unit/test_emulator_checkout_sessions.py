"""Checkout Sessions paid the way their page pays them (the page's own request, then the card frame's confirm),
and their expiry on the emulator's clock.

Emulator-only (real Stripe's page is its own), so these live here rather than in tests/contract."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

ITEM = {"price_data": {"currency": "usd", "unit_amount": 2300, "product_data": {"name": "Book"}}, "quantity": 1}
CARD = {
    "payment_method_data[type]": "card",
    "payment_method_data[card][exp_month]": "12",
    "payment_method_data[card][exp_year]": "2040",
    "payment_method_data[card][cvc]": "123",
}


def new_session(client: stripe.StripeClient, **params: Any):
    base = {"mode": "payment", "line_items": [ITEM], "success_url": "https://shop.example/ok"}
    return client.v1.checkout.sessions.create(params={**base, **params})


def start(emulator, session_id: str, **fields: str) -> httpx.Response:
    """The page's Pay: the customer's details in, the session's PaymentIntent out."""
    return httpx.post(
        f"{emulator.url}/c/pay/{session_id}/payment", data={"email": "ada@example.com", "name": "Ada", **fields}
    )


def pay(emulator, session_id: str, number: str = "4242424242424242") -> httpx.Response:
    """The page's Pay through to the card frame's confirm (a publishable key and the intent's client secret)."""
    secret = start(emulator, session_id).json()["client_secret"]
    return httpx.post(
        f"{emulator.url}/v1/payment_intents/{secret.split('_secret_')[0]}/confirm",
        data={**CARD, "payment_method_data[card][number]": number, "client_secret": secret},
        headers={"Authorization": "Bearer pk_test_emulator"},
    )


def test_a_manual_capture_session_completes_unpaid_then_the_intent_is_captured(emulator):
    client = emulator.client()
    created = new_session(client, payment_intent_data={"capture_method": "manual", "metadata": {"order_id": "m-1"}})
    assert pay(emulator, created.id).json()["status"] == "requires_capture"
    done = client.v1.checkout.sessions.retrieve(created.id)
    # A completed session with an authorization only is unpaid (docs.stripe.com/api/checkout/sessions/object).
    assert (done.status, done.payment_status, done.url) == ("complete", "unpaid", None)
    intent = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["payment_intent"]}).payment_intent
    assert intent.status == "requires_capture"
    assert (intent.capture_method, intent.metadata["order_id"], intent.amount) == ("manual", "m-1", 2300)
    assert client.v1.payment_intents.capture(intent.id).status == "succeeded"
    events = client.v1.events.list(params={"type": "checkout.session.completed", "limit": 10})
    assert created.id in [event.data.object.id for event in events.data]


def test_setup_future_usage_makes_a_customer_and_saves_the_card(emulator):
    client = emulator.client()
    created = new_session(client, payment_intent_data={"setup_future_usage": "off_session"})
    assert pay(emulator, created.id).json()["status"] == "succeeded"
    done = client.v1.checkout.sessions.retrieve(created.id)
    assert done.customer is not None and done.customer.startswith("cus_")
    customer = client.v1.customers.retrieve(done.customer)
    assert (customer.email, customer.name) == ("ada@example.com", "Ada")
    saved = client.v1.customers.payment_methods.list(done.customer)
    assert [method.card.last4 for method in saved.data] == ["4242"]


def test_the_page_refuses_missing_details_and_a_closed_session(emulator):
    client = emulator.client()
    collecting = new_session(
        client, phone_number_collection={"enabled": True}, shipping_address_collection={"allowed_countries": ["US"]}
    )
    assert start(emulator, collecting.id).json()["error"]["param"] == "phone"
    no_address = start(emulator, collecting.id, phone="+1 415 555 0100")
    assert no_address.json()["error"]["param"] == "shipping"
    abroad = start(
        emulator,
        collecting.id,
        phone="+1 415 555 0100",
        **{"shipping[name]": "Ada", "shipping[address][line1]": "1 Rue", "shipping[address][city]": "Paris"},
        **{"shipping[address][postal_code]": "75001", "shipping[address][country]": "FR"},
    )
    assert abroad.json()["error"]["param"] == "shipping[address][country]"
    paid = new_session(client)
    pay(emulator, paid.id)
    assert start(emulator, paid.id).status_code == 400


def test_a_session_expires_at_its_expires_at_and_cancels_its_intent(private_emulator):
    client = private_emulator.client()
    created = new_session(client)
    assert pay(private_emulator, created.id, "4000000000000002").status_code == 402  # declined: still open
    intent_id = client.v1.checkout.sessions.retrieve(created.id).payment_intent
    client.raw_request("post", "/_emulator/clock", frozen_time=str(created.expires_at))
    try:
        expired = client.v1.checkout.sessions.retrieve(created.id)
        assert (expired.status, expired.url) == ("expired", None)
        assert client.v1.payment_intents.retrieve(intent_id).status == "canceled"
        types = {event.type for event in client.v1.events.list(params={"limit": 5}).data}
        assert {"payment_intent.canceled", "checkout.session.expired"} <= types
        assert start(private_emulator, created.id).status_code == 400
        assert "This checkout has expired" in httpx.get(f"{private_emulator.url}/c/pay/{created.id}").text
    finally:
        client.raw_request("post", "/_emulator/clock", frozen_time="")
