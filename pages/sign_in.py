"""Sign in to the finance pages: single sign-on when [auth] is configured, else the ops password."""

from __future__ import annotations

import streamlit as st

from shop import auth
from shop.config import get_settings
from ui import gate

gate.public_page()

st.title("🔒 Sign in")
st.write("The finance pages (charges, failures, refunds, orders) are for the shop's staff.")

if gate.auth_configured():
    st.button("Sign in with your company account", type="primary", on_click=st.login)
    st.stop()

settings = get_settings()
secrets_password = gate.secrets_value("ops_password")
source = auth.password_source(settings, secrets_password)
if not source.enabled:
    st.warning(auth.HOW_TO_ENABLE)
    st.stop()

with st.form("sign_in", border=True):
    password = st.text_input("Ops password", type="password", key="sign_in_password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    result = auth.check_password(
        password, client=gate.sign_in_client(), settings=settings, secrets_password=secrets_password
    )
    if result.ok:
        st.session_state[gate.SIGNED_IN_KEY] = True
        st.session_state[gate.JUST_SIGNED_IN_KEY] = True  # lets the navigation open the Charges page next
        st.rerun()
    else:
        st.error(result.message)

if source.origin == "demo":
    st.info(
        f"Emulator mode: no ops password is set, so the demo password **{auth.DEMO_PASSWORD}** opens the finance "
        "pages. Set OPS_PASSWORD to choose your own."
    )
