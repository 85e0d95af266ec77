"""The fake Stripe.js v3: the page-side script at `/v3/` and the Card Element's iframe document.

Like js.stripe.com, the page loads `<emulator>/v3/`, which defines `window.Stripe`; mounting a card Element
creates an iframe on the emulator's origin that holds the card inputs and posts them to `/v1/tokens` itself,
so card numbers never pass through the embedding page. The files are static: nothing is templated in, and the
publishable key reaches the iframe through its URL fragment, which browsers never send to a server.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Short enough that a restarted emulator with new files is picked up quickly, long enough that a page with
# several Elements does not refetch the frame for each.
CACHE_CONTROL = "public, max-age=300"

# The card frame only talks to its own origin (the API) and loads its own script and stylesheet; styles set
# from the page's `style` option are written into a <style> element, hence 'unsafe-inline' for styles only.
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'"
)

# URL path -> (file in static/, media type)
FILES: dict[str, tuple[str, str]] = {
    "/v3/": ("stripe.js", "application/javascript; charset=utf-8"),
    "/v3": ("stripe.js", "application/javascript; charset=utf-8"),
    "/v3/elements-inner-card.html": ("elements-inner-card.html", "text/html; charset=utf-8"),
    "/v3/elements-inner-card.js": ("elements-inner-card.js", "application/javascript; charset=utf-8"),
    "/v3/elements-inner-card.css": ("elements-inner-card.css", "text/css; charset=utf-8"),
}


def _static_endpoint(body: bytes, media_type: str, extra_headers: dict[str, str]):
    """An endpoint answering one file read at start-up, so a request never touches the disk."""
    headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff", **extra_headers}

    async def endpoint(request: Request) -> Response:
        return Response(body, media_type=media_type, headers=headers)

    return endpoint


def routes() -> list[BaseRoute]:
    """The Starlette routes of the fake Stripe.js: the `/v3/` script and the card iframe's files."""
    result: list[BaseRoute] = []
    for path, (filename, media_type) in FILES.items():
        body = (STATIC_DIR / filename).read_bytes()
        extra = {"Content-Security-Policy": FRAME_CSP} if filename.endswith(".html") else {}
        if filename == "stripe.js":
            # Pages on any origin load this script, as they do js.stripe.com/v3/.
            extra["Access-Control-Allow-Origin"] = "*"
        result.append(Route(path, _static_endpoint(body, media_type, extra), methods=["GET", "HEAD"]))
    return result
