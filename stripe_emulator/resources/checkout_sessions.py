"""Checkout Sessions: `/v1/checkout/sessions` — create, retrieve, list, line items, expire (`mode=payment`).

docs.stripe.com/api/checkout/sessions: a session is `open` until the customer pays on its page (`complete`) or it
expires (`expired`: at `expires_at`, 24 hours by default, or by `POST …/expire`). `ui_mode` is `hosted_page` (the
session's `url` is a page served by this emulator, see `checkout_page.py`), `embedded_page` (Stripe.js mounts that
page from the session's `client_secret` and sends the customer to `return_url`) or `elements` (accepted; its
Elements SDK is not imitated). The names `hosted`, `embedded` and `custom` fail since API 2026-03-25.dahlia
(docs.stripe.com/changelog/dahlia/2026-03-25/updates-available-checkout-session-ui-modes).

The session's PaymentIntent is made when the customer pays (`payment_intent` is null until then, as since API
2022-08-01), from `payment_intent_data`. The session completes when that intent succeeds (`payment_status: paid`)
or is authorized for a later capture (`unpaid`, capture_method=manual): an event follower watches the intent's
events, so a 3-D Secure challenge finished in its own frame completes the session too.
"""

from __future__ import annotations

import copy
import urllib.parse
from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store
from stripe_emulator.core import (
    EVENT_FOLLOWERS,
    EXPANDABLE,
    SPECIAL_EXPANSIONS,
    Context,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
    shipping_object,
)
from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.resources import checkout_line_items as line_items
from stripe_emulator.resources import customers
from stripe_emulator.resources import payment_intents as pis

TABLE = "checkout_sessions"
store.TABLES.setdefault(TABLE, ("payment_intent", "customer", "status"))
OPEN_UNTIL = "open_expires_at"
store.DERIVED.setdefault(TABLE, {})[OPEN_UNTIL] = lambda session: (
    session["expires_at"] if session.get("status") == "open" else None
)

# docs.stripe.com/api/checkout/sessions/create#create_checkout_session-expires_at: "between 30 minutes and 24
# hours after Checkout Session creation", 24 hours by default.
MIN_LIFETIME_S = 30 * 60
MAX_LIFETIME_S = 24 * 3600
UI_MODES = ("hosted_page", "embedded_page", "elements")
CLIENT_SIDE_MODES = ("embedded_page", "elements")
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
# The intent states an unpaid session may still confirm, or cancel when it expires.
UNFINISHED = ("requires_payment_method", "requires_confirmation", "requires_action")
# What a session may offer here: cards; US bank accounts (ACH Direct Debit, USD only) and Klarna (a redirect)
# through the Payment Element of `ui_mode: elements` (see checkout_elements.py, other_payment_methods.py).
PAYMENT_METHOD_TYPES = ("card", "us_bank_account", "klarna")
USD_ONLY_TYPES = ("us_bank_account",)

PAYMENT_INTENT_DATA = {
    "capture_method": (p.enum("automatic", "automatic_async", "manual"), False),
    "description": (p.string(1000), False),
    "metadata": (p.metadata, False),
    "receipt_email": (p.email, False),
    "setup_future_usage": (p.enum("off_session", "on_session"), False),
    "statement_descriptor": (p.string(22), False),
    "statement_descriptor_suffix": (p.string(22), False),
    "transfer_group": (p.string(), False),
}
CREATE_PARAMS = {
    "mode": (p.enum("payment", "setup", "subscription"), True),
    "line_items": (line_items.line_items_param, False),
    "customer": (p.string(), False),
    "customer_email": (p.email, False),
    "customer_creation": (p.enum("always", "if_required"), False),
    "client_reference_id": (p.string(200), False),
    "billing_address_collection": (p.enum("auto", "required"), False),
    "shipping_address_collection": (p.hash_of({"allowed_countries": (p.string_list, True)}), False),
    "phone_number_collection": (p.hash_of({"enabled": (p.boolean, True)}), False),
    "metadata": (p.metadata, False),
    "payment_intent_data": (p.hash_of(PAYMENT_INTENT_DATA), False),
    "payment_method_types": (p.string_list, False),
    "success_url": (p.string(5000), False),
    "cancel_url": (p.string(5000), False),
    "return_url": (p.string(5000), False),
    "redirect_on_completion": (p.enum("always", "if_required", "never"), False),
    "expires_at": (p.integer(), False),
    "ui_mode": (p.enum(*UI_MODES), False),
    "submit_type": (p.enum("auto", "book", "donate", "pay", "subscribe"), False),
    "locale": (p.string(), False),
    "expand": (p.string_list, False),
}


def _check_url(value: str | None, name: str) -> None:
    if value is None:
        return
    parts = urllib.parse.urlsplit(value.replace(SESSION_ID_PLACEHOLDER, "x"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid("Not a valid URL", param=name, code="url_invalid")


def _check_create(ctx: Context, params: dict[str, Any]) -> str:
    """Stripe's refusals of a create that the schema alone lets through; returns the ui_mode."""
    if params["mode"] != "payment":
        raise invalid(f"The emulator's Checkout Sessions support mode=payment only, not {params['mode']}.", "mode")
    if not params.get("line_items"):
        raise invalid("line_items is required in payment mode.", param="line_items", code="parameter_missing")
    ui_mode = params.get("ui_mode") or "hosted_page"
    if ui_mode in CLIENT_SIDE_MODES:
        for name in ("success_url", "cancel_url"):
            if params.get(name):
                raise invalid(f"`{name}` cannot be used with `ui_mode: {ui_mode}`; use `return_url`.", param=name)
        if not params.get("return_url") and params.get("redirect_on_completion") != "never":
            raise invalid(
                f"`return_url` is required for `ui_mode: {ui_mode}` unless `redirect_on_completion` is `never`.",
                param="return_url",
                code="parameter_missing",
            )
    else:
        for name in ("return_url", "redirect_on_completion"):
            if name in params:
                raise invalid(f"`{name}` can only be used with `ui_mode: embedded_page` or `elements`.", param=name)
    if params.get("redirect_on_completion") == "never" and params.get("return_url"):
        raise invalid("`return_url` cannot be used with `redirect_on_completion: never`.", param="return_url")
    for name in ("success_url", "cancel_url", "return_url"):
        _check_url(params.get(name), name)
    if params.get("customer") and params.get("customer_email"):
        raise invalid("You may only specify one of these parameters: customer, customer_email.", param="customer")
    if params.get("customer") and params.get("customer_creation"):
        raise invalid("You may only specify one of these parameters: customer, customer_creation.", "customer")
    for kind in params.get("payment_method_types") or []:
        if kind not in PAYMENT_METHOD_TYPES:
            raise invalid(
                f"The emulator's Checkout Sessions take {', '.join(PAYMENT_METHOD_TYPES)}, not {kind}.",
                param="payment_method_types",
            )
    expires_at = params.get("expires_at")
    if expires_at is not None and not ctx.now + MIN_LIFETIME_S <= expires_at <= ctx.now + MAX_LIFETIME_S:
        raise invalid(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours after Checkout Session creation.",
            param="expires_at",
        )
    types = params.get("payment_method_types") or []
    currencies = {item.get("price_data", {}).get("currency") for item in params["line_items"]} - {None}
    if any(kind in USD_ONLY_TYPES for kind in types) and currencies - {"usd"}:
        # docs.stripe.com/payments/ach-direct-debit: USD payments only.
        raise invalid("us_bank_account takes payments in usd only.", param="payment_method_types")
    if ui_mode != "elements" and any(kind != "card" for kind in types):
        raise invalid(
            "The emulator's hosted and embedded Checkout pages take cards only; other payment method types are "
            "offered by the Payment Element of `ui_mode: elements`.",
            param="payment_method_types",
        )
    allowed = (params.get("shipping_address_collection") or {}).get("allowed_countries")
    if allowed is not None and (not allowed or any(len(code) != 2 or not code.isupper() for code in allowed)):
        raise invalid(
            "Invalid allowed_countries: give two-letter country codes (ISO 3166-1 alpha-2).",
            param="shipping_address_collection[allowed_countries]",
        )
    return ui_mode


def _customer(ctx: Context, customer_id: str | None) -> dict[str, Any] | None:
    if not customer_id:
        return None
    customer = get_object(ctx, "customers", "customer", customer_id, "customer")
    if customer.get("deleted"):
        raise missing("customer", customer_id, "customer")
    return customer


def customer_details(email: str | None, name: str | None = None, phone: str | None = None, address=None):
    """The session's `customer_details` hash."""
    full_address = None
    if address is not None:
        full_address = {key: None for key in p.ADDRESS}
        full_address.update(address)
    return {
        "address": full_address,
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": phone,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def session_object(
    ctx: Context, params: dict[str, Any], ui_mode: str, items: list[dict[str, Any]], customer: dict[str, Any] | None
) -> dict[str, Any]:
    """A new open Checkout Session for checked create parameters (field names: the SDK's `checkout.Session`)."""
    session_id = new_id("cs_test_", 58)
    currency, total = line_items.totals(items)
    email = params.get("customer_email") or (customer or {}).get("email")
    shipping = params.get("shipping_address_collection")
    phone = params.get("phone_number_collection")
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.get("billing_address_collection"),
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": f"{session_id}_secret_{new_id('', 24)}" if ui_mode in CLIENT_SIDE_MODES else None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": ctx.now,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": dict.fromkeys(("after_submit", "shipping_address", "submit", "terms_of_service_acceptance")),
        "customer": customer["id"] if customer else None,
        "customer_creation": None if customer else params.get("customer_creation", "if_required"),
        "customer_details": customer_details(email) if email else None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "expires_at": params.get("expires_at") or ctx.now + MAX_LIFETIME_S,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": params.get("locale"),
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": bool(phone and phone["enabled"])},
        "presentment_details": None,
        "recovered_from": None,
        "redirect_on_completion": (params.get("redirect_on_completion") or "always")
        if ui_mode in CLIENT_SIDE_MODES
        else None,
        "return_url": params.get("return_url"),
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": {"allowed_countries": shipping["allowed_countries"]} if shipping else None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": ui_mode,
        "url": f"{ctx.base_url}/c/pay/{session_id}" if ui_mode == "hosted_page" else None,
        "wallet_options": None,
    }


def _answer(ctx: Context, session: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    return expand(ctx, copy.deepcopy(session), paths)


def _expand_line_items(ctx: Context, session: dict[str, Any]) -> None:
    session["line_items"] = line_items.list_page(ctx, session["id"], {"limit": 100})


SPECIAL_EXPANSIONS[("checkout.session", "line_items")] = _expand_line_items
EXPANDABLE[("checkout.session", "payment_intent")] = "payment_intents"
EXPANDABLE[("checkout.session", "customer")] = "customers"


def redirect_url(template: str | None, session_id: str) -> str | None:
    """`success_url` or `return_url` with `{CHECKOUT_SESSION_ID}` replaced by the session's id."""
    return template.replace(SESSION_ID_PLACEHOLDER, session_id) if template else None


def save(ctx: Context, session: dict[str, Any]) -> None:
    """Write a changed session back."""
    ctx.store.update(TABLE, session)


def get_session(ctx: Context, session_id: str) -> dict[str, Any]:
    """A stored session, after any due expiry; 404 when unknown."""
    expire_due(ctx)
    return get_object(ctx, TABLE, "checkout.session", session_id)


# ---------------------------------------------------------------- state changes


def _cancel_unfinished_intent(ctx: Context, session: dict[str, Any]) -> None:
    """An expired session's PaymentIntent is canceled when no payment went through."""
    intent = ctx.store.get("payment_intents", session["payment_intent"]) if session["payment_intent"] else None
    if intent is None or intent["status"] not in UNFINISHED:
        return
    intent.update(status="canceled", canceled_at=ctx.now, cancellation_reason="abandoned", next_action=None)
    ctx.store.update("payment_intents", intent)
    ctx.emit("payment_intent.canceled", intent)


def _expire(ctx: Context, session: dict[str, Any]) -> None:
    _cancel_unfinished_intent(ctx, session)
    session.update(status="expired", url=None)
    save(ctx, session)
    ctx.emit("checkout.session.expired", session)


def expire_due(ctx: Context) -> None:
    """Expire every open session whose `expires_at` has passed on the emulator's clock (one index lookup)."""
    while due := ctx.store.select(TABLE, [(f"{OPEN_UNTIL} <= ?", [ctx.now])], limit=100, order_by=OPEN_UNTIL):
        for session in due:
            _expire(ctx, session)


def _complete_on_payment(ctx: Context, event: dict[str, Any]) -> None:
    """Event follower: the open session of a PaymentIntent that succeeded, was authorized, or is processing (a
    bank debit) completes; a completed session whose bank debit settles later hears how it went.

    docs.stripe.com/payments/checkout/fulfill-orders ("Handle delayed notification payment methods"): the session
    completes with `payment_status: unpaid` while the debit is processing, then
    `checkout.session.async_payment_succeeded` (paid) or `checkout.session.async_payment_failed` follows."""
    kind = event["type"]
    intent = event["data"]["object"]
    if kind in ("payment_intent.succeeded", "payment_intent.amount_capturable_updated", "payment_intent.processing"):
        where = [("payment_intent = ?", [intent["id"]]), ("status = ?", ["open"])]
        for session in ctx.store.select(TABLE, where, limit=1):
            session.update(
                status="complete",
                payment_status="paid" if intent["status"] == "succeeded" else "unpaid",
                customer=intent.get("customer") or session["customer"],
                url=None,
            )
            save(ctx, session)
            ctx.emit("checkout.session.completed", session)
            return
    if kind not in ("payment_intent.succeeded", "payment_intent.payment_failed") or not _settled_later(ctx, intent):
        return
    where = [("payment_intent = ?", [intent["id"]]), ("status = ?", ["complete"])]
    for session in ctx.store.select(TABLE, where, limit=1):
        if session["payment_status"] != "unpaid":
            continue
        if kind == "payment_intent.succeeded":
            session["payment_status"] = "paid"
            save(ctx, session)
            ctx.emit("checkout.session.async_payment_succeeded", session)
        else:
            ctx.emit("checkout.session.async_payment_failed", session)


def _settled_later(ctx: Context, intent: dict[str, Any]) -> bool:
    """Whether the intent's latest charge was a delayed-notification payment (a bank debit)."""
    charge = ctx.store.get("charges", intent["latest_charge"]) if intent.get("latest_charge") else None
    return charge is not None and charge["payment_method_details"]["type"] == "us_bank_account"


EVENT_FOLLOWERS.append(_complete_on_payment)


# ---------------------------------------------------------------- handlers


def create_checkout_session(ctx: Context) -> dict[str, Any]:
    """POST /v1/checkout/sessions."""
    params = p.check(ctx.params, CREATE_PARAMS)
    ui_mode = _check_create(ctx, params)
    with ctx.store.transaction():
        customer = _customer(ctx, params.get("customer"))
        items = line_items.build_line_items(ctx, params["line_items"])
        session = session_object(ctx, params, ui_mode, items, customer)
        ctx.store.insert(TABLE, session)
        line_items.save(ctx, session, items, params.get("payment_intent_data") or {})
    return _answer(ctx, session, params.get("expand", []))


def retrieve_checkout_session(ctx: Context, session_id: str) -> dict[str, Any]:
    """GET /v1/checkout/sessions/{id}."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    return _answer(ctx, get_session(ctx, session_id), params.get("expand", []))


def list_checkout_sessions(ctx: Context) -> Any:
    """GET /v1/checkout/sessions: newest first; `payment_intent`, `customer`, `status` and `created` filters."""
    expire_due(ctx)
    status = p.enum("open", "complete", "expired")
    filters = {"payment_intent": p.string(), "customer": p.string(), "status": status}
    return list_objects(ctx, TABLE, "checkout.session", "/v1/checkout/sessions", filters, tuple(filters))


def list_line_items(ctx: Context, session_id: str) -> dict[str, Any]:
    """GET /v1/checkout/sessions/{id}/line_items: the items in the order given."""
    params = p.check(ctx.params, p.PAGINATION)
    get_session(ctx, session_id)
    return expand(ctx, line_items.list_page(ctx, session_id, params), params.get("expand", []))


def expire_checkout_session(ctx: Context, session_id: str) -> dict[str, Any]:
    """POST /v1/checkout/sessions/{id}/expire: only an open session (docs.stripe.com/api/checkout/sessions/expire)."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    with ctx.store.transaction():
        session = get_session(ctx, session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                "invalid_request_error",
                f'Only Checkout Sessions with a status in ["open"] can be expired; this one is {session["status"]}.',
                param="session",
            )
        _expire(ctx, session)
    return _answer(ctx, session, params.get("expand", []))


# ---------------------------------------------------------------- the hosted page's payment

PAY_PARAMS = {
    "email": (p.email, True),
    "name": (p.string(256), True),
    "phone": (p.string(20), False),
    "shipping": (p.hash_of({"name": (p.string(256), True), "address": (p.hash_of(p.ADDRESS), True)}), False),
}
SHIPPING_REQUIRED = ("line1", "city", "postal_code", "country")


def _collected_shipping(session: dict[str, Any], shipping: dict[str, Any] | None) -> dict[str, Any] | None:
    """The shipping details the page sent, checked against the session's `shipping_address_collection`."""
    collection = session["shipping_address_collection"]
    if collection is None:
        return None
    if shipping is None:
        raise invalid("Enter a shipping address.", param="shipping", code="parameter_missing")
    address = {key: None for key in p.ADDRESS}
    address.update(shipping["address"])
    for key in SHIPPING_REQUIRED:
        if not address[key]:
            raise invalid(f"Enter the shipping address's {key.replace('_', ' ')}.", param=f"shipping[address][{key}]")
    if address["country"] not in collection["allowed_countries"]:
        raise invalid("This store does not ship to that country.", param="shipping[address][country]")
    return {"name": shipping["name"], "address": address}


def start_payment(ctx: Context, session_id: str) -> dict[str, Any]:
    """POST /c/pay/{id}/payment (emulator-only): the page's customer details in, the PaymentIntent to confirm out.

    The session's intent is made on the first attempt from its `payment_intent_data` and reused after a decline,
    as Checkout retries on one intent; the browser then confirms it with Stripe.js (card details never pass
    through here). Answers `{payment_intent, client_secret}`."""
    params = p.check(ctx.params, PAY_PARAMS)
    with ctx.store.transaction():
        session = get_session(ctx, session_id)
        if session["status"] != "open":
            raise invalid(f"This Checkout Session is {session['status']}: it can no longer be paid.", "session")
        if session["phone_number_collection"]["enabled"] and not params.get("phone"):
            raise invalid("Enter a phone number.", param="phone", code="parameter_missing")
        shipping = _collected_shipping(session, params.get("shipping"))
        intent = session_payment_intent(ctx, session, params["email"], params["name"], params.get("phone"), shipping)
    return {"payment_intent": intent["id"], "client_secret": intent["client_secret"]}


def session_payment_intent(
    ctx: Context,
    session: dict[str, Any],
    email: str | None,
    name: str | None,
    phone: str | None,
    shipping: dict[str, Any] | None,
) -> dict[str, Any]:
    """The session's PaymentIntent to confirm now, with the customer's details recorded on the session.

    Made on the first attempt from the session's `payment_intent_data` and reused after a decline, as Checkout
    retries on one intent; its shipping is the collected address. The session is saved."""
    terms = line_items.payment_intent_data(ctx, session["id"])
    if not session["customer"] and (terms.get("setup_future_usage") or session["customer_creation"] == "always"):
        # A card saved for later needs a customer to belong to: Checkout creates one (customer_creation).
        fields = {"email": email, "name": name, "phone": phone}
        customer = customers.customer_object(ctx, fields)
        ctx.store.insert("customers", customer)
        ctx.emit("customer.created", customer)
        session["customer"] = customer["id"]
    intent = ctx.store.get("payment_intents", session["payment_intent"]) if session["payment_intent"] else None
    if intent is None or intent["status"] not in UNFINISHED:
        intent = pis.payment_intent_object(
            ctx,
            {
                **{key: value for key, value in terms.items() if key != "metadata"},
                "amount": session["amount_total"],
                "metadata": terms.get("metadata") or {},
                "customer": session["customer"],
                "shipping": shipping,
                "payment_method_types": session["payment_method_types"],
            },
            session["currency"],
        )
        ctx.store.insert("payment_intents", intent)
        ctx.emit("payment_intent.created", intent)
        session["payment_intent"] = intent["id"]
    else:
        intent.update(shipping=shipping_object(shipping), customer=session["customer"])
        ctx.store.update("payment_intents", intent)
    address = shipping["address"] if shipping else None
    session["customer_details"] = customer_details(email, name, phone, address)
    collected = {"business_name": None, "individual_name": None, "shipping_details": shipping}
    session["collected_information"] = collected
    save(ctx, session)
    return intent
