"""Charges: KPIs against the previous period, volume by status over time, filters, the table and its CSV."""

from __future__ import annotations

import streamlit as st

from shop import analytics, catalog, charge_detail
from shop.config import get_settings
from shop.money import format_amount, to_minor_units
from ui import charts, finance, gate, links
from ui.data import charges_summary, newest_charges, sync_bar
from ui.disputes import held_and_disputed_kpis
from ui.formats import MONEY_COLUMN, SMALL_NUMBER_COLUMN, TIME_COLUMN
from ui.kpis import kpi_cards
from ui.messages import inert, show_line
from ui.periods import period_picker

gate.staff_page()

TABLE_LIMIT = 5_000

st.title("Charges")
sync_bar()
settings = get_settings()

# ------------------------------------------------------------------------------------------------ find one charge
with st.form("charges_find", border=False):
    find_col, go_col = st.columns([4, 1], vertical_alignment="bottom")
    query = find_col.text_input("Find a charge", placeholder="ch_… or pi_… id, order number or email", key="find_q")
    if go_col.form_submit_button("Open charge", width="stretch") and query.strip():
        found = charge_detail.find(query)
        if found.charge_id and not found.choices:
            links.open_charge(found.charge_id)
        st.session_state["find_result"] = found
found = st.session_state.get("find_result")
if found is not None and found.message:
    show_line(inert(found.message))  # it may repeat what was typed: text, never markdown
elif found is not None and found.choices:
    st.caption(f"{len(found.choices)} charges match: pick one.")
    for choice in found.choices:
        amount = format_amount(choice["amount"], choice["currency"])
        label = f"{choice['id']} · {choice['status']} · {amount} · {choice['order_id'] or ''}"
        st.page_link(links.CHARGE_PAGE, label=label, query_params={"id": choice["id"]})

# ------------------------------------------------------------------------------------------------ filters
period_col, status_col, email_col = st.columns([1.2, 2, 1.5])
first_day, last_day = period_picker(key="charges", where=period_col)
statuses = status_col.multiselect("Status", analytics.STATUSES, placeholder="All statuses", key="charges_status")
email = email_col.text_input("Customer", placeholder="Email or name contains…", key="charges_email")
books = {book.id: book.title for book in catalog.all_books()}
book_col, min_col, max_col = st.columns([2.5, 1, 1])
book_ids = book_col.multiselect(
    "Book", list(books), format_func=books.get, placeholder="All books", key="charges_books"
)
amount_errors = []
bounds = []
for column, label, key in ((min_col, "Min amount ($)", "charges_min"), (max_col, "Max amount ($)", "charges_max")):
    text = column.text_input(label, placeholder="any", key=key)
    try:
        bounds.append(to_minor_units(text, "usd") if text.strip() else None)
    except ValueError as exc:
        bounds.append(None)
        amount_errors.append(f"{label}: {exc}")
for message in amount_errors:
    st.warning(message + " The filter is ignored until it is a number like 25 or 25.50.")
if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
    st.warning("The minimum amount is above the maximum: no charge can match. Swap them.")

start, end = analytics.period_bounds(first_day, last_day)
chosen = analytics.ChargeFilter(
    start=start,
    end=end,
    statuses=tuple(statuses),
    email=email,
    book_ids=tuple(book_ids),
    min_amount=bounds[0],
    max_amount=bounds[1],
)
# ------------------------------------------------------------------------------------------------ KPIs
by_issue = st.toggle(
    "Refunds on the day issued",
    key="charges_refunds_by_issue",
    help="As the Stripe Dashboard counts them; off: refunds count on the day of the charge they refund.",
)
# Computed by the database (shop.analytics.in_database): the page never holds the charges, only their sums.
summary = charges_summary(chosen, refunds_by_issue=by_issue)
kpis = summary.kpis
kpi_cards(kpis)
finance.fee_cards(kpis)
held_and_disputed_kpis(summary, start, end)

# ------------------------------------------------------------------------------------------------ chart
unit = analytics.bucket_size(start, end)
if summary.volume.empty:
    st.info("No charges match these filters in this period.")
else:
    chart = charts.volume_by_status(summary.volume, unit) + finance.net_line(summary.net)
    st.altair_chart(chart, width="stretch")
    st.caption("Bars: charged amount by status. Line: net after fees (refunds and Stripe's fees taken off).")

# ------------------------------------------------------------------------------------------------ table
count_col, download_col = st.columns([4, 1], vertical_alignment="bottom")
shown = newest_charges(chosen, TABLE_LIMIT)
note = f" (the newest {TABLE_LIMIT:,} are shown; the CSV has all)" if summary.rows > TABLE_LIMIT else ""
count_col.markdown(f"**{summary.rows:,} charges** match{note}.")
download_col.download_button(
    "Download CSV",
    icon=":material/download:",
    data=lambda: analytics.in_database.matching_csv(chosen),
    file_name=f"charges-{first_day}-{last_day}.csv",
    mime="text/csv",
    on_click="ignore",
    width="stretch",
    disabled=not summary.rows,
)
dashboard_link = settings.dashboard_url if settings.mode == "stripe" else None
st.caption("Select a row to open the charge: its fee, card checks, refunds and timeline.")
links.charge_rows_table(
    analytics.charges_table(shown, dashboard_link),
    shown["id"],
    "charges_table",
    Created=TIME_COLUMN,
    Amount=MONEY_COLUMN,
    Refunded=MONEY_COLUMN,
    Qty=SMALL_NUMBER_COLUMN,
    Stripe=st.column_config.LinkColumn(display_text="Open in Stripe"),
)
