"""The Stripe Elements Card Element as a Streamlit component (Components v2, no build step).

Stripe.js renders the card inputs in its own iframe, so card numbers never reach this app. In the Charges flow
the component returns only the token Stripe.js creates, with the card's brand and last four digits and a
per-click nonce; in the PaymentIntents flow it asks to pay (a nonce), confirms the intent Python hands back with
`stripe.confirmCardPayment`, and reports the intent's id and status (which Python checks with Stripe).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from components import component_css, module_js

_HERE = Path(__file__).resolve().parent

# Mounted in the page's DOM, not a shadow root: Stripe.js refuses to mount an Element inside a ShadowRoot.
_card_component = st.components.v2.component(
    "stripe_press_elements_card",
    js=module_js(_HERE / "card.js"),
    css=component_css(_HERE / "card.css"),
    isolate_styles=False,
)
_scroll_component = st.components.v2.component(
    "stripe_press_bring_into_view",
    js=(_HERE / "scroll.js").read_text(encoding="utf-8"),
    isolate_styles=False,
)
# In the page's DOM too: it marks Streamlit's own inputs, outside any shadow root.
_field_errors_component = st.components.v2.component(
    "stripe_press_field_errors",
    js=(_HERE / "field_errors.js").read_text(encoding="utf-8"),
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
    flow: str = "charges",
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Render Stripe's Card Element and a Pay button; return what a click produced, once, or None.

    Args:
        publishable_key: the `pk_test_…` key Stripe.js uses to create tokens (never the secret key).
        stripe_js_url: where Stripe.js is loaded from (js.stripe.com/v3/ or the emulator's /v3/).
        amount_label: the button text, e.g. "Pay $23.00" (display only; the charge amount is set server-side).
        key: the Streamlit element key (required, so the Element survives reruns).
        disabled: disable the Pay button (e.g. while an order is being charged).
        billing: name and address_* fields passed to `stripe.createToken` as the card's billing details.
        reset_token: change it to re-enable the button after Python has handled a token (e.g. a decline).
        flow: "charges" (createToken) or "payment_intents" (confirmCardPayment).
        confirm: payment_intents only: `{"nonce", "client_secret", "billing_details"}` for the click of that
            nonce; the component confirms that intent once.

    Returns:
        charges: `{"token": "tok_…", "brand": "visa", "last4": "4242", "nonce": "<uuid>"}` on the run that
        follows a click on Pay. payment_intents: `{"action": "pay", "nonce"}` after a click, then
        `{"action": "outcome", "nonce", "payment_intent", "status"}` after the confirm (the browser's word:
        check it with Stripe). Else None. The button stays disabled after a click until `reset_token` changes.
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
            "flow": flow,
            "confirm": confirm,
        },
        on_token_change=lambda: None,
        on_pay_change=lambda: None,
        on_outcome_change=lambda: None,
    )
    if flow == "payment_intents":
        outcome = getattr(result, "outcome", None)
        if isinstance(outcome, dict) and outcome.get("nonce"):
            return {"action": "outcome", **outcome}
        click = getattr(result, "pay", None)
        return {"action": "pay", "nonce": click["nonce"]} if isinstance(click, dict) and click.get("nonce") else None
    token = getattr(result, "token", None)
    return token if isinstance(token, dict) and token.get("token") else None


def bring_into_view(
    selector: str, *, key: str, token: str | int, text: str | None = None, block: str = "start", focus: bool = False
) -> None:
    """Scroll the first element matching `selector` (and containing `text`) into view, once per `token`.

    Args:
        selector: a CSS selector of the page, e.g. `input[aria-label="Email"]`.
        key: the Streamlit element key.
        token: change it to scroll again (e.g. a counter of clicks on Pay).
        text: only an element whose text contains this.
        block: "start" or "center", as `Element.scrollIntoView`.
        focus: also focus the element (without scrolling again).
    """
    target = {"selector": selector, "text": text, "token": str(token), "block": block, "focus": focus}
    _scroll_component(key=key, data={"target": target})


def describe_field_errors(messages: dict[str, str | None], *, key: str) -> None:
    """Mark the inputs of keyed Streamlit widgets as wrong for assistive technology, or as fixed.

    Each input of a widget whose message id is given gets `aria-invalid="true"` and `aria-describedby` naming
    the element with that id (its message, drawn by the page); a widget given None loses both, if this set them.

    Args:
        messages: widget key -> the id of the element holding its message, or None when it is right. List every
            widget that can be wrong, so a fixed one is unmarked.
        key: the Streamlit element key.
    """
    _field_errors_component(key=key, data={"fields": messages})
