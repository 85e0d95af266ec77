"""The fake Stripe.js v3: the page-side script at `/v3/` and the documents of its frames.

Like js.stripe.com, the page loads `<emulator>/v3/`, which defines `window.Stripe`; mounting a card Element
creates an iframe on the emulator's origin that holds the card inputs and sends them to the API itself (tokens,
PaymentMethods, PaymentIntent confirmations), so card numbers never pass through the embedding page. A hidden
controller frame makes the calls that carry no card (confirming with a saved PaymentMethod, retrieving an
intent), and a 3-D Secure challenge opens in a frame of its own over the page.

The files are read once at start-up. Nothing of a request is templated in: the publishable key reaches a frame
through its URL fragment, which browsers never send to a server. The only thing written into a file is the
card-number rules of `cards.py`, so the card frame and the API judge numbers by one table.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from stripe_emulator import address_rules, cards

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Short enough that a restarted emulator with new files is picked up quickly, long enough that a page with
# several Elements does not refetch the frame for each.
CACHE_CONTROL = "public, max-age=300"

# The frames only talk to their own origin (the API) and load their own scripts and stylesheets; styles set
# from the page's `style` option are written into a <style> element, hence 'unsafe-inline' for styles only.
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'none'"
)

JS = "application/javascript; charset=utf-8"
HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"

# URL path -> (file in static/, media type)
FILES: dict[str, tuple[str, str]] = {
    "/v3/": ("stripe.js", JS),
    "/v3": ("stripe.js", JS),
    "/v3/elements-inner-card.html": ("elements-inner-card.html", HTML),
    "/v3/elements-inner-card.css": ("elements-inner-card.css", CSS),
    "/v3/controller.html": ("controller.html", HTML),
    "/v3/3ds-challenge.html": ("3ds-challenge.html", HTML),
    "/v3/3ds-challenge.css": ("3ds-challenge.css", CSS),
    "/v3/checkout-payment.html": ("checkout-payment.html", HTML),
    "/v3/checkout-address.html": ("checkout-address.html", HTML),
    "/v3/checkout-elements.css": ("checkout-elements.css", CSS),
    "/v3/redirect-authorize.html": ("redirect-authorize.html", HTML),
    **{
        f"/v3/elements/{module.name}": (f"elements/{module.name}", JS)
        for module in sorted((STATIC_DIR / "elements").glob("*.js"))
    },
}

RULES_PLACEHOLDER = b"{{CARD_RULES_JSON}}"
ADDRESS_RULES_PLACEHOLDER = b"{{ADDRESS_RULES_JSON}}"
# The Checkout Elements SDK is a file of its own, written into stripe.js's closure (it shares its frame plumbing).
SDK_PLACEHOLDER = b"/* {{CHECKOUT_ELEMENTS_SDK}} */"


def _script_json(value: object) -> bytes:
    """`value` as JSON that is safe inside a <script> element (no '<' can end it)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").encode()


def card_rules_json() -> bytes:
    """The card-number rules as JSON that is safe inside a <script> element."""
    return _script_json(cards.rules_json())


def _file_body(filename: str) -> bytes:
    body = (STATIC_DIR / filename).read_bytes()
    body = body.replace(RULES_PLACEHOLDER, card_rules_json())
    body = body.replace(ADDRESS_RULES_PLACEHOLDER, _script_json(address_rules.rules_json()))
    return body.replace(SDK_PLACEHOLDER, (STATIC_DIR / "checkout-elements-sdk.js").read_bytes())


def _static_endpoint(body: bytes, media_type: str, extra_headers: dict[str, str]):
    """An endpoint answering one file read at start-up, so a request never touches the disk."""
    headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff", **extra_headers}

    async def endpoint(request: Request) -> Response:
        return Response(body, media_type=media_type, headers=headers)

    return endpoint


def routes() -> list[BaseRoute]:
    """The Starlette routes of the fake Stripe.js: the `/v3/` script and its frames' files."""
    result: list[BaseRoute] = []
    for path, (filename, media_type) in FILES.items():
        body = _file_body(filename)
        extra = {"Content-Security-Policy": FRAME_CSP} if filename.endswith(".html") else {}
        if filename == "stripe.js":
            # Pages on any origin load this script, as they do js.stripe.com/v3/.
            extra["Access-Control-Allow-Origin"] = "*"
        result.append(Route(path, _static_endpoint(body, media_type, extra), methods=["GET", "HEAD"]))
    return result
