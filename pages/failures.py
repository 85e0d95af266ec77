"""Failures: how often payments fail, why (decline and failure codes with Stripe's advice), and what recovered."""

from __future__ import annotations

import streamlit as st

from shop import analytics
from shop.money import format_amount
from ui import charts, gate
from ui.advice import failure_advice
from ui.data import charges_between, sync_bar
from ui.formats import MONEY_COLUMN, TIME_COLUMN, WIDE_TEXT_COLUMN, table
from ui.links import charge_rows_table
from ui.periods import period_picker

gate.staff_page()

st.title("Failures")
sync_bar()

start, end = analytics.period_bounds(*period_picker(key="failures"))
rows = charges_between(start, end)  # only the period's charges: every number below is of the period
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
    failure_advice(codes)

st.subheader("Failed attempts")
charge_rows_table(
    analytics.failed_attempts_table(failed),
    failed["id"],
    "failures_attempts",
    csv_name="failed-attempts",
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
        csv_name="recovered-orders",
        **{"First failure": TIME_COLUMN, "Succeeded": TIME_COLUMN, "Amount": MONEY_COLUMN},
    )
