"""Refunds: find a charge, refund all or part of it after a confirmation, customers' requests, the history."""

from __future__ import annotations

import streamlit as st

from shop import analytics, fulfilment, orders, refund_requests
from shop.money import format_amount
from shop.words import count
from ui import gate, refund_dialog
from ui.data import data_changed, sync_bar
from ui.finance import refunds_frame
from ui.formats import MONEY_COLUMN, TIME_COLUMN
from ui.links import charge_rows_table
from ui.messages import flash, inert, show_flash, show_line
from ui.periods import period_picker

gate.staff_page()

MESSAGE_KEY = refund_dialog.MESSAGE_KEY
PENDING_KEY = refund_dialog.PENDING_KEY
REASONS = refund_dialog.REASONS

st.title("Refunds")
sync_bar()

show_flash(MESSAGE_KEY)

# ------------------------------------------------------------------------------------------------ refund a charge
st.subheader("Refund a charge")
query = st.text_input(
    "Find a charge", placeholder="Charge ID (ch_…), order number (SP-…) or customer email", key="refund_query"
)
matches = analytics.find_charges(query)  # searched in the synced copy, whatever the charge's age
if query.strip() and matches.empty:
    st.warning("No synced charge matches. Check the ID, order number or email, or sync now if it is very recent.")
if not matches.empty:
    labels = {
        row.id: (
            f"{row.id} · {format_amount(row.amount, row.currency)} · {row.receipt_email or 'no email'} · "
            f"{row.created_at:%Y-%m-%d %H:%M} · {row.display_status}"
        )
        for row in matches.itertuples()
    }
    charge_id = st.selectbox("Charge", list(labels), format_func=labels.get, key="refund_charge")
    charge = matches[matches["id"] == charge_id].iloc[0].to_dict()
    amounts = analytics.charge_amounts(matches, charge_id)
    remaining = fulfilment.refundable_amount(amounts)
    currency = charge["currency"]
    captured_label = "Captured" if charge["captured"] else "Authorized (not captured)"
    cols = st.columns(4)
    cols[0].metric("Charged", format_amount(charge["amount"], currency))
    cols[1].metric(captured_label, format_amount(charge["amount_captured"] or charge["amount"], currency))
    cols[2].metric("Refunded so far", format_amount(charge["amount_refunded"], currency))
    cols[3].metric("Can still be refunded", format_amount(remaining, currency))
    show_line(
        f"Status: {charge['display_status']} · customer {inert(charge['customer_name'] or '–')} "
        f"({inert(charge['receipt_email'] or 'no email')}) · order "
        f"{inert(charge['order_id'] or 'none (made outside the shop)')}",
        caption=True,
    )

    refund_dialog.refund_form(
        amounts,
        customer=charge["receipt_email"] or charge["customer_name"] or "no email",
        card=analytics.card_label(matches[matches["id"] == charge_id]).iloc[0],
    )

if PENDING_KEY in st.session_state:
    refund_dialog.confirm_refund(st.session_state[PENDING_KEY])

# ------------------------------------------------------------------------------------------------ requests
st.subheader("Refund requests from customers")
requests = refund_requests.open_refund_requests()
if not requests:
    st.caption("No request is waiting.")
for request in requests:
    order = orders.get_order(request.order_id)
    if order is None:
        continue
    with st.container(border=True):
        left, right = st.columns([3, 2])
        show_line(
            f"<strong>{order.id}</strong> · {inert(order.customer.name)} ({inert(order.customer.email)}) · "
            f"{format_amount(order.amount, order.currency)}, {format_amount(order.refundable, order.currency)} "
            f"refundable · {orders.status_label(order.status)}",
            container=left,
        )
        show_line(f"“{inert(request.reason)}”", container=left)
        note = right.text_input("Note (optional)", key=f"request_note_{request.id}")
        approve, reject = right.columns([2, 1])  # room for "Approve: refund $23.00" on one line
        if approve.button(
            f"Approve: refund {format_amount(order.refundable, order.currency)}",
            key=f"request_approve_{request.id}",
            type="primary",
        ):
            try:
                decided = fulfilment.approve_refund_request(request.id, note=note or None, actor=gate.actor())
            except (fulfilment.RefundError, orders.OrderStateError) as exc:
                st.error(str(exc))
            else:
                flash(MESSAGE_KEY, "success", f"Approved: {order.id} refunded ({decided.refund_id}).")
                data_changed()
                st.rerun()
        if reject.button("Reject", key=f"request_reject_{request.id}"):
            refund_requests.decide_refund_request(request.id, False, note=note or None, actor=gate.actor())
            flash(MESSAGE_KEY, "success", f"Rejected the refund request for {order.id}.")
            st.rerun()

# ------------------------------------------------------------------------------------------------ history
st.subheader("Refund history")
first_day, last_day = period_picker(key="refunds")
start, end = analytics.period_bounds(first_day, last_day)
history = analytics.refunds_between(refunds_frame(), start, end)
if history.empty:
    st.caption("No refunds in this period.")
else:
    total = analytics.refund_total(history)
    st.metric(
        "Refunded in the period",
        format_amount(total.amount),
        help="Refunds issued in the period, by the day each was made; failed and canceled refunds gave nothing "
        "back and are left out.",
        border=True,
    )
    st.caption(f"{count(total.count, 'refund')} issued in the period.")
    charge_rows_table(
        analytics.refunds_table(history),
        history["charge_id"],
        "refunds_history",
        csv_name="refunds",
        Created=TIME_COLUMN,
        Amount=MONEY_COLUMN,
    )
