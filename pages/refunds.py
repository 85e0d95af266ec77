"""Refunds: find a charge, refund all or part of it after a confirmation, customers' requests, the history."""

from __future__ import annotations

import uuid

import streamlit as st

from pages.ops_data import MONEY_COLUMN, TIME_COLUMN, charges_frame, data_changed, sync_bar
from shop import analytics, orders, payments
from shop.money import format_amount, to_minor_units

REASONS = {
    "requested_by_customer": "Requested by customer",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
}
PENDING_KEY = "refund_pending"  # the refund waiting for confirmation: charge, amount, reason, idempotency key


def _clear_pending() -> None:
    st.session_state.pop(PENDING_KEY, None)


@st.dialog("Confirm the refund", on_dismiss=_clear_pending)
def confirm_refund(pending: dict) -> None:
    amount = format_amount(pending["amount"], pending["currency"])
    st.write(
        f"Refund **{amount}** of charge `{pending['charge_id']}` ({pending['customer']}) to "
        f"{pending['card'] or 'the card'}, reason **{REASONS[pending['reason']].lower()}**?"
    )
    st.caption("The money goes back to the customer's card; this cannot be undone.")
    yes, no = st.columns(2)
    if yes.button(f"Refund {amount}", type="primary", key="refund_confirm", width="stretch"):
        try:
            refund = payments.refund_charge(
                pending["charge_id"],
                amount=pending["amount"],
                reason=pending["reason"],
                idempotency_key=pending["idempotency_key"],
            )
        except payments.RefundError as exc:
            st.session_state["refund_message"] = ("error", exc.message)
        else:
            st.session_state["refund_message"] = (
                "success",
                f"Refunded {amount} of {pending['charge_id']} (refund {refund.id}).",
            )
            data_changed()
        _clear_pending()
        st.rerun()
    if no.button("Keep the money", key="refund_cancel", width="stretch"):
        _clear_pending()
        st.rerun()


st.title("Refunds")
sync_bar()
frame = charges_frame()

kind, text = st.session_state.pop("refund_message", (None, None))
if kind == "success":
    st.success(text)
elif kind == "error":
    st.error(text)

# ------------------------------------------------------------------------------------------------ refund a charge
st.subheader("Refund a charge")
query = st.text_input(
    "Find a charge", placeholder="Charge ID (ch_…), order number (SP-…) or customer email", key="refund_query"
)
matches = analytics.find_charges(frame, query)
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
    remaining = payments.refundable_amount(amounts)
    currency = charge["currency"]
    captured_label = "Captured" if charge["captured"] else "Authorized (not captured)"
    cols = st.columns(4)
    cols[0].metric("Charged", format_amount(charge["amount"], currency))
    cols[1].metric(captured_label, format_amount(charge["amount_captured"] or charge["amount"], currency))
    cols[2].metric("Refunded so far", format_amount(charge["amount_refunded"], currency))
    cols[3].metric("Can still be refunded", format_amount(remaining, currency))
    st.caption(
        f"Status: {charge['display_status']} · customer {charge['customer_name'] or '–'} "
        f"({charge['receipt_email'] or 'no email'}) · order {charge['order_id'] or 'none (made outside the shop)'}"
    )

    with st.form("refund_form", border=True):
        how = st.radio("Refund", ["Everything left", "Part of it"], horizontal=True, key="refund_how")
        amount_text = st.text_input(
            "Amount ($) — for a partial refund",
            placeholder=f"at most {format_amount(remaining, currency)}",
            key="refund_amount",
        )
        reason = st.selectbox("Reason", list(REASONS), format_func=REASONS.get, key="refund_reason")
        asked = st.form_submit_button("Refund…", type="primary")
    if asked:
        try:
            amount = None if how == "Everything left" else to_minor_units(amount_text, currency)
            amount = payments.check_refund(amounts, amount, reason)
        except ValueError as exc:
            st.error(f"{exc} Enter the amount in dollars, like 5 or 5.00.")
        except payments.RefundError as exc:
            st.error(exc.message)
        else:
            st.session_state[PENDING_KEY] = {
                "charge_id": charge_id,
                "amount": amount,
                "currency": currency,
                "reason": reason,
                "customer": charge["receipt_email"] or charge["customer_name"] or "no email",
                "card": analytics.card_label(matches[matches["id"] == charge_id]).iloc[0],
                # One key per confirmed intent: a double click or a retry after a timeout refunds once.
                "idempotency_key": f"ops-refund-{uuid.uuid4()}",
            }

if PENDING_KEY in st.session_state:
    confirm_refund(st.session_state[PENDING_KEY])

# ------------------------------------------------------------------------------------------------ requests
st.subheader("Refund requests from customers")
requests = orders.open_refund_requests()
if not requests:
    st.caption("No request is waiting.")
for request in requests:
    order = orders.get_order(request.order_id)
    if order is None:
        continue
    with st.container(border=True):
        left, right = st.columns([3, 2])
        left.markdown(
            f"**{order.id}** · {order.customer.name} ({order.customer.email}) · "
            f"{format_amount(order.amount, order.currency)}, {format_amount(order.refundable, order.currency)} "
            f"refundable · {orders.status_label(order.status)}"
        )
        left.write(f"“{request.reason}”")
        note = right.text_input("Note (optional)", key=f"request_note_{request.id}")
        approve, reject = right.columns(2)
        if approve.button(
            f"Approve: refund {format_amount(order.refundable, order.currency)}",
            key=f"request_approve_{request.id}",
            type="primary",
        ):
            try:
                decided = payments.approve_refund_request(request.id, note=note or None)
            except (payments.RefundError, orders.OrderStateError) as exc:
                st.error(str(exc))
            else:
                st.session_state["refund_message"] = (
                    "success",
                    f"Approved: {order.id} refunded ({decided.refund_id}).",
                )
                data_changed()
                st.rerun()
        if reject.button("Reject", key=f"request_reject_{request.id}"):
            orders.decide_refund_request(request.id, False, note=note or None)
            st.session_state["refund_message"] = ("success", f"Rejected the refund request for {order.id}.")
            st.rerun()

# ------------------------------------------------------------------------------------------------ history
st.subheader("Refund history")
history = analytics.refund_history()
if history.empty:
    st.caption("No refunds yet.")
else:
    st.dataframe(
        analytics.refunds_table(history),
        hide_index=True,
        width="stretch",
        column_config={
            "Created": TIME_COLUMN,
            "Amount": MONEY_COLUMN,
        },
    )
