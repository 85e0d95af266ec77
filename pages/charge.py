"""Charge detail: one charge's money, card, Radar, customer, order, refunds, disputes and timeline."""

from __future__ import annotations

import streamlit as st

from shop import charge_detail
from ui import charge_view, gate, refund_dialog
from ui.data import live_refresh
from ui.messages import inert, show_flash, show_line

gate.staff_page()

asked = (st.query_params.get("id") or "").strip()
st.title("Charge")
if not asked:
    st.info("No charge chosen: open one from the Charges, Failures, Refunds or Orders tables, or search on Charges.")
    st.page_link("pages/charges.py", label="Back to Charges")
    st.stop()
live_refresh()
found = charge_detail.find(asked)
detail = charge_detail.load(found.charge_id) if found.charge_id else None
if detail is None:
    show_line(
        f"Nothing found for <code>{inert(asked)}</code>: no synced charge, payment intent, order or email has it. "
        "A charge made in the last minute appears after the next sync."
    )
    st.page_link("pages/charges.py", label="Back to Charges")
    st.stop()
if found.choices:
    show_line(
        f"{len(found.choices)} charges match “{inert(asked)}”; this is the one that paid the order.", caption=True
    )

st.markdown(f"### {detail.id} · {detail.status}")
charge_view.ids_line(detail)
charge_view.dashboard_link(detail)
show_flash(refund_dialog.MESSAGE_KEY)
charge_view.money_cards(detail)
charge_view.refund_action(detail)
if refund_dialog.PENDING_KEY in st.session_state:
    refund_dialog.confirm_refund(st.session_state[refund_dialog.PENDING_KEY])
charge_view.facts(detail)

st.subheader("Order and fulfilment", divider="gray")
charge_view.order_section(detail)

st.subheader("Refunds, requests and disputes", divider="gray")
charge_view.refunds_section(detail)

st.subheader("Timeline", divider="gray")
charge_view.timeline_section(detail)
st.page_link("pages/charges.py", label="Back to Charges")
