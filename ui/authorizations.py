"""The Orders page's authorizations (capture at shipment): those close to expiring, and those released uncaptured."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from shop import orders
from shop.money import to_major
from shop.words import count
from ui.formats import MONEY_COLUMN, TIME_COLUMN, table

# Stripe releases an uncaptured card authorization after 7 days (docs.stripe.com/payments/place-a-hold-on-a-
# payment-method): staff are warned a day before, to ship (and so capture) or cancel.
WARN_AFTER_S = 6 * 86400
RELEASE_AFTER_S = 7 * 86400


def authorizations_frame(order_list: list[orders.Order], *, released: bool = False) -> pd.DataFrame:
    """One row per order: number, customer, amount (major units), when authorized, and released or expiring."""
    frame = pd.DataFrame(
        {
            "Order": [order.id for order in order_list],
            "Customer": [order.customer.name for order in order_list],
            "Amount": [float(to_major(order.amount, order.currency)) for order in order_list],
            "Authorized": pd.to_datetime([order.paid_at for order in order_list], unit="s", utc=True),
        }
    )
    if released:
        frame["Released"] = pd.to_datetime([order.released_at for order in order_list], unit="s", utc=True)
        frame["Cancelled"] = ["yes" if order.cancelled_at else "no (expired)" for order in order_list]
    else:
        frame["Released by Stripe"] = pd.to_datetime(
            [(order.paid_at or 0) + RELEASE_AFTER_S for order in order_list], unit="s", utc=True
        )
    return frame


def show_authorizations() -> None:
    """Warn about authorizations older than 6 days, and list the released ones; nothing when there are none."""
    stale = orders.stale_authorizations(WARN_AFTER_S)
    if stale:
        with st.container(border=True):
            st.warning(
                f"**{count(len(stale), 'authorization')} older than 6 days.** Stripe releases an uncaptured payment "
                "after 7 days and the money is lost to the shop: mark these orders shipped (which captures) or "
                "cancel them."
            )
            formats = {"Amount": MONEY_COLUMN, "Authorized": TIME_COLUMN, "Released by Stripe": TIME_COLUMN}
            table(authorizations_frame(stale), csv_name="stale-authorizations", **formats)
    released = orders.released_authorizations()
    if released:
        with st.expander(f"Authorizations released uncaptured ({len(released)})"):
            st.caption("Cancelled before shipping, or expired after 7 days: no money was taken from these cards.")
            table(
                authorizations_frame(released, released=True),
                csv_name="released-authorizations",
                Amount=MONEY_COLUMN,
                Authorized=TIME_COLUMN,
                Released=TIME_COLUMN,
            )
