"""3-D Secure in the emulator: requires_action, then the challenge page's answer at /_emulator/3ds/{id}/authenticate.

Emulator-only (real Stripe's challenge is its own page), so these live here rather than in tests/contract."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx
import pytest
import stripe

ORDER = {"amount": 2300, "currency": "usd", "payment_method_types": ["card"], "metadata": {"order_id": "3ds"}}


@pytest.fixture
def client(emulator) -> stripe.StripeClient:
    return emulator.client()


def waiting_intent(client: stripe.StripeClient, method: str = "pm_card_authenticationRequired", **confirm: Any):
    created = client.v1.payment_intents.create(params=ORDER)
    return client.v1.payment_intents.confirm(created.id, params={"payment_method": method, **confirm})


def authenticate(emulator, intent, result: str, headers: dict[str, str] | None = None, secret: str | None = None):
    return httpx.post(
        f"{emulator.url}/_emulator/3ds/{intent.id}/authenticate",
        data={"client_secret": secret or intent.client_secret, "result": result},
        headers=headers or {},
    )


def test_next_action_points_at_the_challenge_page_on_the_request_base_url(emulator, client):
    waiting = waiting_intent(client)
    action = waiting.next_action
    assert action.type == "use_stripe_sdk"
    assert action.use_stripe_sdk.type == "three_d_secure_redirect"
    assert action.use_stripe_sdk.source.startswith("src_")
    url = urllib.parse.urlsplit(action.use_stripe_sdk.stripe_js)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{emulator.url}/v3/3ds-challenge.html"
    assert urllib.parse.parse_qs(url.query) == {
        "payment_intent": [waiting.id],
        "client_secret": [waiting.client_secret],
    }


def test_a_return_url_without_use_stripe_sdk_gives_a_redirect_to_the_same_page(emulator, client):
    waiting = waiting_intent(client, return_url="https://shop.example/back?x=1")
    redirect = waiting.next_action.redirect_to_url
    assert waiting.next_action.type == "redirect_to_url"
    assert redirect.return_url == "https://shop.example/back?x=1"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect.url).query)
    assert query["return_url"] == ["https://shop.example/back?x=1"]
    assert query["payment_intent"] == [waiting.id]
    with_sdk = waiting_intent(client, return_url="https://shop.example/back", use_stripe_sdk=True)
    assert with_sdk.next_action.type == "use_stripe_sdk"


@pytest.mark.parametrize(
    "method",
    ["pm_card_authenticationRequired", "pm_card_threeDSecure2Required", "pm_card_authenticationRequiredOnSetup"],
)
def test_complete_pays_the_intent(emulator, client, method):
    waiting = waiting_intent(client, method)
    answer = authenticate(emulator, waiting, "complete")
    assert answer.status_code == 200
    assert answer.json()["status"] == "succeeded"
    assert "metadata" not in answer.json()  # what a publishable key may see
    paid = client.v1.payment_intents.retrieve(waiting.id)
    assert (paid.status, paid.amount_received, paid.next_action) == ("succeeded", 2300, None)
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert charge.payment_intent == waiting.id
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data if e.data.object.id == waiting.id]
    assert types[:2] == ["payment_intent.succeeded", "payment_intent.requires_action"]


@pytest.mark.parametrize(
    ("method", "decline_code"),
    [
        ("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_threeDSecureRequiredChargeDeclined", "generic_decline"),
    ],
)
def test_cards_that_authenticate_and_then_decline(emulator, client, method, decline_code):
    waiting = waiting_intent(client, method)
    answer = authenticate(emulator, waiting, "complete").json()
    assert answer["status"] == "requires_payment_method"
    assert answer["last_payment_error"]["code"] == "card_declined"
    assert answer["last_payment_error"]["decline_code"] == decline_code
    failed = client.v1.payment_intents.retrieve(waiting.id)
    assert failed.last_payment_error.charge == failed.latest_charge
    assert client.v1.charges.retrieve(failed.latest_charge).status == "failed"


def test_fail_leaves_the_intent_for_another_card_and_charges_nothing(emulator, client):
    waiting = waiting_intent(client)
    answer = authenticate(emulator, waiting, "fail")
    assert answer.status_code == 200
    failed = client.v1.payment_intents.retrieve(waiting.id)
    assert (failed.status, failed.payment_method, failed.next_action) == ("requires_payment_method", None, None)
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"
    assert failed.last_payment_error.message.startswith("The provided PaymentMethod has failed authentication.")
    assert failed.latest_charge is None
    assert client.v1.charges.list(params={"payment_intent": waiting.id}).data == []

    paid = client.v1.payment_intents.confirm(waiting.id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "succeeded"
    assert len(client.v1.charges.list(params={"payment_intent": waiting.id}).data) == 1


def test_the_answer_is_refused_when_the_intent_is_not_waiting(emulator, client):
    waiting = waiting_intent(client)
    assert authenticate(emulator, waiting, "complete").status_code == 200
    again = authenticate(emulator, waiting, "complete")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert len(client.v1.charges.list(params={"payment_intent": waiting.id}).data) == 1


def test_the_client_secret_must_match(emulator, client):
    waiting = waiting_intent(client)
    wrong = authenticate(emulator, waiting, "complete", secret=waiting.id + "_secret_wrong")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "client_secret"
    assert client.v1.payment_intents.retrieve(waiting.id).status == "requires_action"


def test_a_publishable_key_may_answer_and_gets_cors_headers(emulator, client):
    waiting = waiting_intent(client)
    answer = authenticate(emulator, waiting, "complete", headers={"Authorization": "Bearer pk_test_3ds"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"


def test_an_invalid_result_is_a_400(emulator, client):
    waiting = waiting_intent(client)
    assert authenticate(emulator, waiting, "maybe").status_code == 400


def test_stripe_js_confirms_with_the_key_in_the_body_from_another_origin(emulator, client):
    created = client.v1.payment_intents.create(params=ORDER)
    form = {
        "key": "pk_test_3ds",
        "client_secret": created.client_secret,
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": "4000002760003184",
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2040",
        "payment_method_data[billing_details][name]": "Ada Lovelace",
        "payment_method_data[payment_user_agent]": "stripe.js/v3",
        "use_stripe_sdk": "true",
    }
    answer = httpx.post(f"{emulator.url}/v1/payment_intents/{created.id}/confirm", data=form)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.json()["status"] == "requires_action"
    assert "metadata" not in answer.json()
    preflight = httpx.options(f"{emulator.url}/v1/payment_intents/{created.id}/confirm")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"


def test_off_session_cannot_authenticate_and_declines(client):
    created = client.v1.payment_intents.create(params=ORDER)
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.confirm(
            created.id, params={"payment_method": "pm_card_authenticationRequired", "off_session": True}
        )
    assert info.value.error.decline_code == "authentication_required"
