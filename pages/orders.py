"""Orders: every order with its customer, book, amount, status and charge; ship or cancel the ones that allow it."""

from __future__ import annotations

import streamlit as st
import stripe

from shop import analytics, intents, order_rules, orders, payments
from shop.money import format_amount
from ui import dialogs, gate
from ui.authorizations import show_authorizations
from ui.data import data_changed, live_refresh
from ui.formats import DAY_COLUMN, MONEY_COLUMN, SMALL_NUMBER_COLUMN, TIME_COLUMN, table
from ui.messages import flash, flash_outcome, inert, show_flash
from ui.second_charges import show_second_charges

gate.staff_page()

STATUSES = orders.ORDER_STATUSES
CANCEL_KEY = "orders_cancel_pending"
MESSAGE_KEY = "orders_message"
CANCEL_ERRORS = (orders.OrderStateError, payments.RefundError)
SHIP_ERRORS = (orders.OrderStateError, payments.CaptureError)


def _cancel(order: orders.Order, refund: str) -> None:
    done = f"Order {order.id} cancelled; {refund} refunded."
    if flash_outcome(MESSAGE_KEY, lambda: payments.cancel_order(order.id), done, errors=CANCEL_ERRORS):
        data_changed()


def confirm_cancel(order: orders.Order) -> None:
    refund = format_amount(order.refundable, order.currency)
    dialogs.confirm(
        "Cancel the order",
        key=CANCEL_KEY,
        body=(
            f"Cancel <strong>{order.id}</strong> for {inert(order.customer.name)} and refund "
            f"<strong>{refund}</strong> in full to their card?"
        ),
        yes_label=f"Cancel and refund {refund}",
        no_label="Keep the order",
        on_yes=lambda: _cancel(order, refund),
    )


st.title("Orders")
show_flash(MESSAGE_KEY)
live_refresh()  # a webhook that settles an order shows here without a click

status_col, search_col = st.columns([2, 2])
statuses = status_col.multiselect(
    "Status", STATUSES, format_func=orders.status_label, placeholder="All", key="orders_status"
)
search = search_col.text_input("Search", placeholder="Order number, name or email contains…", key="orders_search")
shown = orders.list_orders(status=statuses, search=search)
total = orders.count_orders()
st.markdown(f"**{len(shown):,} orders**" + (f" of {total:,}" if len(shown) != total else ""))
table(
    analytics.orders_frame(shown),
    Created=TIME_COLUMN,
    Shipped=DAY_COLUMN,
    Amount=MONEY_COLUMN,
    Refunded=MONEY_COLUMN,
    Qty=SMALL_NUMBER_COLUMN,
)

show_second_charges()
show_authorizations()

unsettled = orders.unsettled_attempts()
open_intents = intents.orders_with_open_intents()
if unsettled or open_intents:
    with st.container(border=True):
        st.markdown(
            f"**{len(unsettled)} payment attempt(s) with an unknown result and {len(open_intents)} unpaid order(s) "
            "with a payment started** — Stripe could not be reached, or the customer left before the page heard "
            "back. Checking asks Stripe what happened to each; it never charges a card."
        )
        if st.button("Check them with Stripe", key="orders_reconcile"):
            with st.spinner("Asking Stripe…"):
                try:
                    results = payments.reconcile_pending()
                    paid = [r for r in intents.settle_open_orders() if r.succeeded]
                except stripe.StripeError as exc:
                    flash(MESSAGE_KEY, "error", f"Stripe could not be reached: {exc.user_message}")
                else:
                    settled = [r for r in results if r.outcome != "still_pending"]
                    flash(
                        MESSAGE_KEY,
                        "success",
                        f"Checked {len(results)} attempt(s): {len(settled)} settled, "
                        f"{len(results) - len(settled)} still in progress (checked again after a minute); "
                        f"{len(paid)} unpaid order(s) turned out paid.",
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
    shipped = f"Order {order.id} marked shipped."
    flash_outcome(MESSAGE_KEY, lambda: payments.ship_order(order.id), shipped, errors=SHIP_ERRORS)
    st.rerun()
may_ship, may_cancel = order_rules.may_capture_for_shipment(order), order_rules.may_cancel(order)
if cancel_col.button("✖️ Cancel order", key="orders_cancel", width="stretch"):
    if may_cancel:
        st.session_state[CANCEL_KEY] = order.id
    else:
        flash(MESSAGE_KEY, "error", may_cancel.reason)
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
