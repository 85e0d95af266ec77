"""Shop: choose a Stripe Press book, enter your details and a card, pay, and see the charge."""

from __future__ import annotations

import streamlit as st

from shop import catalog
from shop.checkout import integrations
from shop.config import get_settings
from shop.validation import validate_customer
from ui import checkout, gate

gate.public_page()

state = st.session_state
checkout.init_state()
checkout.page_style()

flow = checkout.chosen_flow()  # the server's CHECKOUT_API, or this session's pick in emulator mode
if "checkout_sessions" in integrations.choosable(get_settings()):
    checkout.session_return()  # back from a redirect method: settled before anything is shown

if "checkout_confirmation" in state:
    checkout.confirmation(state.checkout_confirmation)
    st.stop()

# The payment column is filled first and the books and details after it, each in its place on the page: the card
# frame then starts loading while the rest of the script runs, instead of after it.
books = st.container()
st.divider()
book = catalog.get_book(state.checkout_book)
email_only = flow == "checkout_sessions"  # Stripe's Address Element asks the rest there
current, errors = checkout.shown_errors(email_only)
details = dict(current)  # what the details form below shows: the fields as typed

details_column, pay_column = st.columns([1, 1], gap="large")
with pay_column:
    quantity, total = checkout.order_summary(book)
    checkout.integration_switch()
    checkout.notice(errors)
    checkout.first_error_into_view(errors)
    answer = checkout.duplicate_prompt()
    if flow == "checkout_sessions":
        click = None  # the Payment Element's reports are handled where it is mounted
        checkout.session_payment(total, book, quantity, details)
    else:
        click = checkout.card(total, book, validate_customer(current).values, flow)
with books:
    checkout.book_grid()
with details_column:
    checkout.details_form(errors, email_only)

if answer:
    checkout.answer_duplicate(answer, details, book.id, quantity)
elif click and flow == "payment_intents":
    if click["action"] == "pay":
        checkout.handle_pay_click(click["nonce"], details, book.id, quantity)
    else:
        checkout.handle_outcome(click)
elif click:
    checkout.handle_token(click, details, book.id, quantity)
