"""Your order (public): find an order by number and email, see its status, cancel it or ask for a refund."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from shop import audit, catalog, fulfilment, order_rules, orders, refund_requests
from shop.money import format_amount
from ui import dialogs, gate
from ui.messages import flash, flash_outcome, inert, show_flash, show_line

gate.public_page()

FOUND_KEY = "your_order_found"  # (order number, email) of the order this visitor proved they own
CANCEL_KEY = "your_order_cancel_asked"
STATUS_TEXT = {
    "pending": ":material/schedule: Payment not completed",
    "failed": ":material/cancel: Payment failed — not charged",
    "paid": ":material/check_circle: Paid — being prepared for shipping",
    "shipped": ":material/local_shipping: Shipped",
    "partially_refunded": ":material/undo: Partly refunded",
    "refunded": ":material/undo: Refunded",
    "cancelled": ":material/block: Cancelled — refunded in full",
    "cancelling": ":material/schedule: Being cancelled — your refund is on its way",
    "released": ":material/block: Payment released — your card was not charged",
}
RELEASED_TEXT = ":material/block: Cancelled — the hold on your card is released, nothing was charged"
NOT_FOUND = (
    "No order matches that order number and email. Check both: the order number (like SP-7KQ2M9XD) is on your "
    "confirmation, and the email is the one you entered at checkout."
)


def _day(seconds: int | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%d %B %Y") if seconds else "–"


MESSAGE_KEY = "your_order_message"


def _cancel(order: orders.Order, amount: str) -> None:
    done = (
        f"Your order is cancelled and the {amount} held on your card is released: nothing was charged."
        if order.awaiting_capture
        else f"Your order is cancelled and {amount} is refunded to your card. Banks usually show it within "
        "5–10 business days."
    )
    errors = (orders.OrderStateError, fulfilment.RefundError)
    flash_outcome(MESSAGE_KEY, lambda: fulfilment.cancel_order(order.id, actor=audit.CUSTOMER), done, errors=errors)


def confirm_cancel(order: orders.Order) -> None:
    amount = format_amount(order.refundable, order.currency)
    dialogs.confirm(
        "Cancel your order?",
        key=CANCEL_KEY,
        body=f"We will cancel order <strong>{order.id}</strong> and refund <strong>{amount}</strong> to your card.",
        yes_label="Yes, cancel my order",
        no_label="No, keep it",
        on_yes=lambda: _cancel(order, amount),
    )


st.title("Your order")
st.write("Find your order with its number and the email you used at checkout.")

with st.form("your_order_find", border=True):
    number_col, email_col = st.columns(2)
    number = number_col.text_input(
        "Order number", value=st.query_params.get("order", ""), placeholder="SP-XXXXXXXX", key="your_order_number"
    )
    # Coming from this session's confirmation: its email is known, so it is filled in (never put in the URL).
    last_order = st.session_state.get("checkout_last_order")
    known_email = last_order[1] if last_order and last_order[0] == st.query_params.get("order") else ""
    email = email_col.text_input("Email", value=known_email, placeholder="you@example.com", key="your_order_email")
    looked_up = st.form_submit_button("Find my order", type="primary")

if looked_up:
    st.session_state.pop(FOUND_KEY, None)
    if not number.strip() or not email.strip():
        st.error("Enter both the order number and the email.")
    elif orders.find_order(number, email) is None:
        st.error(NOT_FOUND)
    else:
        st.session_state[FOUND_KEY] = (number.strip().upper(), email.strip())

found = st.session_state.get(FOUND_KEY)
if not found:
    st.stop()
order = orders.find_order(*found)
if order is None:  # should not happen: orders are never deleted
    st.error(NOT_FOUND)
    st.stop()

show_flash(MESSAGE_KEY)

try:
    title = catalog.get_book(order.book_id).title
except catalog.UnknownBookError:
    title = order.book_id
with st.container(border=True):
    st.subheader(f"Order {order.id}")
    released = order.status == "cancelled" and order.released_at
    st.markdown(f"**{RELEASED_TEXT if released else STATUS_TEXT.get(order.status, order.status)}**")
    # The title as text, not a metric: a metric cuts long values ("High Growth Han…").
    st.markdown(f"**{title}** × {order.quantity}")
    middle, right = st.columns(2)
    total_label = "Authorized (charged when it ships)" if order.awaiting_capture else "Total charged"
    middle.metric(total_label, format_amount(order.amount if order.paid_at else 0, order.currency))
    right.metric("Refunded", format_amount(order.amount_refunded, order.currency))
    shipped = f" · shipped {_day(order.shipped_at)}" if order.shipped_at else ""
    # A Checkout Sessions order learns its name and address with its payment (Stripe's Address Element).
    to = f" · to {inert(order.customer.name)}, {inert(order.customer.city)}" if order.customer.name else ""
    show_line(f"Placed {_day(order.created)}{shipped}{to}", caption=True)
    if order.carrier or order.tracking_number:
        show_line(
            ":material/local_shipping: "
            + " · ".join(
                part
                for part in (
                    f"Carrier <strong>{inert(order.carrier)}</strong>" if order.carrier else "",
                    f"tracking number <code>{inert(order.tracking_number)}</code>" if order.tracking_number else "",
                )
                if part
            )
        )

if order_rules.may_cancel(order):
    if order.amount_refunded:
        remaining = format_amount(order.refundable, order.currency)
        st.write(f"Your order has not shipped yet: you can cancel it, and the {remaining} not yet refunded goes back.")
    else:
        st.write("Your order has not shipped yet: you can cancel it for a full refund.")
    if st.button("Cancel my order", key="your_order_cancel"):
        st.session_state[CANCEL_KEY] = True
    if st.session_state.get(CANCEL_KEY):
        confirm_cancel(order)
elif order_rules.may_request_refund(order):
    requests = refund_requests.list_refund_requests(order_id=order.id)
    if refund_requests.open_refund_requests(order_id=order.id):
        st.info("Your refund request is with our team. We will email you once it is decided.")
    else:
        for request in requests:
            st.caption(f"Earlier request ({_day(request.created)}): {request.status}.")
        with st.form("your_order_refund", border=True):
            st.write("Your order has shipped. Tell us what went wrong and we will review a refund.")
            reason = st.text_area("Reason", max_chars=refund_requests.MAX_REFUND_REASON, key="your_order_reason")
            asked = st.form_submit_button("Request a refund")
        if asked:
            try:
                refund_requests.request_refund(order.id, found[1], reason)
            except (ValueError, LookupError) as exc:
                st.error(str(exc))
            else:
                flash(
                    MESSAGE_KEY,
                    "success",
                    "Thanks — your refund request is with our team. We will email you once it is decided.",
                )
                st.rerun()
