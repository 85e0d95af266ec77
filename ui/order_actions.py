"""The Orders page's table of orders with row selection, and the actions on the selected orders.

Staff tick rows and act on exactly those orders, one or several at once; each order's result is reported on its
own line. A selection is a set of order numbers, not of positions: when the list changes between the click and the
next run (a new order, a webhook, a filter), the ticks move with their orders. After an action the selection is
cleared, so a second click can never act on an order nobody ticked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from shop import analytics, export, fulfilment, order_rules, orders
from shop.money import format_amount
from ui import dialogs, gate
from ui.data import data_changed
from ui.formats import DAY_COLUMN, MONEY_COLUMN, SMALL_NUMBER_COLUMN, TIME_COLUMN, csv_frame
from ui.messages import inert

TABLE_KEY = "orders_table"
DRAWN_KEY = "orders_table_drawn"  # the order numbers in the table's row order as last drawn
CLEAR_KEY = "orders_table_clear"  # set by an action: the next run draws the table with nothing selected
RESULTS_KEY = "orders_results"  # [(kind, sentence)] of the last action, one per order
CANCEL_KEY = "orders_cancel_pending"  # the order numbers waiting for the cancellation's confirmation
# Refusals of one order, shown as its sentence while the other selected orders go ahead.
CANCEL_ERRORS = (orders.OrderStateError, fulfilment.RefundError, fulfilment.CaptureError, ValueError)


def _rows(state: object) -> list[int]:
    selection = (state or {}).get("selection", {}) if isinstance(state, dict) else getattr(state, "selection", {})
    rows = selection.get("rows", []) if isinstance(selection, dict) else getattr(selection, "rows", [])
    return [int(row) for row in rows]


ORDER_COLUMNS = {
    "Created": TIME_COLUMN,
    "Shipped": DAY_COLUMN,
    "Amount": MONEY_COLUMN,
    "Refunded": MONEY_COLUMN,
    "Qty": SMALL_NUMBER_COLUMN,
}


def selectable_table(shown: Sequence[orders.Order]) -> list[orders.Order]:
    """Draw `shown` as a table with multi-row selection; returns the selected orders (fresh from the store)."""
    ids = [order.id for order in shown]
    drawn = list(st.session_state.get(DRAWN_KEY, []))
    cleared = st.session_state.pop(CLEAR_KEY, False)
    # The rows ticked refer to the table as the browser showed it: the one drawn last.
    chosen = [] if cleared else [drawn[row] for row in _rows(st.session_state.get(TABLE_KEY)) if row < len(drawn)]
    kept = [oid for oid in chosen if oid in ids]
    if cleared or drawn != ids or kept != chosen:
        st.session_state[TABLE_KEY] = {"selection": {"rows": [ids.index(oid) for oid in kept], "columns": []}}
    st.session_state[DRAWN_KEY] = ids
    frame = analytics.orders_frame(list(shown))
    st.download_button(
        "Download CSV",
        icon=":material/download:",
        data=lambda: export.csv_bytes(csv_frame(frame, ORDER_COLUMNS)),
        file_name="orders.csv",
        mime="text/csv",
        on_click="ignore",
        disabled=frame.empty,
        key="csv_orders",
    )
    event = st.dataframe(
        frame,
        key=TABLE_KEY,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        width="stretch",
        column_config=ORDER_COLUMNS,
    )
    picked = [ids[row] for row in event.selection.rows if row < len(ids)]
    fresh = orders.get_orders(picked)
    return [fresh[oid] for oid in picked if oid in fresh]


def _finish(results: list[tuple[str, str]]) -> None:
    st.session_state[RESULTS_KEY] = results
    st.session_state[CLEAR_KEY] = True
    data_changed()


def _each(order_ids: Sequence[str], act: Callable[[str], str]) -> list[tuple[str, str]]:
    results = []
    for order_id in order_ids:
        try:
            results.append(("success", act(order_id)))
        except CANCEL_ERRORS as exc:
            results.append(("error", getattr(exc, "message", None) or str(exc)))
    return results


def show_results() -> None:
    """The last action's outcome, one line per order (successes first, then refusals), shown once."""
    results = st.session_state.pop(RESULTS_KEY, [])
    for kind in ("success", "error"):
        lines = [text for result_kind, text in results if result_kind == kind]
        if lines:
            (st.success if kind == "success" else st.error)("  \n".join(lines))


CARRIER_KEY = "orders_ship_carrier"
TRACKING_KEY = "orders_ship_tracking"


def _ship_with(carrier: str, tracking_number: str) -> Callable[[str], str]:
    def ship(order_id: str) -> str:
        # An order only authorized is captured first; the customer's shipped email carries carrier and number.
        fulfilment.ship_order(order_id, actor=gate.actor(), carrier=carrier, tracking_number=tracking_number)
        tracking = " ".join(part for part in (carrier, tracking_number) if part)
        return f"Order {order_id} marked shipped." + (f" Tracking: {tracking}." if tracking else "")

    return ship


def _cancel(order_id: str) -> str:
    refundable = orders.get_order(order_id)
    refund = format_amount(refundable.refundable, refundable.currency) if refundable else "nothing"
    fulfilment.cancel_order(order_id, actor=gate.actor())
    if refundable is not None and refundable.awaiting_capture:
        return f"Order {order_id} cancelled; its {refund} authorization released, nothing was charged."
    return f"Order {order_id} cancelled; {refund} refunded."


def _confirm_cancel(order_ids: list[str], refused: list[tuple[str, str]]) -> None:
    found = orders.get_orders(order_ids)
    chosen = [found[oid] for oid in order_ids if oid in found]
    if not chosen:
        st.session_state.pop(CANCEL_KEY, None)
        return
    total = format_amount(sum(order.refundable for order in chosen), chosen[0].currency)
    if len(chosen) == 1:
        who = f"<strong>{chosen[0].id}</strong> for {inert(chosen[0].customer.name)}"
    else:
        who = f"<strong>{len(chosen)} orders</strong> ({', '.join(order.id for order in chosen)})"
    dialogs.confirm(
        "Cancel the order" if len(chosen) == 1 else "Cancel the orders",
        key=CANCEL_KEY,
        body=f"Cancel {who} and refund <strong>{total}</strong> in full to the card?",
        yes_label=f"Cancel and refund {total}",
        no_label="Keep the order" if len(chosen) == 1 else "Keep the orders",
        on_yes=lambda: _finish(refused + _each([order.id for order in chosen], _cancel)),
    )


def action_bar(selected: Sequence[orders.Order]) -> None:
    """Ship or cancel the selected orders; a refusal is the rule's sentence for that order, the rest go ahead."""
    count = len(selected)
    if count:
        st.caption("Selected: " + ", ".join(order.id for order in selected))
    else:
        st.caption("Tick one or more rows in the table to ship or cancel them.")
    plural = f" {count}" if count > 1 else ""
    one = count == 1
    carrier_col, tracking_col = st.columns(2)
    carrier = carrier_col.text_input(
        "Carrier (optional)",
        max_chars=orders.MAX_TRACKING,
        placeholder="UPS, USPS, DHL…",
        key=CARRIER_KEY,
        disabled=not one,
        help="Goes to the customer in the shipped email. One order at a time.",
    )
    tracking = tracking_col.text_input(
        "Tracking number (optional)",
        max_chars=orders.MAX_TRACKING,
        key=TRACKING_KEY,
        disabled=not one,
        help="Goes to the customer in the shipped email. One order at a time.",
    )
    ship_col, cancel_col = st.columns(2)
    ship_label = f"Mark{plural} shipped"
    if ship_col.button(
        ship_label, icon=":material/local_shipping:", key="orders_ship", width="stretch", disabled=not count
    ):
        ship = _ship_with(carrier, tracking) if one else _ship_with("", "")
        _finish(_each([order.id for order in selected], ship))
        for key in (CARRIER_KEY, TRACKING_KEY):
            st.session_state.pop(key, None)
        st.rerun()
    cancel_label = f"Cancel{plural} order" + ("s" if count > 1 else "")
    if cancel_col.button(
        cancel_label, icon=":material/cancel:", key="orders_cancel", width="stretch", disabled=not count
    ):
        verdicts = {order.id: order_rules.may_cancel(order) for order in selected}
        refused = [("error", verdict.reason) for verdict in verdicts.values() if not verdict]
        allowed = [oid for oid, verdict in verdicts.items() if verdict]
        if allowed:  # the refusals are reported with the outcome of the confirmed ones
            st.session_state[CANCEL_KEY] = {"ids": allowed, "refused": refused}
        else:
            _finish(refused)
            st.rerun()
    pending = st.session_state.get(CANCEL_KEY)
    if pending:
        _confirm_cancel(list(pending["ids"]), [tuple(result) for result in pending["refused"]])
