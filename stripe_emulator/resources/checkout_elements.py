"""What the Checkout Elements SDK of the fake Stripe.js reads and writes on a `ui_mode: elements` session.

Stripe.js's `stripe.initCheckoutElementsSdk({clientSecret})` (docs.stripe.com/js/custom_checkout/init; named
`initCheckout` before API 2026-03-25.dahlia, docs.stripe.com/changelog/dahlia/2026-03-25/rename-init-checkout-to-
init-checkout-elements) talks to Stripe with the publishable key and the session's `client_secret`. Stripe keeps
those calls private; the emulator's are:

- `GET  /v1/payment_pages/{id}?client_secret=…` — the session as Stripe.js's Session object shows it
  (docs.stripe.com/js/custom_checkout/session_object): totals with `minorUnitsAmount`, line items, email, phone,
  shipping address, status.
- `POST /v1/payment_pages/{id}` — `email`, `phone`, `shipping[name]`, `shipping[address][…]`: what
  `actions.updateEmail`, `actions.updatePhoneNumber` and the Shipping Address Element set, kept on the session
  (`customer_details`, `collected_information.shipping_details`) and checked per country (address_rules.py).
- `POST /v1/payment_pages/{id}/confirm` — what `actions.confirm()` starts: once the session has what it collects,
  its PaymentIntent (made as the hosted page makes it, carrying the shipping address), whose client secret the
  Payment Element's frame then confirms with the payment method the customer entered there.
"""

from __future__ import annotations

import secrets
from typing import Any

from stripe_emulator import address_rules, money
from stripe_emulator import params as p
from stripe_emulator.core import Context
from stripe_emulator.errors import StripeError, invalid
from stripe_emulator.resources import checkout_line_items as line_items
from stripe_emulator.resources import checkout_sessions as sessions

SECRET = {"client_secret": (p.string(), True)}
UPDATE_PARAMS = {
    **SECRET,
    "email": (p.string(800), False),
    "phone": (p.string(40), False),
    "shipping": (p.hash_of({"name": (p.string(256), True), "address": (p.hash_of(p.ADDRESS), True)}), False),
}
CONFIRM_PARAMS = {**SECRET, "payment_method_type": (p.string(), True)}


def _session(ctx: Context, session_id: str, client_secret: str) -> dict[str, Any]:
    """The elements session the client secret belongs to; Stripe's 400 for any other."""
    session = sessions.get_session(ctx, session_id)
    if session["ui_mode"] != "elements" or not secrets.compare_digest(session["client_secret"] or "", client_secret):
        raise invalid("The client_secret does not match this Checkout Session.", param="client_secret")
    return session


def _amount(amount: int, currency: str) -> dict[str, Any]:
    """An amount as Stripe.js's Session object gives it: display text and minor units."""
    return {"amount": money.display(amount, currency), "minorUnitsAmount": amount}


def view(ctx: Context, session: dict[str, Any]) -> dict[str, Any]:
    """The Session object of Stripe.js for `session` (camelCase, as the SDK hands it to the page)."""
    currency = session["currency"]
    details = session["customer_details"] or {}
    shipping = (session["collected_information"] or {}).get("shipping_details")
    intent = ctx.store.get("payment_intents", session["payment_intent"]) if session["payment_intent"] else None
    last_error = (intent or {}).get("last_payment_error")
    items = [
        {
            "id": item["id"],
            "name": item["description"],
            "quantity": item["quantity"],
            "unitAmount": _amount(item["price"]["unit_amount"], currency),
            "subtotal": _amount(item["amount_subtotal"], currency),
            "total": _amount(item["amount_total"], currency),
        }
        for item in line_items.items_of(ctx, session["id"])
    ]
    zero = _amount(0, currency)
    return {
        "id": session["id"],
        "object": "checkout.session.elements",
        "currency": currency,
        "minorUnitsAmountDivisor": 1 if currency in money.ZERO_DECIMAL else 100,
        "email": details.get("email"),
        "phoneNumber": details.get("phone"),
        "shippingAddress": shipping,
        "lineItems": items,
        "total": {
            "subtotal": _amount(session["amount_subtotal"], currency),
            "total": _amount(session["amount_total"], currency),
            "discount": zero,
            "shippingRate": zero,
            "taxExclusive": zero,
            "taxInclusive": zero,
            "appliedBalance": zero,
        },
        "status": {
            "type": "open" if session["status"] == "open" else session["status"],
            "paymentStatus": session["payment_status"],
        },
        "paymentMethodTypes": session["payment_method_types"],
        "phoneNumberCollection": session["phone_number_collection"]["enabled"],
        "shippingAddressCollection": session["shipping_address_collection"],
        "returnUrl": sessions.redirect_url(session["return_url"], session["id"]),
        "redirectOnCompletion": session["redirect_on_completion"],
        "lastPaymentError": {"code": last_error.get("code"), "message": last_error["message"]} if last_error else None,
    }


def _open(session: dict[str, Any]) -> None:
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}: it can no longer be changed.", "session")


def retrieve(ctx: Context, session_id: str) -> dict[str, Any]:
    """GET /v1/payment_pages/{id}: the SDK's view of the session."""
    params = p.check(ctx.params, SECRET)
    return view(ctx, _session(ctx, session_id, params["client_secret"]))


def update(ctx: Context, session_id: str) -> dict[str, Any]:
    """POST /v1/payment_pages/{id}: the customer's email, phone or shipping address, each checked first."""
    params = p.check(ctx.params, UPDATE_PARAMS)
    with ctx.store.transaction():
        session = _session(ctx, session_id, params["client_secret"])
        _open(session)
        details = dict(session["customer_details"] or sessions.customer_details(None))
        if "email" in params:
            details["email"] = address_rules.check_email(params["email"])
        if "phone" in params:
            details["phone"] = address_rules.check_phone(params["phone"])
        collected = dict(session["collected_information"] or {"business_name": None, "individual_name": None})
        if "shipping" in params:
            allowed = (session["shipping_address_collection"] or {}).get("allowed_countries")
            shipping = address_rules.check_shipping(params["shipping"], allowed)
            collected["shipping_details"] = shipping
            details.update(name=shipping["name"], address=shipping["address"])
        collected.setdefault("shipping_details", None)
        session["customer_details"] = details
        session["collected_information"] = collected
        sessions.save(ctx, session)
    return view(ctx, session)


def confirm(ctx: Context, session_id: str) -> dict[str, Any]:
    """POST /v1/payment_pages/{id}/confirm: the session's PaymentIntent, once the session has what it collects."""
    params = p.check(ctx.params, CONFIRM_PARAMS)
    with ctx.store.transaction():
        session = _session(ctx, session_id, params["client_secret"])
        _open(session)
        if params["payment_method_type"] not in session["payment_method_types"]:
            raise invalid(
                f"This Checkout Session does not accept {params['payment_method_type']}.", "payment_method_type"
            )
        details = session["customer_details"] or {}
        shipping = (session["collected_information"] or {}).get("shipping_details")
        missing = []
        if not details.get("email"):
            missing.append(("email", "Enter your email address."))
        if session["phone_number_collection"]["enabled"] and not details.get("phone"):
            missing.append(("phone", "Enter your phone number."))
        if session["shipping_address_collection"] and not shipping:
            missing.append(("shipping", "Enter your shipping address."))
        if missing:
            param, message = missing[0]
            raise StripeError(400, "invalid_request_error", message, param=param, code="parameter_missing")
        intent = sessions.session_payment_intent(
            ctx, session, details["email"], details.get("name"), details.get("phone"), shipping
        )
    return {"payment_intent": intent["id"], "client_secret": intent["client_secret"], "session": view(ctx, session)}
