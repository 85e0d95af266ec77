"""Streamlit pieces the pages share: the page guard and navigation, the finance data bar, table formats,
messages, dialogs and charts. Pages import from here; nothing in `shop/` imports this package."""
