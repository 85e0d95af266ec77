"""The Charges page's finance pieces: fee and net-after-fees cards, the net line over the volume chart."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from shop import analytics, db
from shop.money import format_amount


def fee_cards(kpis: analytics.Kpis) -> None:
    """ "Fees" and "Net after fees" beside each other, each with its change from the previous period (none when
    there is no earlier data to compare, see analytics.Comparison)."""
    versus = kpis.comparison.label
    comparable = kpis.comparison.kind != "none"
    now, before = kpis.current, kpis.previous
    unknown = (
        f" {now.fees_unknown:,} captured charges have no fee in the copy yet (the next sync brings it)."
        if now.fees_unknown
        else ""
    )
    cards = [
        ("Fees", now.fees, before.fees, "inverse", "Stripe's processing fees on the captured charges." + unknown),
        ("Net after fees", now.net_after_fees, before.net_after_fees, "normal", "Net volume minus fees." + unknown),
    ]
    for column, (label, value, previous, colour, help_text) in zip(st.columns(3)[:2], cards, strict=True):
        diff = value - previous
        delta = ("+" if diff >= 0 else "-") + format_amount(abs(diff)) if comparable else None
        column.metric(
            label,
            format_amount(value),
            delta,
            delta_color=colour,
            help=help_text,
            delta_description=versus if comparable else None,
            border=True,
        )


def net_line(net: pd.DataFrame) -> alt.Chart:
    """Net after fees per bucket as a line (see shop.analytics.net_series), to layer over the volume bars."""
    return (
        alt.Chart(net)
        .mark_line(point=True, color="#1f2937", strokeWidth=2)
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("net_major:Q", title="Amount ($)"),
            tooltip=[
                alt.Tooltip("bucket:T", title="When", format="%b %d, %Y %H:%M"),
                alt.Tooltip("net_major:Q", title="Net after fees", format="$,.2f"),
            ],
        )
    )


@st.cache_data(ttl=600, show_spinner=False, max_entries=4)
def _refunds(database_url: str, version: int) -> pd.DataFrame:
    del database_url, version  # the cache keys: a sync that changes the copy gives a new version
    return analytics.refund_history()


def refunds_frame() -> pd.DataFrame:
    """The synced refunds (shop.analytics.refund_history), read again only after the copy changed."""
    from shop.config import get_settings

    return _refunds(get_settings().database_url, db.data_version())
