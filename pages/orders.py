"""Orders: every order with its customer, book, amount, status and charge; ship or cancel the ones that allow it."""

from __future__ import annotations

import streamlit as st
import stripe

from pages.ops_data import MONEY_COLUMN, TIME_COLUMN, data_changed
from shop import analytics, order_rules, orders, payments
from shop.money import format_amount

STATUSES = ("pending", "paid", "failed", "shipped", "partially_refunded", "refunded", "cancelled")
CANCEL_KEY = "orders_cancel_pending"


def _clear_cancel() -> None:
    st.session_state.pop(CANCEL_KEY, None)


@st.dialog("Cancel the order", on_dismiss=_clear_cancel)
def confirm_cancel(order: orders.Order) -> None:
    refund = format_amount(order.refundable, order.currency)
    st.write(f"Cancel **{order.id}** for {order.customer.name} and refund **{refund}** in full to their card?")
    yes, no = st.columns(2)
    if yes.button(f"Cancel and refund {refund}", type="primary", key="orders_cancel_confirm", width="stretch"):
        try:
            payments.cancel_order(order.id)
        except (orders.OrderStateError, payments.RefundError) as exc:
            st.session_state["orders_message"] = ("error", str(exc))
        else:
            st.session_state["orders_message"] = ("success", f"Order {order.id} cancelled; {refund} refunded.")
            data_changed()
        _clear_cancel()
        st.rerun()
    if no.button("Keep the order", key="orders_cancel_keep", width="stretch"):
        _clear_cancel()
        st.rerun()


st.title("Orders")
kind, text = st.session_state.pop("orders_message", (None, None))
if kind == "success":
    st.success(text)
elif kind == "error":
    st.error(text)

status_col, search_col = st.columns([2, 2])
statuses = status_col.multiselect(
    "Status", STATUSES, format_func=orders.status_label, placeholder="All", key="orders_status"
)
search = search_col.text_input("Search", placeholder="Order number, name or email contains…", key="orders_search")
shown = orders.list_orders(status=statuses, search=search)
total = orders.count_orders()
st.markdown(f"**{len(shown):,} orders**" + (f" of {total:,}" if len(shown) != total else ""))
st.dataframe(
    analytics.orders_frame(shown),
    hide_index=True,
    width="stretch",
    column_config={
        "Created": TIME_COLUMN,
        "Shipped": st.column_config.DatetimeColumn(format="YYYY-MM-DD", timezone="UTC"),
        "Amount": MONEY_COLUMN,
        "Refunded": MONEY_COLUMN,
        "Qty": st.column_config.NumberColumn(width="small"),
    },
)

unsettled = orders.unsettled_attempts()
if unsettled:
    with st.container(border=True):
        st.markdown(
            f"**{len(unsettled)} payment attempt(s) with an unknown result** — Stripe could not be reached when they "
            "were made. Checking asks Stripe what happened to each; it never charges a card."
        )
        if st.button("Check them with Stripe", key="orders_reconcile"):
            with st.spinner("Asking Stripe…"):
                try:
                    results = payments.reconcile_pending()
                except stripe.StripeError as exc:
                    st.session_state["orders_message"] = ("error", f"Stripe could not be reached: {exc.user_message}")
                else:
                    settled = [r for r in results if r.outcome != "still_pending"]
                    st.session_state["orders_message"] = (
                        "success",
                        f"Checked {len(results)} attempt(s): {len(settled)} settled, "
                        f"{len(results) - len(settled)} still in progress (checked again after a minute).",
                    )
                    data_changed()
            st.rerun()

st.subheader("Ship or cancel")
if not shown:
    st.caption("No order to act on.")
    st.stop()
by_id = {order.id: order for order in shown}
order_id = st.selectbox(
    "Order",
    list(by_id),
    format_func=lambda oid: (
        f"{oid} · {by_id[oid].customer.name} · {format_amount(by_id[oid].amount, by_id[oid].currency)} · "
        f"{orders.status_label(by_id[oid].status)}"
    ),
    key="orders_pick",
)
order = orders.get_order(order_id) or by_id[order_id]
ship_col, cancel_col = st.columns(2)
if ship_col.button("📦 Mark shipped", key="orders_ship", width="stretch"):
    try:
        orders.mark_shipped(order.id)
    except orders.OrderStateError as exc:
        st.session_state["orders_message"] = ("error", str(exc))
    else:
        st.session_state["orders_message"] = ("success", f"Order {order.id} marked shipped.")
    st.rerun()
may_ship, may_cancel = order_rules.may_ship(order), order_rules.may_cancel(order)
if cancel_col.button("✖️ Cancel order", key="orders_cancel", width="stretch"):
    if may_cancel:
        st.session_state[CANCEL_KEY] = order.id
    else:
        st.session_state["orders_message"] = ("error", may_cancel.reason)
        st.rerun()
if not may_ship:
    ship_col.caption(may_ship.reason)
if not may_cancel:
    cancel_col.caption(may_cancel.reason)

pending = st.session_state.get(CANCEL_KEY)
if pending:
    pending_order = orders.get_order(pending)
    if pending_order is not None:
        confirm_cancel(pending_order)
