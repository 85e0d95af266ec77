"""Failures: how often payments fail, why (decline and failure codes with Stripe's advice), and what recovered."""

from __future__ import annotations

import streamlit as st

from shop import analytics
from shop.money import format_amount
from shop.words import count
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
without_charge = analytics.load_failed_without_charge(start=start, end=end)
failed = rows[rows["status"] == "failed"]
counts = analytics.failure_counts(rows, without_charge)
recovery = analytics.recovery_summary(rows)

cols = st.columns(4)
cols[0].metric(
    "Failed attempts",
    f"{counts.failed:,}",
    help="Failed charges, and payment attempts that failed before any charge was made (a failed or abandoned "
    "3-D Secure check), as Stripe's Dashboard lists failed payments.",
    border=True,
)
cols[1].metric(
    "Failure rate",
    f"{counts.rate:.1%}" if counts.rate is not None else "–",
    help="Failed attempts / (succeeded charges + failed attempts) in the period.",
    border=True,
)
cols[2].metric(
    "Failed orders recovered",
    f"{recovery.recovered} of {recovery.failed_orders}",
    help="Orders with a failed payment that later succeeded with another card.",
    border=True,
)
cols[3].metric("Recovered volume", format_amount(recovery.recovered_amount), border=True)
if counts.failed_without_charge:
    st.caption(
        f"{count(counts.failed_charges, 'failed charge')} and "
        f"{count(counts.failed_without_charge, 'attempt')} that failed before a charge was made: the card's bank "
        "asked the customer to confirm the payment (3-D Secure) and the check failed or was closed, so Stripe "
        "made no charge. The customer's card was not charged."
    )

if rows.empty and without_charge.empty:
    st.info("No charges in this period.")
    st.stop()

unit = analytics.bucket_size(start, end)
view = st.segmented_control(
    "Failure rate by",
    [unit, "week"],
    default=unit,
    format_func=lambda name: {"hour": "Hour", "day": "Day", "week": "Week"}[name],
    key="failures_rate_view",
)
if view == "week":
    rate = analytics.weekly_failure_rate(rows, start, end, without_charge)
else:
    rate = analytics.failure_rate_series(rows, start, end, without_charge)
chart_col, codes_col = st.columns(2)
if view == "week":
    chart_col.altair_chart(charts.weekly_failure_rate(rate), width="stretch")
else:
    chart_col.altair_chart(charts.failure_rate(rate, unit), width="stretch")
codes = analytics.failures_by_code(rows, without_charge)
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

if not without_charge.empty:
    st.subheader("Failed before a charge")
    st.caption("3-D Secure checks that failed or were closed: Stripe made no charge, so these have no charge page.")
    table(
        analytics.failed_without_charge_table(without_charge),
        csv_name="failed-before-a-charge",
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
