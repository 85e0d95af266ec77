"""Talking to Stripe, the parts every module shares: what a failed call means, in words for the shop's staff.

The SDK's own text ("Unexpected error communicating with Stripe. If this problem persists, let us know at
support@stripe.com. (Network error: …api.stripe.com…") names hosts and asks people to write to Stripe; staff need
what happened and what to do, and the SDK's text goes to the log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe

from shop import config

# The failures worth another try later: Stripe was not reached, answered with a server error, or asked us to slow
# down. The SDK already retried each (docs.stripe.com/error-low-level#idempotency); what is left is the caller's.
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)

UNREACHABLE_WORDS = "Stripe could not be reached from this server: check its network connection or proxy."
RATE_LIMITED_WORDS = "Stripe is receiving too many requests from this shop just now: try again in a minute."
KEY_REFUSED_WORDS = "Stripe refused this server's API key: check STRIPE_SECRET_KEY (a secret key of this account)."
NOT_PERMITTED_WORDS = (
    "This server's API key may not do that: give the restricted key the permission, or use a secret key."
)
STRIPE_FAILED_WORDS = "Stripe had a problem answering: try again in a minute."


def staff_words(exc: stripe.StripeError) -> str:
    """What a failed Stripe call means and what to do, as a sentence for staff (never the SDK's own text, which
    names hosts and support addresses; log that). A refusal meant for people (a card or request error) keeps
    Stripe's message."""
    if isinstance(exc, stripe.APIConnectionError):
        return UNREACHABLE_WORDS
    if isinstance(exc, stripe.RateLimitError):
        return RATE_LIMITED_WORDS
    if isinstance(exc, stripe.AuthenticationError):
        return KEY_REFUSED_WORDS
    if isinstance(exc, stripe.PermissionError):
        return NOT_PERMITTED_WORDS
    if isinstance(exc, (stripe.CardError, stripe.InvalidRequestError, stripe.IdempotencyError)) and exc.user_message:
        return exc.user_message
    return STRIPE_FAILED_WORDS


def field(obj: Any, *path: str, default: Any = None) -> Any:
    """Walk `path` through a Stripe object or a plain dict alike: `field(charge, "payment_method_details", "card")`.

    `default` when any step is missing, not a mapping, or null."""
    for name in path:
        if obj is None:
            return default
        if isinstance(obj, Mapping):
            obj = obj.get(name)
        else:
            try:
                obj = obj[name]
            except (KeyError, TypeError, AttributeError):
                return default
    return default if obj is None else obj


def plain(obj: Any) -> dict:
    """A Stripe object (or a dict) as a plain, JSON-able dict."""
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(obj, Mapping):
        return dict(obj)
    return json.loads(json.dumps(obj, default=str))


def error_details(exc: stripe.StripeError) -> dict[str, Any]:
    """The `code`, `decline_code`, `message` and `charge` id of a Stripe error's body (None where absent)."""
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return {
        "code": error.get("code") or exc.code,
        "decline_code": error.get("decline_code"),
        "message": error.get("message") or exc.user_message,
        "charge": error.get("charge"),
    }


def client_or_default(client: stripe.StripeClient | None) -> stripe.StripeClient:
    """`client`, or the process's own client from the settings when None (looked up at call time, so a test's
    replacement of `shop.config.stripe_client` is the one used)."""
    return client if client is not None else config.stripe_client()
