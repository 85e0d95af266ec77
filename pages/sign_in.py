"""Sign in to the finance pages: single sign-on when [auth] is configured, else the ops password."""

from __future__ import annotations

import streamlit as st

from ui import gate

gate.public_page()

if gate.signed_in():
    st.title(":material/lock_open: Signed in")
    st.write("You are signed in to the finance pages.")
    st.page_link("pages/charges.py", label="Open Charges", icon=":material/payments:")
else:
    gate.sign_in_form(None)
