"""The Stripe Elements Card Element as a Streamlit component (Components v2, no build step).

Stripe.js renders the card inputs in its own iframe, so card numbers never reach this app: the component returns
only the token Stripe.js creates, with the card's brand and last four digits and a per-click nonce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

_HERE = Path(__file__).resolve().parent

# Mounted in the page's DOM, not a shadow root: Stripe.js refuses to mount an Element inside a ShadowRoot.
_card_component = st.components.v2.component(
    "stripe_press_elements_card",
    js=(_HERE / "card.js").read_text(encoding="utf-8"),
    css=(_HERE / "card.css").read_text(encoding="utf-8"),
    isolate_styles=False,
)


def elements_card(
    publishable_key: str,
    stripe_js_url: str,
    *,
    amount_label: str,
    key: str,
    disabled: bool = False,
    billing: dict[str, str] | None = None,
    reset_token: str | int | None = None,
) -> dict[str, Any] | None:
    """Render Stripe's Card Element and a Pay button; return the token of a click, once, or None.

    Args:
        publishable_key: the `pk_test_…` key Stripe.js uses to create tokens (never the secret key).
        stripe_js_url: where Stripe.js is loaded from (js.stripe.com/v3/ or the emulator's /v3/).
        amount_label: the button text, e.g. "Pay $23.00" (display only; the charge amount is set server-side).
        key: the Streamlit element key (required, so the Element survives reruns).
        disabled: disable the Pay button (e.g. while an order is being charged).
        billing: name and address_* fields passed to `stripe.createToken` as the card's billing details.
        reset_token: change it to re-enable the button after Python has handled a token (e.g. a decline).

    Returns:
        `{"token": "tok_…", "brand": "visa", "last4": "4242", "nonce": "<uuid>"}` on the run that follows a
        click on Pay, else None. The button stays disabled after a click until `reset_token` changes.
    """
    result = _card_component(
        key=key,
        data={
            "publishable_key": publishable_key,
            "stripe_js_url": stripe_js_url,
            "amount_label": amount_label,
            "disabled": bool(disabled),
            "billing": billing or {},
            "reset_token": reset_token,
        },
        on_token_change=lambda: None,
    )
    token = getattr(result, "token", None)
    return token if isinstance(token, dict) and token.get("token") else None
