"""The Charges page's first view drawn with none of the page's own work: what Streamlit alone costs for it.

first_use_bench serves this script beside the Charges page, signed in, and the bare page, like
streamlit_floor_page.py for the shop. It draws what Charges draws for a month of demo history, in the same
layout and with the same widgets: the app's frame and staff's sidebar, the sync line, the find form, the six
filters and the toggle, the twelve metric cards, the volume chart (bars by status and a net line) and a
selectable table of 60 charges. It reads no store, checks no sign-in and computes nothing.
"""

import datetime

import altair as alt
import pandas as pd
import streamlit as st

from bench.floor_frame import floor_frame

METRICS = [
    "Gross volume",
    "Refunded",
    "Net volume",
    "Succeeded",
    "Success rate",
    "Average order value",
    "Fees",
    "Net after fees",
    "Authorized, not captured",
    "Processing",
    "Dispute rate, this period",
    "Disputes' effect on net, this period",
]
DAYS = 30
CHARGES = 60

floor_frame(staff=True)
st.title("Charges")
sync_column, button_column = st.columns([4, 1], vertical_alignment="center")
sync_column.caption("Last synced with Stripe: 12:00 (a minute ago).")
button_column.button("Sync now", icon=":material/sync:", width="stretch")
with st.form("charges_find", border=False):
    find_column, go_column = st.columns([4, 1], vertical_alignment="bottom")
    find_column.text_input("Find a charge", placeholder="ch_… or pi_… id, order number or email")
    go_column.form_submit_button("Open charge", width="stretch")
period_column, status_column, email_column = st.columns([1.2, 2, 1.5])
period_column.selectbox("Period", ["Today", "Last 7 days", "Last 30 days", "This month", "All time"], index=2)
status_column.multiselect("Status", ["succeeded", "pending", "failed", "refunded"], placeholder="All statuses")
email_column.text_input("Customer", placeholder="Email or name contains…")
book_column, min_column, max_column = st.columns([2.5, 1, 1])
book_column.multiselect("Book", [f"Book {n}" for n in range(1, 6)], placeholder="All books")
min_column.text_input("Min amount ($)", placeholder="any")
max_column.text_input("Max amount ($)", placeholder="any")
st.toggle("Refunds on the day issued", help="As the Stripe Dashboard counts them.")
for first in range(0, len(METRICS), 3):
    for column, label in zip(st.columns(3), METRICS[first : first + 3], strict=False):
        column.metric(label, "$1,380.00", "+12.5%", help="What this number counts.", border=True)

days = pd.date_range(datetime.date.today() - datetime.timedelta(days=DAYS - 1), periods=DAYS)
volume = pd.DataFrame(
    {"day": list(days) * 2, "status": ["succeeded"] * DAYS + ["failed"] * DAYS, "amount": range(2 * DAYS)}
)
bars = alt.Chart(volume).mark_bar().encode(x="day:T", y="amount:Q", color="status:N")
st.altair_chart(bars + alt.Chart(volume).mark_line().encode(x="day:T", y="sum(amount):Q"), width="stretch")
st.caption("Bars: charged amount by status. Line: net after fees (refunds and Stripe's fees taken off).")
count_column, download_column = st.columns([4, 1], vertical_alignment="bottom")
count_column.markdown(f"**{CHARGES} charges** match.")
download_column.download_button("Download CSV", data="", icon=":material/download:", width="stretch")
st.caption("Select a row to open the charge: its fee, card checks, refunds and timeline.")
table = pd.DataFrame(
    {
        "Created": [days[n % DAYS] for n in range(CHARGES)],
        "Amount": [23.0 + n % 5 for n in range(CHARGES)],
        "Status": ["succeeded"] * CHARGES,
        "Email": [f"customer{n}@example.com" for n in range(CHARGES)],
        "Book": [f"Book {n % 5 + 1}" for n in range(CHARGES)],
        "Qty": [1] * CHARGES,
        "Refunded": [0.0] * CHARGES,
    }
)
st.dataframe(table, on_select="rerun", selection_mode="single-row", hide_index=True)
