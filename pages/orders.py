"""Orders: every order with its customer, book, amount, status and charge; tick rows to ship or cancel them."""

from __future__ import annotations

import logging

import streamlit as st
import stripe

from shop import order_checks, orders, stripe_io
from shop.checkout import reconcile
from shop.words import count
from ui import emails, gate, links
from ui.authorizations import show_authorizations
from ui.data import data_changed, live_refresh
from ui.messages import flash, show_flash
from ui.order_actions import action_bar, selectable_table, show_results
from ui.second_charges import show_second_charges

gate.staff_page()
log = logging.getLogger(__name__)

STATUSES = orders.ORDER_STATUSES
MESSAGE_KEY = "orders_message"

st.title("Orders")
show_flash(MESSAGE_KEY)  # the reconciliation's outcome
live_refresh()  # a webhook that settles an order shows here without a click

status_col, search_col = st.columns([2, 2])
statuses = status_col.multiselect(
    "Status", STATUSES, format_func=orders.status_label, placeholder="All", key="orders_status"
)
search = search_col.text_input("Search", placeholder="Order number, name or email contains…", key="orders_search")
shown = orders.list_orders(status=statuses, search=search)
total = orders.count_orders()
st.markdown(
    f"**{len(shown):,} order{'' if len(shown) == 1 else 's'}**" + (f" of {total:,}" if len(shown) != total else "")
)
show_results()
emails.problems()  # customer emails the mail server refused, with what to fix
picked = selectable_table(shown)
if len(picked) == 1 and picked[0].charge_id:  # one order ticked: its charge's detail is a click away
    st.page_link(
        links.CHARGE_PAGE, label=f"Open the charge of {picked[0].id}", query_params={"id": picked[0].charge_id}
    )
action_bar(picked)

show_second_charges()
show_authorizations()

unanswered = order_checks.unanswered()
if unanswered:
    with st.container(border=True):
        found, why = [], []
        if unanswered.attempts:
            found.append(f"{count(len(unanswered.attempts), 'payment attempt')} with an unknown result")
            why.append("Stripe could not be reached or its answer was lost")
        if unanswered.open_intents:
            found.append(f"{count(len(unanswered.open_intents), 'unpaid order')} with a payment started")
            why.append("the customer's page never reported back what the bank or Stripe said")
        st.markdown(
            f"**{' and '.join(found)}** — {'; '.join(why)}. Checking asks Stripe what happened to each; it never "
            "charges a card."
        )
        if st.button("Check them with Stripe", key="orders_reconcile"):
            with st.spinner("Asking Stripe…"):
                try:
                    results = reconcile.reconcile_pending()
                    paid = [r for r in reconcile.settle_open_orders() if r.succeeded]
                except stripe.StripeError as exc:
                    log.warning("checking unsettled orders with Stripe failed", exc_info=True)
                    flash(MESSAGE_KEY, "error", f"{stripe_io.staff_words(exc)} Nothing was charged or changed.")
                else:
                    settled = [r for r in results if r.outcome != "still_pending"]
                    flash(
                        MESSAGE_KEY,
                        "success",
                        f"Checked {count(len(results), 'attempt')}: {len(settled)} settled, "
                        f"{len(results) - len(settled)} still in progress (checked again after a minute); "
                        f"{count(len(paid), 'unpaid order')} turned out paid.",
                    )
                    data_changed()
            st.rerun()
