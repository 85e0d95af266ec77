"""Stripe's Payment Element and Address Element on a Checkout Session, as a Streamlit component (Components v2,
no build step).

Stripe.js's Checkout Elements SDK (docs.stripe.com/js/custom_checkout) renders both Elements in Stripe's own
frames, so card numbers, bank details and the address typed never reach this app: Python gets the state of the
payment, the session's id and total, and an error's code and message. The server settles the order from the
Checkout Session it retrieves from Stripe, never from this component's word.

How a page uses it:
- Create one `ui_mode="elements"` Checkout Session per order on the server (line items from the catalog,
  `customer_email`, `shipping_address_collection`, `phone_number_collection`, the order id in `metadata` and
  `payment_intent_data.metadata`, an idempotency key from the order) with
  `return_url="<this page's URL>?session_id={CHECKOUT_SESSION_ID}"`; keep the session's id with the order, so a
  reload or the way back from a redirect method finds the same session (retrieve it: it carries `client_secret`).
- Mount `checkout_elements(session.client_secret, …, expected_amount=<the order's total>)` with the same key on
  every run; act on each new `attempt` once, and on "succeeded" / "processing" retrieve the session and settle
  from its `status` and `payment_status` ("unpaid" while a bank debit is processing: nothing ships until the
  `checkout.session.async_payment_succeeded` webhook or a sync sees "paid").
- A redirect method (Klarna) leaves the page and comes back to the return URL with `session_id`,
  `payment_intent`, `payment_intent_client_secret` and `redirect_status`: the wrapper reads them from
  `st.query_params` when they name this session and reports the result; the page settles from the retrieved
  session as above, then removes those parameters (`del st.query_params[name]` for each of `RETURN_PARAMS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from components import component_css, module_js

_HERE = Path(__file__).resolve().parent

# The shop's look inside Stripe's frames (the Appearance API, docs.stripe.com/elements/appearance-api).
SHOP_APPEARANCE: dict[str, Any] = {
    "theme": "stripe",
    "variables": {
        "colorPrimary": "#635bff",
        "colorText": "#1a1f36",
        "colorDanger": "#df1b41",
        "fontFamily": "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', sans-serif",
        "borderRadius": "8px",
    },
}

# The query parameters Stripe appends to the return URL after a redirect method (docs.stripe.com/js/custom_checkout
# /confirm); the shop's return URL adds `session_id={CHECKOUT_SESSION_ID}`.
RETURN_PARAMS = ("session_id", "payment_intent", "payment_intent_client_secret", "redirect_status")

# Mounted in the page's DOM, not a shadow root: Stripe.js refuses to mount an Element inside a ShadowRoot, and the
# 3-D Secure challenge it shows is a fixed overlay of the whole page, so no frame height limits it.
_checkout_component = st.components.v2.component(
    "stripe_press_checkout_elements",
    js=module_js(_HERE / "checkout.js"),
    css=component_css(_HERE / "checkout.css"),
    isolate_styles=False,
)


def session_id_of(client_secret: str) -> str:
    """The Checkout Session's id (`cs_…`) a client secret belongs to (`cs_…_secret_…`)."""
    return client_secret.split("_secret_")[0]


def _returned_from_redirect(session_id: str) -> dict[str, str] | None:
    """The redirect method's answer in this page's query string, when it is about this session."""
    params = st.query_params
    if params.get("session_id") != session_id or not params.get("redirect_status"):
        return None
    return {"payment_intent": params.get("payment_intent", ""), "redirect_status": params.get("redirect_status", "")}


def checkout_elements(
    client_secret: str,
    publishable_key: str,
    stripe_js_url: str,
    *,
    email: str,
    expected_amount: int,
    key: str,
    appearance: dict[str, Any] | None = None,
    disabled: bool = False,
    contact: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Render the Address Element (shipping), the Payment Element, the session's total and a Pay button.

    The Pay button is enabled only when the SDK's `canConfirm` is true and the session's total (from Stripe, never
    from the browser) equals `expected_amount`; a click calls `actions.confirm({redirect: "if_required"})` once.
    Reruns keep the mounted Elements (a declined attempt keeps everything typed, on the same session); a new
    `client_secret` mounts the new session's Elements.

    Args:
        client_secret: the Checkout Session's `client_secret` (a `ui_mode="elements"` session).
        publishable_key: the `pk_test_…` key Stripe.js uses (never the secret key).
        stripe_js_url: where Stripe.js is loaded from (js.stripe.com/v3/ or the emulator's /v3/).
        email: the customer's email, set on the session with `actions.updateEmail` when it differs.
        expected_amount: the order's total in minor units, as the server computed it from the catalog.
        key: the Streamlit element key (required, so the Elements survive reruns).
        appearance: the Appearance API's `{"theme", "variables"}`; the shop's look by default.
        disabled: disable the Pay button (e.g. while the server settles the order).
        contact: a saved address for the Address Element, Stripe.js's Contact shape (`{"name", "address": {"line1",
          "line2", "city", "state", "postal_code", "country"}, "phone"}`): shown selected, so a customer who typed
          it in the shop's own form does not type it again.

    Returns:
        Always a dict, the component's latest report (a copy):
        `{"state", "session_id", "attempt", "total", "error", "payment_intent", "redirect_status"}` where
        - state: "loading" (before the Elements load), "ready", "confirming" (a click is being confirmed),
          "redirecting" (a redirect method is leaving the page), "succeeded" (the session is complete and paid),
          "processing" (complete, a bank debit not yet settled), or "failed" (see error; the customer can try
          again on the same session unless error.code is "amount_mismatch" or "load_failed");
        - session_id: the `cs_…` id; attempt: the id of the click being or last confirmed (one per click, so a
          rerun or a second click never counts twice), None before any click or after a page load;
        - total: `{"amount": "$64.00", "minor_units": 6400, "currency": "usd"}` as the SDK reported it, or None;
        - error: `{"code", "message"}` when failed (Stripe's message, safe to show as plain text), else None;
        - payment_intent and redirect_status: from the return URL after a redirect method, else None.
        The browser's word: the server retrieves the Checkout Session before it settles anything.
    """
    session_id = session_id_of(client_secret)
    result = _checkout_component(
        key=key,
        data={
            "client_secret": client_secret,
            "publishable_key": publishable_key,
            "stripe_js_url": stripe_js_url,
            "email": email,
            "expected_amount": int(expected_amount),
            "appearance": appearance if appearance is not None else SHOP_APPEARANCE,
            "disabled": bool(disabled),
            "returned": _returned_from_redirect(session_id),
            "contacts": [dict(contact)] if contact else [],
        },
        on_outcome_change=lambda: None,
    )
    outcome = getattr(result, "outcome", None)
    if isinstance(outcome, dict) and outcome.get("session_id") == session_id:
        return dict(outcome)
    return {
        "state": "loading",
        "session_id": session_id,
        "attempt": None,
        "total": None,
        "error": None,
        "payment_intent": None,
        "redirect_status": None,
    }
