"""Orders: every order with its customer, book, amount, status and charge; tick rows to ship or cancel them."""

from __future__ import annotations

import streamlit as st
import stripe

from shop import intents, orders, payments
from ui import emails, gate, links
from ui.authorizations import show_authorizations
from ui.data import data_changed, live_refresh
from ui.messages import flash, show_flash
from ui.order_actions import action_bar, selectable_table, show_results
from ui.second_charges import show_second_charges

gate.staff_page()

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
