"""Failures: how often payments fail, why (decline and failure codes with Stripe's advice), and what recovered."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from shop import analytics
from shop.money import format_amount
from ui import charts, gate
from ui.data import charges_frame, sync_bar
from ui.formats import MONEY_COLUMN, TIME_COLUMN, WIDE_TEXT_COLUMN, table
from ui.links import charge_rows_table

gate.staff_page()

ALL_TIME = "All time"

st.title("Failures")
sync_bar()
frame = charges_frame()

presets = analytics.date_presets()
period = st.selectbox("Period", [*presets, ALL_TIME], index=2, key="failures_period")
if period == ALL_TIME:
    today = datetime.now(UTC).date()
    first_day = min(frame["created_at"].min().date(), today) if not frame.empty else today
    start, end = analytics.period_bounds(first_day, today)
else:
    start, end = analytics.period_bounds(*presets[period])
rows = analytics.filter_charges(frame, analytics.ChargeFilter(start=start, end=end))
failed = rows[rows["status"] == "failed"]
totals = analytics.totals(rows)
recovery = analytics.recovery_summary(rows)

cols = st.columns(4)
cols[0].metric("Failed attempts", f"{totals.failed:,}", border=True)
failure_rate = 1 - totals.success_rate if totals.success_rate is not None else None
cols[1].metric(
    "Failure rate",
    f"{failure_rate:.1%}" if failure_rate is not None else "–",
    help="Failed / (succeeded + failed) charges in the period.",
    border=True,
)
cols[2].metric(
    "Failed orders recovered",
    f"{recovery.recovered} of {recovery.failed_orders}",
    help="Orders with a failed payment that later succeeded with another card.",
    border=True,
)
cols[3].metric("Recovered volume", format_amount(recovery.recovered_amount), border=True)

if rows.empty:
    st.info("No charges in this period.")
    st.stop()

rate = analytics.failure_rate_series(rows, start, end)
unit = analytics.bucket_size(start, end)
chart_col, codes_col = st.columns(2)
chart_col.altair_chart(charts.failure_rate(rate, unit), width="stretch")
codes = analytics.failures_by_code(rows)
if codes.empty:
    codes_col.success("No failed payments in this period.")
else:
    codes_col.altair_chart(charts.failures_by_code(codes), width="stretch")
    st.subheader("What each code means and what to do")
    table(
        codes[["code", "count", "share", "explanation", "next_step", "doc_url"]],
        code="Code",
        count=st.column_config.NumberColumn("Attempts"),
        share=st.column_config.NumberColumn("Share", format="percent"),
        explanation=st.column_config.TextColumn("What it means", width="large"),
        next_step=st.column_config.TextColumn("Suggested next step", width="large"),
        doc_url=st.column_config.LinkColumn("Stripe docs", display_text="Read more"),
    )

st.subheader("Failed attempts")
charge_rows_table(
    analytics.failed_attempts_table(failed),
    failed["id"],
    "failures_attempts",
    Time=TIME_COLUMN,
    Amount=MONEY_COLUMN,
    Message=WIDE_TEXT_COLUMN,
)

st.subheader("Recovered orders")
recovered = analytics.recovered_orders(rows)
if recovered.empty:
    st.caption("No failed order later succeeded with another card in this period.")
else:
    table(
        analytics.recovered_table(recovered),
        **{"First failure": TIME_COLUMN, "Succeeded": TIME_COLUMN, "Amount": MONEY_COLUMN},
    )
