"""Stripe Press Shop: the domain (catalog, orders, payments, sync, analytics), importable without Streamlit."""
