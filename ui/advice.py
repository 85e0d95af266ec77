"""What each failure code means and what to do, as short readable blocks instead of a wide table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.messages import inert, show_line


def failure_advice(codes: pd.DataFrame) -> None:
    """One block per code of `codes` (shop.analytics.failures_by_code): count and share, meaning, next step, docs."""
    for row in codes.itertuples():
        attempts = f"{row.count:,} attempt{'s' if row.count != 1 else ''} ({row.share:.0%})"
        with st.container(border=True):
            show_line(f"<strong><code>{inert(row.code)}</code></strong> · {attempts}")
            show_line(inert(row.explanation))
            show_line(f"<strong>Next step:</strong> {inert(row.next_step)}")
            if isinstance(row.doc_url, str) and row.doc_url.startswith("https://"):
                show_line(f'<a href="{inert(row.doc_url)}" target="_blank">Stripe\'s page on this code</a>')
