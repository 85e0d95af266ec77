"""The period picker the finance pages share: named ranges, all time, or a custom range of days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import streamlit as st

from shop import analytics

ALL_TIME = "All time"
CUSTOM = "Custom range"


def period_picker(*, key: str, where=st) -> tuple[date, date]:
    """A "Period" select (and a date range for Custom range) in `where`; returns the first and last day chosen.

    All time starts on the day of the oldest synced charge.

    Stops the page with a hint while a custom range has only its first day picked.
    """
    presets = analytics.date_presets()
    period = where.selectbox("Period", [*presets, ALL_TIME, CUSTOM], index=2, key=f"{key}_period")
    today = datetime.now(UTC).date()
    if period == ALL_TIME:
        oldest = analytics.first_created()  # one index lookup, whatever the size of the copy
        first = oldest.date() if oldest is not None else today
        return min(first, today), today
    if period == CUSTOM:
        picked = where.date_input("From – to", value=presets["Last 30 days"], key=f"{key}_dates")
        if not isinstance(picked, tuple) or len(picked) != 2:
            st.info("Pick the last day of the range too.")
            st.stop()
        return picked
    return presets[period]
