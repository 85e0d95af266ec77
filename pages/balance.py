"""Balance and payouts: what Stripe holds for the shop, and which charges and refunds each payout paid out."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import stripe

from shop import balance
from shop.config import ConfigError, get_settings, stripe_client
from shop.money import format_amount
from shop.words import count
from ui import gate
from ui.formats import DAY_COLUMN, MONEY_COLUMN, TIME_COLUMN, csv_download
from ui.links import charge_rows_table

gate.staff_page()

CACHE_S = 60
PAYOUT_COLUMNS = {"Created": TIME_COLUMN, "Arrives": DAY_COLUMN, "Amount": MONEY_COLUMN}


@st.cache_data(ttl=CACHE_S, show_spinner=False)
def _read(api_base: str) -> tuple[balance.Balance, list[dict]]:
    del api_base  # the cache key: one account per settings
    client = stripe_client()
    return balance.balance(client), balance.payouts(client)


@st.cache_data(ttl=CACHE_S, show_spinner=False)
def _members(api_base: str, payout_id: str) -> list[dict]:
    del api_base
    return balance.payout_transactions(stripe_client(), payout_id)


def _times(rows: list[dict], *names: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for name in names:
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    for name in ("amount", "fee", "net"):
        if name in frame:
            frame[name] = frame[name] / 100
    return frame


st.title("Balance and payouts")
st.caption(f"Asked of Stripe, at most once a minute (figures up to {CACHE_S} s old).")
key = get_settings().mode + (get_settings().emulator_url or "")
try:
    funds, payouts = _read(key)
except (stripe.StripeError, ConfigError):
    st.error("Stripe did not answer: the balance cannot be shown just now. Try again in a minute.")
    st.stop()

currencies = sorted(set(funds.available) | set(funds.pending)) or ["usd"]
for currency in currencies:
    left, right, _ = st.columns(3)
    left.metric(
        f"Available ({currency.upper()})",
        format_amount(funds.available.get(currency, 0), currency),
        help="Funds Stripe can pay out now.",
        border=True,
    )
    right.metric(
        f"Pending ({currency.upper()})",
        format_amount(funds.pending.get(currency, 0), currency),
        help="Funds from recent charges, available on Stripe's payout schedule.",
        border=True,
    )

st.subheader("Payouts", divider="gray")
if not payouts:
    st.info("No payouts yet: Stripe pays the available balance out daily once there is one.")
    st.stop()
# What matches the bank statement first (amount, arrival), so a narrow screen still shows it.
frame = (
    _times(payouts, "created", "arrival_date")[
        ["amount", "arrival_date", "status", "id", "created", "currency", "method", "description"]
    ]
    .rename(columns=str.capitalize)
    .rename(columns={"Arrival_date": "Arrives", "Id": "Payout"})
)
st.caption("Select a payout to see the transactions it paid out, to match it with the bank statement.")
csv_download(frame, PAYOUT_COLUMNS, "payouts")
event = st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="balance_payouts",
    column_config=PAYOUT_COLUMNS,
)
asked = st.query_params.get("payout")  # a payout id linked from elsewhere (po_…) opens that payout
by_id = [i for i, shown in enumerate(payouts) if shown["id"] == asked]
chosen = event.selection.rows[0] if event.selection.rows else (by_id[0] if by_id else 0)
payout = payouts[chosen]
members = _members(key, payout["id"])
st.markdown(
    f"**{payout['id']}** · {format_amount(payout['amount'], payout['currency'])} · "
    f"{count(len(members), 'transaction')}, net {format_amount(sum(m['net'] for m in members), payout['currency'])}"
)
dashboard = get_settings().dashboard_url(payout["id"])
if dashboard:
    st.link_button("View the payout in the Stripe Dashboard", dashboard, icon=":material/open_in_new:")
if members:
    st.caption("Select a charge's row to open the charge.")
    charge_rows_table(
        _times(members, "created")[["type", "amount", "fee", "net", "source", "created", "id"]].rename(
            columns={
                "type": "Type",
                "amount": "Amount",
                "fee": "Fee",
                "net": "Net",
                "source": "Charge or refund",
                "created": "Created",
                "id": "Transaction",
            }
        ),
        [m["source"] if str(m["source"] or "").startswith(("ch_", "py_")) else None for m in members],
        "balance_payout_transactions",
        csv_name=f"payout-{payout['id']}",
        Created=TIME_COLUMN,
        Amount=MONEY_COLUMN,
        Fee=MONEY_COLUMN,
        Net=MONEY_COLUMN,
    )
