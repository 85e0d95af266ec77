"""The routes of Checkout Sessions (with their page) and SetupIntents, added to app.py's route table.

Each handler is wrapped by the app's `endpoint` (auth, parsing, idempotency, one transaction), passed in as `ep`;
the app adds the OPTIONS (CORS preflight) routes of those that allow a publishable key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Route

from stripe_emulator import checkout_page
from stripe_emulator.resources import checkout_elements, other_payment_methods, setup_intents
from stripe_emulator.resources import checkout_sessions as sessions


def routes(emulator: Any, ep: Callable[..., Any]) -> list[BaseRoute]:
    """The routes, in match order; `emulator` serves the page, `ep` wraps API handlers."""
    anonymous = {"allow_publishable": True, "allow_anonymous": True}
    return [
        Route("/v1/checkout/sessions", ep(sessions.create_checkout_session), methods=["POST"]),
        Route("/v1/checkout/sessions", ep(sessions.list_checkout_sessions), methods=["GET"]),
        Route("/v1/checkout/sessions/{session_id}", ep(sessions.retrieve_checkout_session), methods=["GET"]),
        Route("/v1/checkout/sessions/{session_id}/line_items", ep(sessions.list_line_items), methods=["GET"]),
        Route("/v1/checkout/sessions/{session_id}/expire", ep(sessions.expire_checkout_session), methods=["POST"]),
        # The session's page pays through these; the session id in its URL is what lets it, as with Stripe's page.
        Route("/c/pay/{session_id}/payment", ep(sessions.start_payment, **anonymous), methods=["POST"]),
        *checkout_page.routes(emulator),
        # The Checkout Elements SDK of the fake Stripe.js (publishable key + the session's client_secret).
        Route(
            "/v1/payment_pages/{session_id}",
            ep(checkout_elements.retrieve, allow_publishable=True),
            methods=["GET"],
        ),
        Route("/v1/payment_pages/{session_id}", ep(checkout_elements.update, allow_publishable=True), methods=["POST"]),
        Route(
            "/v1/payment_pages/{session_id}/confirm",
            ep(checkout_elements.confirm, allow_publishable=True),
            methods=["POST"],
        ),
        # The test page of a redirect payment method (Klarna) answers here; the client_secret is its proof.
        Route(
            "/_emulator/redirect/{intent_id}/authorize",
            ep(other_payment_methods.authorize_redirect, **anonymous),
            methods=["POST"],
        ),
        Route("/v1/setup_intents", ep(setup_intents.create_setup_intent), methods=["POST"]),
        Route("/v1/setup_intents", ep(setup_intents.list_setup_intents), methods=["GET"]),
        Route(
            "/v1/setup_intents/{intent_id}",
            ep(setup_intents.retrieve_setup_intent, allow_publishable=True),
            methods=["GET"],
        ),
        Route("/v1/setup_intents/{intent_id}", ep(setup_intents.update_setup_intent), methods=["POST"]),
        Route(
            "/v1/setup_intents/{intent_id}/confirm",
            ep(setup_intents.confirm_setup_intent, allow_publishable=True),
            methods=["POST"],
        ),
        Route("/v1/setup_intents/{intent_id}/cancel", ep(setup_intents.cancel_setup_intent), methods=["POST"]),
        Route(
            "/_emulator/3ds-setup/{intent_id}/authenticate",
            ep(setup_intents.authenticate_setup_intent, **anonymous),
            methods=["POST"],
        ),
    ]
