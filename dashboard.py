"""Stripe Press Shop: the Streamlit entry point.

Settings and mode, the emulator in emulator mode, and the navigation: the shop and "Your order" are public; the
finance pages exist in the navigation only once signed in (an unknown page URL shows "Page not found").
"""

from __future__ import annotations

import streamlit as st

from pages.ops_data import auth_configured
from shop.config import ConfigError, get_settings
from shop.emulator_process import ensure_running

st.set_page_config(page_title="Stripe Press Shop", page_icon="📚", layout="wide")


def _signed_in() -> bool:
    if auth_configured():
        return bool(getattr(st.user, "is_logged_in", False))
    return bool(st.session_state.get("ops_signed_in"))


try:
    settings = get_settings()
except ConfigError as exc:
    st.error(f"**The shop cannot start:** {exc}")
    st.stop()
emulator = ensure_running(settings)  # every page load: restarts an emulator that died (emulator mode only)
if not emulator.ok:
    st.error(emulator.message)
    st.stop()

# Pages keep the URL paths Streamlit derives from their file names (/your_order, /sign_in): a custom url_path
# made a first visitor's deep link show "Page not found" on a fresh server, whose first run had not yet seen
# st.navigation and matched the URL against the pages/ folder instead.
shop_pages = [
    st.Page("pages/shop.py", title="Shop", icon="📚", default=True),
    st.Page("pages/your_order.py", title="Your order", icon="📦"),
]
finance_pages = [
    st.Page("pages/charges.py", title="Charges", icon="💳"),
    st.Page("pages/failures.py", title="Failures", icon="⚠️"),
    st.Page("pages/refunds.py", title="Refunds", icon="↩️"),
    st.Page("pages/orders.py", title="Orders", icon="🧾"),
]
sign_in_page = st.Page("pages/sign_in.py", title="Sign in", icon="🔒")

if _signed_in():
    navigation = st.navigation({"Shop": shop_pages, "Finance": finance_pages})
else:
    navigation = st.navigation({"Shop": shop_pages, "Staff": [sign_in_page]})

if _signed_in() and st.session_state.pop("ops_just_signed_in", False):
    st.switch_page(finance_pages[0])  # straight to Charges after signing in

with st.sidebar:
    if settings.mode == "emulator":
        st.caption("🧪 **Emulator mode** — offline Stripe; test cards only, no real money.")
    elif settings.is_live:
        st.caption("🔴 **Stripe LIVE mode** — real cards are charged.")
    else:
        st.caption("🟣 **Stripe test mode** — use Stripe's test cards.")
    if _signed_in():
        if auth_configured():
            st.button("Sign out", on_click=st.logout)
        elif st.button("Sign out"):
            st.session_state.pop("ops_signed_in", None)
            st.rerun()

navigation.run()
