"""The Checkout Session's page: what a session's `url` opens (and what embedded Checkout mounts in its iframe).

Like checkout.stripe.com, it shows the line items and the total beside a form: email, phone and shipping address
when the session collects them, the card in the fake Stripe.js card Element (its own iframe; the number never
reaches this page), the cardholder's name and Pay. Pay sends the customer's details to
`POST /c/pay/{id}/payment`, which gives the session's PaymentIntent, and confirms that intent with
`stripe.confirmCardPayment` — 3-D Secure included. The session completes when the intent succeeds; the page then
goes to `success_url` (`hosted_page`) or tells the embedding Stripe.js, which goes to `return_url`
(`embedded_page`), with `{CHECKOUT_SESSION_ID}` replaced.

Every value written into the HTML is escaped; the script reads what it needs from data- attributes.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from stripe_emulator import money
from stripe_emulator.resources import checkout_line_items, checkout_sessions
from stripe_emulator.stripejs import CACHE_CONTROL, CSS, JS, STATIC_DIR

# Stripe.js in the page needs a publishable key; any well-formed test key is accepted by the emulator.
PAGE_PUBLISHABLE_KEY = "pk_test_emulator_checkout"
# The page loads only its own scripts, styles and frames (the card Element, 3-D Secure), and talks to its own
# origin. Embedded Checkout is framed by the integration's page, on any origin; the hosted page by nobody.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; frame-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
)
ASSETS = {"/c/checkout.js": ("checkout/checkout.js", JS), "/c/checkout.css": ("checkout/checkout.css", CSS)}

# Two-letter codes shown with a name in the country list; other allowed codes are shown as they are.
COUNTRY_NAMES = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "IE": "Ireland", "FR": "France",
    "DE": "Germany", "ES": "Spain", "IT": "Italy", "NL": "Netherlands", "BE": "Belgium", "AT": "Austria",
    "CH": "Switzerland", "SE": "Sweden", "NO": "Norway", "DK": "Denmark", "FI": "Finland", "PT": "Portugal",
    "PL": "Poland", "AU": "Australia", "NZ": "New Zealand", "JP": "Japan", "SG": "Singapore", "MX": "Mexico",
    "BR": "Brazil", "IN": "India",
}  # fmt: skip


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _field(name: str, label: str, kind: str = "text", autocomplete: str = "", value: Any = None, required=True):
    """A labelled input (the label is what a person and a screen reader find it by)."""
    attrs = f' autocomplete="{_e(autocomplete)}"' if autocomplete else ""
    attrs += " required" if required else ""
    attrs += f' value="{_e(value)}"' if value else ""
    return (
        f'<div class="field"><label for="{_e(name)}">{_e(label)}</label>'
        f'<input id="{_e(name)}" name="{_e(name)}" type="{_e(kind)}"{attrs}></div>'
    )


def _summary(session: dict[str, Any], items: list[dict[str, Any]]) -> str:
    currency = session["currency"]
    rows = []
    for item in items:
        unit = money.display(item["price"]["unit_amount"], currency)
        quantity = f"Qty {item['quantity']}, {unit} each" if item["quantity"] > 1 else ""
        rows.append(
            f'<li><span class="item-name">{_e(item["description"] or "Item")}</span>'
            f'<span class="item-amount">{_e(money.display(item["amount_total"], currency))}</span>'
            + (f'<span class="item-quantity">{_e(quantity)}</span>' if quantity else "")
            + "</li>"
        )
    total = money.display(session["amount_total"], currency)
    return (
        '<section class="summary" aria-labelledby="summary-title">'
        '<p class="badge">Test mode</p>'
        f'<h1 id="summary-title"><span class="summary-label">Pay</span> <span class="summary-total">{_e(total)}</span>'
        "</h1>"
        f'<ul class="items" aria-label="Order summary">{"".join(rows)}</ul>'
        '<dl class="totals">'
        f"<div><dt>Subtotal</dt><dd>{_e(money.display(session['amount_subtotal'], currency))}</dd></div>"
        f'<div class="total-due"><dt>Total due</dt><dd>{_e(total)}</dd></div>'
        "</dl></section>"
    )


def _shipping_fields(session: dict[str, Any]) -> str:
    allowed = session["shipping_address_collection"]["allowed_countries"]
    options = "".join(
        f'<option value="{_e(code)}">{_e(COUNTRY_NAMES.get(code, code))}</option>'
        for code in sorted(allowed, key=lambda code: COUNTRY_NAMES.get(code, code))
    )
    return (
        '<fieldset class="group"><legend>Shipping address</legend>'
        + _field("shipping-name", "Full name", autocomplete="shipping name")
        + '<div class="field"><label for="shipping-country">Country or region</label>'
        f'<select id="shipping-country" name="shipping-country" autocomplete="shipping country" required>{options}'
        "</select></div>"
        + _field("shipping-line1", "Address line 1", autocomplete="shipping address-line1")
        + _field("shipping-line2", "Address line 2 (optional)", autocomplete="shipping address-line2", required=False)
        + '<div class="row">'
        + _field("shipping-city", "City", autocomplete="shipping address-level2")
        + _field("shipping-state", "State or province", autocomplete="shipping address-level1", required=False)
        + _field("shipping-postal", "Postal code", autocomplete="shipping postal-code")
        + "</div></fieldset>"
    )


def _form(session: dict[str, Any]) -> str:
    total = money.display(session["amount_total"], session["currency"])
    email = (session["customer_details"] or {}).get("email")
    parts = [
        '<form id="checkout-form" class="pay" novalidate aria-labelledby="pay-title">',
        '<h2 id="pay-title">Contact information</h2>',
        _field("email", "Email", "email", "email", email),
    ]
    if session["phone_number_collection"]["enabled"]:
        parts.append(_field("phone", "Phone number", "tel", "tel"))
    if session["shipping_address_collection"]:
        parts.append(_shipping_fields(session))
    parts += [
        "<h2>Payment method</h2>",
        # The card inputs are in the Element's frame, each labelled there ("Credit or debit card number", …).
        '<div class="field"><span class="label" id="card-label">Card information</span>'
        '<div id="card-element" class="card-box" role="group" aria-labelledby="card-label"></div></div>',
        _field("cardholder-name", "Cardholder name", autocomplete="cc-name"),
        '<p id="form-error" class="error" role="alert"></p>',
        f'<button id="pay" type="submit" class="pay-button">Pay {_e(total)}</button>',
    ]
    if session["cancel_url"]:
        parts.append(f'<a class="cancel" href="{_e(session["cancel_url"])}">Cancel and return</a>')
    parts.append("</form>")
    return "".join(parts)


def _notice(title: str, text: str, link: str | None = None, link_text: str = "") -> str:
    anchor = f'<a href="{_e(link)}">{_e(link_text)}</a>' if link else ""
    return f'<section class="notice" role="status"><h1>{_e(title)}</h1><p>{_e(text)}</p>{anchor}</section>'


def page_html(session: dict[str, Any], items: list[dict[str, Any]], now: int) -> str:
    """The page of a session: the payment form while it is open, else what became of it."""
    template = session["success_url"] if session["ui_mode"] == "hosted_page" else session["return_url"]
    redirect = checkout_sessions.redirect_url(template, session["id"])
    status = "expired" if session["status"] == "open" and session["expires_at"] <= now else session["status"]
    data = {
        "session": session["id"],
        "publishable-key": PAGE_PUBLISHABLE_KEY,
        "ui-mode": session["ui_mode"],
        "redirect": redirect or "",
        "redirect-on-completion": session["redirect_on_completion"] or "always",
        "status": status,
    }
    attributes = " ".join(f'data-{name}="{_e(value)}"' for name, value in data.items())
    if status == "open":
        body = _summary(session, items) + _form(session)
    elif status == "complete":
        body = _notice("Payment complete", "Thanks for your payment. This checkout is complete.", redirect, "Continue")
    else:
        body = _notice(
            "This checkout has expired",
            "The time to pay here has run out. Go back and start again.",
            session["cancel_url"],
            "Return",
        )
    done = _notice("Payment complete", "Thanks for your payment.")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Checkout (test mode)</title>"
        '<link rel="stylesheet" href="/c/checkout.css"></head>'
        f'<body><main id="checkout" class="checkout" {attributes}>{body}'
        f'<div id="done" hidden>{done}</div></main>'
        '<script src="/v3/"></script><script src="/c/checkout.js"></script></body></html>'
    )


def routes(emulator: Any) -> list[BaseRoute]:
    """`GET /c/pay/{id}`: a session's page; and the page's script and stylesheet (read once at start-up)."""

    async def page(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        store = emulator.store
        session = store.get(checkout_sessions.TABLE, session_id)
        if session is None or session["ui_mode"] == "elements":
            return HTMLResponse(
                '<!doctype html><html lang="en"><title>Checkout not found</title><p>No such checkout.</p></html>', 404
            )
        items = store.get(checkout_line_items.TABLE, session_id)["data"]
        ancestors = "*" if session["ui_mode"] == "embedded_page" else "'none'"
        headers = {"Content-Security-Policy": PAGE_CSP.format(ancestors=ancestors), "Cache-Control": "no-store"}
        return HTMLResponse(page_html(session, items, emulator.clock.now()), headers=headers)

    result: list[BaseRoute] = [Route("/c/pay/{session_id}", page, methods=["GET"])]
    for path, (filename, media_type) in ASSETS.items():
        body = (STATIC_DIR / Path(filename)).read_bytes()
        headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
        result.append(Route(path, _asset(body, media_type, headers), methods=["GET", "HEAD"]))
    return result


def _asset(body: bytes, media_type: str, headers: dict[str, str]):
    async def endpoint(request: Request) -> Response:
        return Response(body, media_type=media_type, headers=headers)

    return endpoint
