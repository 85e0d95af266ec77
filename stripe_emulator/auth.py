"""Who may call: the API key of a request (Bearer or Basic header, or Stripe.js's `key` parameter), which keys an
endpoint accepts, and the CORS headers that let a page of another origin read what a publishable key may."""

from __future__ import annotations

import base64
import re
from typing import Any

from starlette.requests import Request

from stripe_emulator.errors import StripeError

_KEY_FORMAT = re.compile(r"^(sk|pk)_(test|live)_[A-Za-z0-9_]+$")
NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using "
    "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)
# Telemetry fields Stripe.js adds to its token requests: accepted and ignored.
STRIPE_JS_FIELDS = ("payment_user_agent", "time_on_page", "guid", "muid", "sid", "referrer", "pasted_fields")
# Stripe.js calls publishable-key endpoints from the shop's page, another origin than the API's (as with
# api.stripe.com): the answers must be readable there. Only answers to a publishable key (or to none) are: what a
# secret key reads never reaches a page of another origin.
CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
    "Access-Control-Max-Age": "600",
}
# Stripe.js sends the publishable key as the `key` parameter; a secret key belongs in the Authorization header of a
# server's request (docs.stripe.com/keys: secret keys must never be in client-side code).
SECRET_KEY_PARAM_MESSAGE = (
    "A secret API key cannot be sent as the `key` parameter: only a publishable key may be. Send a secret key in "
    "the Authorization header, from your server only."
)
PUBLISHABLE_MESSAGE = (
    "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list "
    "of your API keys at https://dashboard.stripe.com/account/apikeys."
)


def _redact(key: str) -> str:
    if len(key) <= 12:
        return key[:3] + "*" * max(len(key) - 3, 0)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def presented_key(request: Request) -> str:
    """The key in the Authorization header (Bearer, or Basic with the key as the user name), or ""."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[0]
        except ValueError:
            return ""
    return ""


def authenticate(request: Request, allow_publishable: bool = False, body_key: str | None = None) -> str:
    """Accept any well-formed test secret key (and test publishable keys where allowed); 401 otherwise.

    `body_key` is the `key` form field Stripe.js sends instead of an Authorization header. Returns the key."""
    key = presented_key(request) or body_key or ""
    if not key:
        raise StripeError(401, "invalid_request_error", NO_KEY_MESSAGE)
    if not _KEY_FORMAT.match(key) or "_live_" in key:
        raise StripeError(401, "invalid_request_error", f"Invalid API Key provided: {_redact(key)}")
    if key.startswith("pk_") and not allow_publishable:
        raise StripeError(401, "invalid_request_error", PUBLISHABLE_MESSAGE)
    return key


def authorize(
    request: Request,
    params: dict[str, Any],
    pairs: list[tuple[str, str]],
    allow_publishable: bool,
    allow_anonymous: bool,
) -> tuple[str, dict[str, Any], list[tuple[str, str]]]:
    """The request's API key (`authenticate`), and its parameters without the ones Stripe.js adds (`key` and its
    telemetry) where a publishable key is allowed. Raises StripeError (401) when the key will not do."""
    body_key = None
    if allow_publishable and isinstance(params.get("key"), str):
        body_key = params.pop("key")
        pairs = [pair for pair in pairs if pair[0] != "key"]
        if not body_key.startswith("pk_"):
            raise StripeError(401, "invalid_request_error", SECRET_KEY_PARAM_MESSAGE)
    if allow_anonymous and not (presented_key(request) or body_key):
        api_key = "pk_anonymous"
    else:
        api_key = authenticate(request, allow_publishable, body_key)
    for name in STRIPE_JS_FIELDS if allow_publishable else ():
        params.pop(name, None)
    return api_key, params, pairs
