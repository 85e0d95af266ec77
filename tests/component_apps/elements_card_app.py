"""A Streamlit page that mounts the card component (the Card Element) on its own, beside checkout_elements_app.py,
so the benchmarks time both forms the same way.

Settings: the shop's (STRIPE_EMULATOR_PORT, …).
"""

from __future__ import annotations

import json

import streamlit as st

from components.elements_card import elements_card
from shop.config import get_settings

st.set_page_config(page_title="Card Element", page_icon=":material/credit_card:")
settings = get_settings()

st.title("Checkout", anchor=False)
answer = elements_card(settings.publishable_key, settings.stripe_js_url, amount_label="Pay $64.00", key="card")
st.text(json.dumps(answer, sort_keys=True))
