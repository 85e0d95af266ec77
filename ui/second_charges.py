"""The Orders page's list of second charges: charges Stripe made for an order already paid, refunded automatically."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from shop import second_charges
from shop.money import to_major
from shop.words import count
from ui.formats import MONEY_COLUMN, TIME_COLUMN, table

TITLE = "Second charges refunded automatically"
FOUND_BY = {
    "late_answer": "late answer",
    "reconcile": "reconciliation",
    "sync": "sync",
    "mismatch": "amount not the order's",
}


def second_charges_frame(records: list[second_charges.SecondCharge]) -> pd.DataFrame:
    """One row per second charge: order, charge, amount (major units), when found, refund and when refunded."""
    return pd.DataFrame(
        {
            "Order": [record.order_id for record in records],
            "Charge": [record.charge_id for record in records],
            "Amount": [float(to_major(record.amount, record.currency)) for record in records],
            "Found": pd.to_datetime([record.found_at for record in records], unit="s", utc=True),
            "Found by": [FOUND_BY.get(record.found_by, record.found_by) for record in records],
            "Refund": [record.refund_id or ("refunded" if record.refunded_at else "not yet") for record in records],
            "Refunded": pd.to_datetime([record.refunded_at for record in records], unit="s", utc=True),
        }
    )


def show_second_charges(limit: int = 200) -> None:
    """The section, only when there is something to show: newest first, with those Stripe has not refunded yet."""
    records = second_charges.list_second_charges(limit=limit)
    if not records:
        return
    waiting = sum(1 for record in records if record.refunded_at is None)
    with st.container(border=True):
        st.markdown(f"**{TITLE}**")
        st.caption(
            "Stripe charged these orders a second time (an answer that arrived after another payment had gone "
            "through), or charged an amount or currency that was not the order's (that order is closed and the "
            "customer asked to pay again). Each is refunded in full; the customer keeps at most one charge."
            + (
                f" {count(waiting, 'refund')} not confirmed yet: tried again on the next check or sync."
                if waiting
                else ""
            )
        )
        table(
            second_charges_frame(records),
            csv_name="second-charges",
            Amount=MONEY_COLUMN,
            Found=TIME_COLUMN,
            Refunded=TIME_COLUMN,
        )
