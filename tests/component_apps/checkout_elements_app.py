"""A Streamlit page that mounts the Checkout Elements component on its own, for the browser tests and the bench.

It creates a `ui_mode="elements"` Checkout Session through the official SDK against the configured Stripe (the
emulator in tests), with line items, shipping and phone collection, the customer's email, an order id in the
metadata and a return URL back to this page; it keeps the session's id in the query string, so a reload (or the way
back from a redirect method) shows the same session. The component's report is shown as plain text only.

Settings: the shop's (STRIPE_EMULATOR_PORT, …) and COMPONENT_APP_URL, this page's own address for the return URL.
`?session_id=new` starts a new session; `?cart=changed` makes the server expect another total than the session's.
"""

from __future__ import annotations

import json
import os
import uuid

import streamlit as st

from components.checkout_elements import checkout_elements
from shop.config import get_settings, stripe_client

LINE_ITEMS = [
    {"price_data": {"currency": "usd", "unit_amount": 2300, "product_data": {"name": "Stubborn Attachments"}},
     "quantity": 2},
    {"price_data": {"currency": "usd", "unit_amount": 1800, "product_data": {"name": "The Great Stagnation"}},
     "quantity": 1},
]  # fmt: skip
EXPECTED_AMOUNT = 6400  # what the server computed for the items above
# `?cart=changed`: the order gained a book after its session was made, so the server expects more than the session.
CHANGED_CART_AMOUNT = EXPECTED_AMOUNT + 1800
EMAIL = "ada@example.com"

st.set_page_config(page_title="Checkout Elements", page_icon=":material/shopping_cart:")
settings = get_settings()
client = stripe_client(settings)


def new_session():
    """A Checkout Session for the page's order, created on the server (prices and amounts never from a browser)."""
    order_id = f"order-{uuid.uuid4().hex[:12]}"
    return_url = os.environ.get("COMPONENT_APP_URL", "http://127.0.0.1:8501") + "/?session_id={CHECKOUT_SESSION_ID}"
    return client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "elements",
            "line_items": LINE_ITEMS,
            "payment_method_types": ["card", "us_bank_account", "klarna"],
            "shipping_address_collection": {"allowed_countries": ["US", "CA", "GB", "DE", "FR"]},
            "phone_number_collection": {"enabled": True},
            "customer_email": EMAIL,
            "metadata": {"order_id": order_id},
            "payment_intent_data": {"metadata": {"order_id": order_id}},
            "return_url": return_url,
        },
        options={"idempotency_key": f"checkout-session-{order_id}"},
    )


wanted = st.query_params.get("session_id")
if wanted and wanted != "new":
    session = client.v1.checkout.sessions.retrieve(wanted)
else:
    session = new_session()
    st.query_params["session_id"] = session.id

st.title("Checkout", anchor=False)
outcome = checkout_elements(
    session.client_secret,
    settings.publishable_key,
    settings.stripe_js_url,
    email=EMAIL,
    expected_amount=CHANGED_CART_AMOUNT if st.query_params.get("cart") == "changed" else EXPECTED_AMOUNT,
    key=f"checkout-{session.id}",
)
st.caption("Component report")
st.text(json.dumps(outcome, sort_keys=True))
st.text(f"state: {outcome['state']}")
