"""The calls the emulator's Checkout Elements frames make (`/v1/payment_pages/{id}`), straight over HTTP: what the
API itself refuses, so a page that skips the frames cannot store what they would not let through, and what a
confirm puts on the session and its PaymentIntent (docs.stripe.com/api/checkout/sessions/object:
`customer_details`, `collected_information.shipping_details`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.support import Emulator

pytestmark = pytest.mark.e2e

PUBLISHABLE = {"Authorization": "Bearer pk_test_emulator_elements"}
US_ADDRESS = {"line1": "1 Main St", "city": "San Francisco", "state": "ca", "postal_code": "94107", "country": "US"}


def new_session(emulator: Emulator, **params: Any) -> stripe.checkout.Session:
    return emulator.client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "elements",
            "line_items": [
                {"price_data": {"currency": "usd", "unit_amount": 2300, "product_data": {"name": "Stubborn"}}}
                | {"quantity": 1}
            ],
            "return_url": "https://shop.example/return",
            "payment_method_types": ["card", "us_bank_account"],
            "shipping_address_collection": {"allowed_countries": ["US", "CA", "GB", "DE", "FR"]},
            "phone_number_collection": {"enabled": True},
            **params,
        }
    )


def form(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters in the API's bracket notation."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            flat.update(form(value, name))
        else:
            flat[name] = str(value)
    return flat


def update(emulator: Emulator, session: stripe.checkout.Session, **params: Any) -> httpx.Response:
    body = form({"client_secret": session.client_secret, **params})
    return httpx.post(f"{emulator.url}/v1/payment_pages/{session.id}", data=body, headers=PUBLISHABLE)


def confirm(emulator: Emulator, session: stripe.checkout.Session, kind: str = "card") -> httpx.Response:
    body = {"client_secret": session.client_secret, "payment_method_type": kind}
    return httpx.post(f"{emulator.url}/v1/payment_pages/{session.id}/confirm", data=body, headers=PUBLISHABLE)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_another_sessions_secret_opens_nothing(emulator: Emulator) -> None:
    session, other = new_session(emulator), new_session(emulator)
    response = httpx.get(
        f"{emulator.url}/v1/payment_pages/{session.id}",
        params={"client_secret": other.client_secret},
        headers=PUBLISHABLE,
    )
    assert error_of(response)["param"] == "client_secret"


@pytest.mark.parametrize(
    ("address", "param", "message"),
    [
        ({**US_ADDRESS, "postal_code": "9410"}, "postal_code", "The ZIP code is not valid (like 94103)."),
        ({**US_ADDRESS, "state": ""}, "state", "Choose a state."),
        ({**US_ADDRESS, "state": "ZZ"}, "state", "That is not a state of United States."),
        ({**US_ADDRESS, "country": "CA", "state": "ON", "postal_code": "12345"}, "postal_code", None),
        ({**US_ADDRESS, "country": "GB", "state": "", "postal_code": "ABC"}, "postal_code", None),
        ({**US_ADDRESS, "country": "DE", "state": "", "postal_code": "1011"}, "postal_code", None),
        ({**US_ADDRESS, "country": "FR", "state": "", "postal_code": "750011"}, "postal_code", None),
        ({**US_ADDRESS, "country": "JP"}, "country", "This store does not ship to that country."),
        ({**US_ADDRESS, "line1": ""}, "line1", "Enter the address."),
    ],
)
def test_an_address_that_breaks_its_countrys_rules_is_refused(emulator, address, param, message) -> None:
    session = new_session(emulator)
    error = error_of(update(emulator, session, shipping={"name": "Ada Lovelace", "address": address}))
    assert error["param"] == f"shipping[address][{param}]"
    if message is not None:
        assert error["message"] == message


def test_a_confirm_needs_what_the_session_collects_then_puts_it_on_the_session_and_intent(emulator) -> None:
    session = new_session(emulator)
    assert error_of(confirm(emulator, session))["param"] == "email"
    assert update(emulator, session, email="ada@example.com").status_code == 200
    assert error_of(confirm(emulator, session))["param"] == "phone"
    assert error_of(update(emulator, session, phone="abc"))["param"] == "phone"
    assert update(emulator, session, phone="+1 415 555 0100").status_code == 200
    assert error_of(confirm(emulator, session))["param"] == "shipping"
    gb = {"line1": "10 Downing St", "city": "London", "postal_code": "sw1a 2aa", "country": "GB"}
    saved = update(emulator, session, shipping={"name": "Ada Lovelace", "address": gb})
    assert saved.json()["shippingAddress"]["address"]["postal_code"] == "SW1A 2AA"
    assert error_of(confirm(emulator, session, "klarna"))["param"] == "payment_method_type"

    first = confirm(emulator, session)
    assert first.status_code == 200, first.text
    again = confirm(emulator, session)
    # Until it is paid, the session has one PaymentIntent, whatever the number of attempts.
    assert again.json()["payment_intent"] == first.json()["payment_intent"]
    client = emulator.client()
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.payment_intent == first.json()["payment_intent"]
    assert (done.customer_details.email, done.customer_details.phone) == ("ada@example.com", "+1 415 555 0100")
    assert done.collected_information.shipping_details.address.postal_code == "SW1A 2AA"
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert (intent.amount, intent.shipping.name, intent.shipping.address.city) == (2300, "Ada Lovelace", "London")
    assert intent.payment_method_types == ["card", "us_bank_account"]


def test_a_completed_session_can_no_longer_change(emulator) -> None:
    session = new_session(emulator, phone_number_collection={"enabled": False}, customer_email="ada@example.com")
    assert update(emulator, session, shipping={"name": "Ada", "address": US_ADDRESS}).status_code == 200
    started = confirm(emulator, session).json()
    client = emulator.client()
    client.v1.payment_intents.confirm(started["payment_intent"], params={"payment_method": "pm_card_visa"})
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"
    assert error_of(update(emulator, session, email="eve@example.com"))["param"] == "session"
    assert error_of(confirm(emulator, session))["param"] == "session"
