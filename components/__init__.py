"""Streamlit custom components of the shop."""
