"""Stripe Press Shop: the Streamlit entry point (`streamlit run dashboard.py`); see ui.app for what it runs."""

from ui.app import main

main()
