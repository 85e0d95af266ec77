"""Checkout Sessions (mode=payment): create, retrieve, list, line items, expire, and Stripe's refusals.

docs.stripe.com/api/checkout/sessions. Paying a session takes its page (tests/e2e/test_checkout_page.py)."""

from __future__ import annotations

import re
import time

import pytest
import stripe

from tests.contract.calls import events_for

SUCCESS = "https://shop.example/thanks?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example/cart"
RETURN = "https://shop.example/return?session_id={CHECKOUT_SESSION_ID}"


def book(name: str, amount: int, quantity: int = 1, currency: str = "usd") -> dict:
    return {
        "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": name}},
        "quantity": quantity,
    }


def session(client: stripe.StripeClient, **params):
    base = {"mode": "payment", "line_items": [book("Stubborn Attachments", 2300)], "success_url": SUCCESS}
    return client.v1.checkout.sessions.create(params={**base, **params})


def refused(client: stripe.StripeClient, **params) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as info:
        session(client, **params)
    return info.value


def test_a_new_session_is_open_and_unpaid_with_its_page(stripe_client):
    created = session(
        stripe_client,
        line_items=[book("Stubborn Attachments", 2300, 2), book("The Art of Doing Science", 1800)],
        cancel_url=CANCEL,
        customer_email="ada@example.com",
        metadata={"order_id": "cs-1"},
        phone_number_collection={"enabled": True},
        shipping_address_collection={"allowed_countries": ["US", "CA"]},
        payment_intent_data={"metadata": {"order_id": "cs-1"}, "capture_method": "manual"},
    )
    assert re.fullmatch(r"cs_test_\w+", created.id)
    assert (created.object, created.mode, created.status, created.payment_status) == (
        "checkout.session",
        "payment",
        "open",
        "unpaid",
    )
    assert (created.amount_subtotal, created.amount_total, created.currency) == (6400, 6400, "usd")
    assert created.ui_mode == "hosted_page"
    assert created.url.startswith("http") and created.client_secret is None
    # The intent is made when the customer pays (API 2022-08-01 and later).
    assert created.payment_intent is None
    assert (created.success_url, created.cancel_url) == (SUCCESS, CANCEL)
    assert created.customer_email == "ada@example.com"
    assert created.metadata["order_id"] == "cs-1"
    assert created.phone_number_collection.enabled is True
    assert created.shipping_address_collection.allowed_countries == ["US", "CA"]
    assert created.expires_at - created.created == pytest.approx(24 * 3600, abs=5)
    assert created.total_details.amount_tax == 0
    assert stripe_client.v1.checkout.sessions.retrieve(created.id).to_dict() == created.to_dict()


def test_line_items_are_listed_in_the_order_given(stripe_client):
    created = session(
        stripe_client, line_items=[book("Stubborn Attachments", 2300, 2), book("The Art of Doing Science", 1800)]
    )
    items = stripe_client.v1.checkout.sessions.line_items.list(created.id)
    assert [(item.description, item.quantity, item.amount_subtotal, item.amount_total) for item in items.data] == [
        ("Stubborn Attachments", 2, 4600, 4600),
        ("The Art of Doing Science", 1, 1800, 1800),
    ]
    first = items.data[0]
    assert (first.object, first.currency, first.price.unit_amount, first.price.type) == (
        "item",
        "usd",
        2300,
        "one_time",
    )
    assert first.price.product.startswith("prod_")
    page = stripe_client.v1.checkout.sessions.line_items.list(created.id, params={"limit": 1})
    assert ([item.id for item in page.data], page.has_more) == ([first.id], True)
    rest = stripe_client.v1.checkout.sessions.line_items.list(
        created.id, params={"limit": 1, "starting_after": first.id}
    )
    assert ([item.id for item in rest.data], rest.has_more) == ([items.data[1].id], False)
    expanded = stripe_client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["line_items"]})
    assert [item.id for item in expanded.line_items.data] == [item.id for item in items.data]


def test_a_line_item_names_a_stored_price_and_its_product(stripe_client):
    # docs.stripe.com/api/checkout/sessions/create: line_items.price is "The ID of the Price or Plan object".
    price = stripe_client.v1.prices.create(
        params={"currency": "usd", "unit_amount": 2500, "product_data": {"name": "The Dream Machine"}}
    )
    created = session(stripe_client, line_items=[{"price": price.id, "quantity": 2}])
    assert (created.amount_subtotal, created.amount_total) == (5000, 5000)
    [item] = stripe_client.v1.checkout.sessions.line_items.list(created.id).data
    assert (item.description, item.price.id, item.quantity) == ("The Dream Machine", price.id, 2)
    inactive = stripe_client.v1.prices.update(price.id, params={"active": False})
    assert inactive.active is False
    assert "price" in (refused(stripe_client, line_items=[{"price": price.id, "quantity": 1}]).param or "")


def test_embedded_page_has_a_client_secret_and_a_return_url(stripe_client):
    created = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "embedded_page",
            "line_items": [book("Stubborn Attachments", 2300)],
            "return_url": RETURN,
        }
    )
    assert created.ui_mode == "embedded_page"
    assert created.url is None
    assert re.fullmatch(rf"{created.id}_secret_\w+", created.client_secret)
    assert created.return_url == RETURN
    assert created.success_url is None


def test_elements_mode_is_accepted_with_a_client_secret(stripe_client):
    created = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "elements",
            "line_items": [book("Stubborn Attachments", 2300)],
            "return_url": RETURN,
        }
    )
    assert (created.ui_mode, created.url) == ("elements", None)
    assert created.client_secret.startswith(created.id + "_secret_")


@pytest.mark.parametrize("old", ["hosted", "embedded", "custom"])
def test_the_ui_mode_names_before_dahlia_fail(stripe_client, old):
    # docs.stripe.com/changelog/dahlia/2026-03-25/updates-available-checkout-session-ui-modes
    assert refused(stripe_client, ui_mode=old).param == "ui_mode"


def test_embedded_page_refuses_success_url_and_needs_return_url(stripe_client):
    base = {"mode": "payment", "ui_mode": "embedded_page", "line_items": [book("Stubborn Attachments", 2300)]}
    with pytest.raises(stripe.InvalidRequestError) as with_success_url:
        stripe_client.v1.checkout.sessions.create(params={**base, "success_url": SUCCESS, "return_url": RETURN})
    assert with_success_url.value.param == "success_url"
    with pytest.raises(stripe.InvalidRequestError) as without_return_url:
        stripe_client.v1.checkout.sessions.create(params=base)
    assert without_return_url.value.param == "return_url"


def test_refusals_of_a_create(stripe_client):
    assert refused(stripe_client, expires_at=int(time.time()) + 10 * 60).param == "expires_at"
    assert refused(stripe_client, expires_at=int(time.time()) + 2 * 24 * 3600).param == "expires_at"
    customer = stripe_client.v1.customers.create(params={"email": "ada@example.com"})
    assert refused(stripe_client, customer=customer.id, customer_email="ada@example.com")
    unknown = refused(stripe_client, line_items=[{"price": "price_nope", "quantity": 1}])
    assert unknown.code == "resource_missing"
    assert refused(stripe_client, line_items=[{"quantity": 1}])
    assert refused(
        stripe_client, line_items=[book("Two currencies", 2300), book("Two currencies", 1000, currency="eur")]
    )
    assert refused(stripe_client, success_url="not a url").param == "success_url"


def test_a_customer_session_names_its_customer(stripe_client):
    customer = stripe_client.v1.customers.create(params={"email": "grace@example.com"})
    created = session(stripe_client, customer=customer.id)
    assert created.customer == customer.id
    listed = stripe_client.v1.checkout.sessions.list(params={"customer": customer.id})
    assert [found.id for found in listed.data] == [created.id]


def test_expire_closes_an_open_session_once(stripe_client):
    created = session(stripe_client)
    expired = stripe_client.v1.checkout.sessions.expire(created.id)
    assert (expired.id, expired.status, expired.payment_status) == (created.id, "expired", "unpaid")
    assert expired.url is None
    assert [event.type for event in events_for(stripe_client, created.id)] == ["checkout.session.expired"]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(created.id)


def test_list_newest_first_with_status_and_created_filters(stripe_client):
    first = session(stripe_client)
    second = session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(first.id)
    since = {"gte": first.created}
    newest = stripe_client.v1.checkout.sessions.list(params={"limit": 2, "created": since})
    assert [found.id for found in newest.data] == [second.id, first.id]
    open_ids = [s.id for s in stripe_client.v1.checkout.sessions.list(params={"status": "open", "created": since})]
    expired_ids = [
        s.id for s in stripe_client.v1.checkout.sessions.list(params={"status": "expired", "created": since})
    ]
    assert second.id in open_ids and first.id not in open_ids
    assert first.id in expired_ids and second.id not in expired_ids


def test_an_unknown_session_is_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
