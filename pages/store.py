"""Shop: choose a Stripe Press book, enter your details and a card, pay, and see the charge."""

from __future__ import annotations

import html
import logging
import time

import streamlit as st

from components.elements_card import elements_card
from shop import catalog, covers, orders, payments
from shop.config import get_settings
from shop.money import format_amount
from shop.validation import DEFAULT_COUNTRY, FIELD_LABELS, countries, country_name, validate_customer
from ui import gate
from ui.messages import inert, show_line

gate.public_page()

log = logging.getLogger(__name__)
COUNTRY_CODES = [code for code, _ in countries()]
DETAIL_KEYS = {name: f"checkout_{name}" for name in FIELD_LABELS}
UNEXPECTED_FAILURE = (
    "Something went wrong on our side while paying. Any order already saved is checked against Stripe, so you "
    "are never charged twice; please try again in a moment."
)
# createToken's billing fields, from the checkout's fields.
BILLING_FIELDS = {
    "name": "name",
    "address_line1": "line1",
    "address_line2": "line2",
    "address_city": "city",
    "address_state": "state",
    "address_zip": "postal_code",
    "address_country": "country",
}
TEST_CARD_HINT = (
    "Test mode: pay with **4242 4242 4242 4242**, any future date and any CVC. "
    "**4000 0000 0000 9995** is declined, to see how a declined card is handled."
)

state = st.session_state
state.setdefault("checkout_book", catalog.all_books()[0].id)
state.setdefault("checkout_nonces", [])  # every card click already handled in this session
state.setdefault("checkout_reset", 0)
state.setdefault("checkout_show_errors", False)


def _choose(book_id: str) -> None:
    state.checkout_book = book_id


def _new_checkout() -> None:
    """Buy another book: forget the paid order and its messages, keep the customer's details."""
    for name in (
        "checkout_confirmation",
        "checkout_order_id",
        "checkout_notice",
        "checkout_quantity",
        "checkout_timing",
    ):
        state.pop(name, None)
    state.checkout_show_errors = False


def _cover(book_id: str, width: str = "100%") -> None:
    st.markdown(
        f'<img src="{covers.cover_data_uri(book_id)}" alt="" style="width:{width};border-radius:3px;'
        'box-shadow:0 6px 16px rgba(0,0,0,.18)">',
        unsafe_allow_html=True,
    )


def _field_error(message: str | None) -> None:
    if message:
        st.markdown(
            f'<div style="color:#df1b41;font-size:.85rem;margin:-.6rem 0 .5rem">{message}</div>', unsafe_allow_html=True
        )


def _confirmation(done: dict) -> None:
    order = orders.get_order(done["order_id"])
    if order is None:  # the order store was reset under this session
        st.warning("This order can no longer be found. Check the Your order page, or start a new checkout.")
        st.button("Buy another book", type="primary", on_click=_new_checkout)
        return
    book = catalog.get_book(order.book_id)
    st.title("Thank you for your order")
    card = "card"
    if done.get("brand") and done.get("last4"):
        card = f"{done['brand'].title()} card ending in {done['last4']}"
    st.success(f"Payment received: {format_amount(order.amount, order.currency)} was charged to your {card}.")
    left, right = st.columns([1, 3], gap="large")
    with left:
        _cover(book.id)
    with right:
        st.subheader(book.full_title)
        st.caption(f"by {book.author}")
        st.markdown(f"Quantity: **{order.quantity}**")
        st.markdown(f"### Total charged: {format_amount(order.amount, order.currency)}")
        st.markdown("Charge ID:")
        st.code(done["charge_id"], language=None)
        st.markdown(f"Order number: **{order.id}** · keep it to track or cancel your order.")
        show_line(f"A receipt is on its way to <strong>{inert(order.customer.email)}</strong>.")
        dashboard = get_settings().dashboard_url(done["charge_id"])
        if dashboard:
            st.link_button("View the charge in the Stripe Dashboard", dashboard)
        st.page_link(
            "pages/your_order.py",
            label="Track or cancel this order on the Your order page",
            icon="📦",
            query_params={"order": order.id},
        )
        st.button("Buy another book", type="primary", on_click=_new_checkout)
    timing = state.get("checkout_timing")
    if timing and "shown" not in timing:
        timing["shown"] = time.perf_counter()


def _details(errors: dict[str, str]) -> dict[str, str]:
    """The details form, two fields a row, each with its message under it."""
    st.subheader("Your details")
    rows = [("name", "email"), ("phone", None), ("line1", "line2"), ("city", "state"), ("postal_code", "country")]
    for pair in rows:
        columns = st.columns(2)
        for column, name in zip(columns, pair, strict=True):
            if name is None:
                continue
            with column:
                if name == "country":
                    st.selectbox(
                        FIELD_LABELS[name],
                        COUNTRY_CODES,
                        index=COUNTRY_CODES.index(DEFAULT_COUNTRY),
                        format_func=country_name,
                        key=DETAIL_KEYS[name],
                        persist_state="session",  # the details survive the confirmation and other pages
                    )
                else:
                    label = FIELD_LABELS[name] + (" (optional)" if name == "line2" else "")
                    st.text_input(
                        label,
                        key=DETAIL_KEYS[name],
                        max_chars=200,
                        persist_state="session",
                        autocomplete={"email": "email", "phone": "tel", "name": "name"}.get(name),
                    )
                _field_error(errors.get(name))
    return {name: state.get(key, "") for name, key in DETAIL_KEYS.items()}


def _books() -> None:
    st.title("Stripe Press")
    st.caption("Ideas for progress — books on technology, science and economic progress.")
    books = catalog.all_books()
    for column, book in zip(st.columns(len(books), gap="medium"), books, strict=True):
        with column:
            _cover(book.id)
            chosen = state.checkout_book == book.id
            # A fixed height keeps the Choose buttons in one row whatever the title's length.
            st.markdown(
                f'<div style="min-height:7.2rem;line-height:1.35"><strong>{html.escape(book.title)}</strong><br>'
                f"{html.escape(book.author)}<br>{format_amount(book.price, book.currency)}</div>",
                unsafe_allow_html=True,
            )
            st.button(
                "✓ Chosen" if chosen else "Choose",
                key=f"choose_{book.id}",
                type="primary" if chosen else "secondary",
                on_click=_choose,
                args=(book.id,),
                width="stretch",
            )


def _handle_payment(payment: dict, details: dict[str, str], book_id: str, quantity: int) -> None:
    """Charge once per click: the nonce is recorded before anything else, so a rerun cannot charge again.

    Then the page reruns: to the confirmation when paid, else back to the form with the message.
    """
    received = time.perf_counter()
    if payment["nonce"] in state.checkout_nonces:
        return
    state.checkout_nonces = [*state.checkout_nonces[-49:], payment["nonce"]]
    try:
        outcome = payments.checkout(details, book_id, quantity, payment, order_id=state.get("checkout_order_id"))
    except Exception:  # e.g. the order store is unavailable: no traceback for the customer, all of it in the log
        log.exception("checkout failed for book %s", book_id)
        state.checkout_notice = ("error", UNEXPECTED_FAILURE)
        state.checkout_reset += 1
        st.rerun()
    if outcome.order_id:
        state.checkout_order_id = outcome.order_id
    result = outcome.result
    if result is not None and result.succeeded:
        state.checkout_confirmation = {
            "order_id": result.order.id,
            "charge_id": result.charge_id,
            # What Stripe says was charged, not what the browser sent.
            "brand": result.card_brand,
            "last4": result.card_last4,
        }
        # For `make bench`: our own time from token to confirmation is (shown - received) - stripe_seconds.
        state.checkout_timing = {"received": received, "stripe_seconds": result.stripe_seconds}
    elif outcome.errors:
        state.checkout_show_errors = True
        state.checkout_notice = ("warning", "Please correct the highlighted details, then pay again.")
    elif result is not None:
        state.checkout_notice = ("error", result.message)
    else:
        state.checkout_notice = ("error", outcome.message or "The payment could not be made; try again.")
    state.checkout_reset += 1  # re-enables the card's Pay button
    st.rerun()


def _checkout() -> tuple[dict | None, dict[str, str], str, int]:
    """The shop: books, details, order summary and card; returns the card's click (or None) and what it buys."""
    _books()
    st.divider()
    book = catalog.get_book(state.checkout_book)
    current = {name: state.get(key, "") for name, key in DETAIL_KEYS.items()}
    checked = validate_customer(current)
    # Required-field messages wait for the first click on Pay; a wrongly typed value is flagged at once.
    shown_errors = {
        name: message for name, message in checked.errors.items() if state.checkout_show_errors or current.get(name)
    }

    details_column, pay_column = st.columns([1, 1], gap="large")
    with details_column:
        details = _details(shown_errors)
    with pay_column:
        st.subheader("Your order")
        cover_column, summary_column = st.columns([1, 2])
        with cover_column:
            _cover(book.id)
        with summary_column:
            st.markdown(f"**{book.full_title}**  \n{book.author}")
            quantity = st.number_input(
                "Quantity", min_value=1, max_value=catalog.MAX_QUANTITY, step=1, key="checkout_quantity"
            )
            total = catalog.price_for(book.id, int(quantity))
            st.markdown(
                f"{int(quantity)} × {format_amount(book.price, book.currency)} — "
                f"**Total {format_amount(total, book.currency)}**"
            )
        notice = state.get("checkout_notice")
        if notice:
            kind, text = notice
            (st.error if kind == "error" else st.warning)(text)
        payment = elements_card(
            settings.publishable_key,
            settings.stripe_js_url,
            amount_label=f"Pay {format_amount(total, book.currency)}",
            key="card",
            # The card's billing details for Stripe's checks; empty fields are left out.
            billing={field: checked.values[name] for field, name in BILLING_FIELDS.items() if checked.values[name]},
            reset_token=state.checkout_reset,
        )
        if settings.is_test:
            st.caption(TEST_CARD_HINT)
    return payment, details, book.id, int(quantity)


settings = get_settings()
if "checkout_confirmation" in state:
    _confirmation(state.checkout_confirmation)
    st.stop()

payment, details, book_id, quantity = _checkout()
if payment:
    _handle_payment(payment, details, book_id, quantity)
