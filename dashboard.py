"""Stripe Press Shop: the Streamlit entry point (`streamlit run dashboard.py`).

Streamlit runs this file as the script of every page (`__name__ == "__main__"`: ui.app.main). `streamlit run`
first imports it as a module, finds `app`, an `st.App` of this same script with the webhook route, and serves
that: pages and `POST /webhooks/stripe` on one port (ui.server).
"""

import streamlit as st

if __name__ == "__main__":
    from ui.app import main

    main()
else:
    from ui.server import lifespan, routes

    app = st.App(__file__, routes=routes(), lifespan=lifespan)
