"""Disputes: open disputes with their deadline, a response with evidence (or accepting), the decided ones."""

from __future__ import annotations

import streamlit as st

from shop import disputes, orders
from shop.analytics import disputes as dispute_numbers
from shop.money import format_amount
from ui import gate
from ui.data import sync_bar
from ui.disputes import MESSAGE_KEY, confirm_accept, confirm_submit, dispute_kpis, response_form, show_disputes
from ui.messages import show_flash

gate.staff_page()

st.title("Disputes")
sync_bar()
show_flash(MESSAGE_KEY)

everything = dispute_numbers.load_disputes()
charges = dispute_numbers.disputed_charges()  # only the disputed charges, for their order numbers
dispute_kpis(everything)

# ------------------------------------------------------------------------------------------------ open
st.subheader("Open: waiting for your response")
waiting = disputes.list_disputes(statuses=disputes.OPEN_STATUSES)
if not waiting:
    st.caption("No dispute is waiting for a response.")
else:
    waiting.sort(key=lambda dispute: dispute.due_by or 0)  # the nearest deadline first
    show_disputes(waiting, charges, "open-disputes")
    by_id = {dispute.id: dispute for dispute in waiting}
    picked = st.selectbox(
        "Respond to",
        list(by_id),
        format_func=lambda dispute_id: (
            f"{dispute_id} · {disputes.reason_label(by_id[dispute_id].reason)} · "
            f"{format_amount(by_id[dispute_id].amount, by_id[dispute_id].currency)} · "
            f"{disputes.time_left(by_id[dispute_id].due_by)[0]}"
        ),
        key="disputes_pick",
    )
    dispute = by_id[picked]
    order_id = charges.loc[charges["id"] == dispute.charge_id, "order_id"]
    order = orders.get_order(str(order_id.iloc[0])) if not order_id.empty and order_id.iloc[0] else None
    if order is None:
        st.caption("This charge has no order in the shop: write the evidence by hand.")
    response_form(dispute, order)
    confirm_submit()
    confirm_accept()

# ------------------------------------------------------------------------------------------------ review
reviewing = disputes.list_disputes(statuses=disputes.REVIEW_STATUSES)
if reviewing:
    st.subheader("Evidence submitted: the bank is deciding")
    show_disputes(reviewing, charges, "disputes-under-review", deadline=False)

# ------------------------------------------------------------------------------------------------ history
st.subheader("History: won and lost")
decided = disputes.list_disputes(statuses=disputes.CLOSED_STATUSES)
if not decided:
    st.caption("No dispute has been decided yet.")
else:
    show_disputes(decided, charges, "decided-disputes", deadline=False)
