"""Frames shaped for display and export: the charge search, the pages' tables, the CSV, and a charge for payments."""

from __future__ import annotations

from collections.abc import Callable

import humanize
import pandas as pd
import sqlalchemy as sa

from shop import export, fulfilment, orders, payment_methods, sync
from shop.analytics.loading import CHARGE_COLUMNS, book_titles, charges_frame_of, major_units
from shop.db import get_engine
from shop.money import minor_unit_factor, to_major
from shop.schema import charges
from shop.words import code_words


def charge_amounts(frame: pd.DataFrame, charge_id: str) -> fulfilment.ChargeAmounts:
    """The refund-relevant facts of one charge of a charges frame, as plain Python values for shop.fulfilment."""
    row = frame[frame["id"] == charge_id].iloc[0]
    return fulfilment.ChargeAmounts(
        id=str(row["id"]),
        status=str(row["status"]),
        currency=str(row["currency"]),
        amount=int(row["amount"]),
        amount_captured=int(row["amount_captured"]),
        amount_refunded=int(row["amount_refunded"]),
        captured=bool(row["captured"]),
        refunded=bool(row["refunded"]),
    )


SEARCH_LIMIT = 50


def find_charges(query: str, *, engine: sa.Engine | None = None, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """Synced charges that `query` names, newest first, as a charges frame (see `load_charges`), at most `limit`.

    The charge whose id is `query`, or the charges of the order numbered `query` (any case: order numbers are
    stored upper case, SP-…); when none, the charges whose receipt email contains `query` (case-insensitive).
    The id and the order number are looked up through their indexes; the email part reads the charges newest
    first and stops at the `limit`-th match.
    """
    needle = query.strip()
    if not needle:
        return charges_frame_of([])
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    columns = [charges.c[name] for name in CHARGE_COLUMNS]
    newest_first = (charges.c.created.desc(), charges.c.id.desc())
    with engine.connect() as conn:
        exact = (charges.c.id == needle) | charges.c.order_id.in_({needle, needle.upper()})
        rows = conn.execute(sa.select(*columns).where(exact).order_by(*newest_first).limit(limit)).fetchall()
        if not rows:
            email = sa.func.lower(charges.c.receipt_email).contains(needle.lower(), autoescape=True)
            rows = conn.execute(sa.select(*columns).where(email).order_by(*newest_first).limit(limit)).fetchall()
    return charges_frame_of(rows)


# ---------------------------------------------------------------------------------------------- tables


def charges_table(frame: pd.DataFrame, dashboard_url: Callable[[str], str | None] | None = None) -> pd.DataFrame:
    """The Charges page's table: one row per charge, money in dollars for display, card as "visa •••• 4242"."""
    table = pd.DataFrame(
        {
            "Created": frame["created_at"],
            "Charge": frame["id"],
            "Status": frame["display_status"],
            "Amount": major_units(frame["amount"]),
            "Refunded": major_units(frame["amount_refunded"]),
            "Customer": frame["customer_name"],
            "Email": frame["receipt_email"],
            "Book": frame["book"],
            "Qty": frame["quantity"],
            "Order": frame["order_id"],
            "Payment method": card_label(frame),
            "Code": frame["code"],
        }
    )
    if dashboard_url is not None:
        table["Stripe"] = [dashboard_url(charge_id) for charge_id in frame["id"]]
    return table.reset_index(drop=True)


def card_label(frame: pd.DataFrame) -> pd.Series:
    """The payment method per row, as `payment_methods.label` reads it: "visa •••• 4242", "US bank account ••••
    6789", "Klarna" ("" when the charge has no details)."""
    text = [
        payment_methods.label(brand if isinstance(brand, str) else None, last4 if isinstance(last4, str) else None)
        for brand, last4 in zip(frame["card_brand"], frame["card_last4"], strict=True)
    ]
    return pd.Series(text, index=frame.index, dtype="object")


CSV_COLUMNS = (
    "id",
    "created_utc",
    "display_status",
    "amount",
    "amount_captured",
    "amount_refunded",
    "currency",
    "customer_name",
    "receipt_email",
    "book",
    "quantity",
    "order_id",
    "card_brand",
    "card_last4",
    "failure_code",
    "decline_code",
    "failure_message",
)


def charges_csv(frame: pd.DataFrame) -> bytes:
    """CSV of exactly the rows of `frame`; amounts as decimals in major units ("23.00"), times in UTC ISO."""
    out = frame.assign(created_utc=frame["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for name in ("amount", "amount_captured", "amount_refunded"):
        out[name] = [
            str(to_major(int(value), currency)) for value, currency in zip(out[name], out["currency"], strict=True)
        ]
    return export.csv_bytes(out[list(CSV_COLUMNS)])


def orders_frame(order_list: list[orders.Order]) -> pd.DataFrame:
    """Orders as a table for the Orders page: money in dollars for display, times in UTC."""
    titles = book_titles()

    def when(seconds: int | None) -> pd.Timestamp | None:
        return pd.Timestamp(seconds, unit="s", tz="UTC") if seconds else None

    return pd.DataFrame(
        {
            "Created": [when(order.created) for order in order_list],
            "Order": [order.id for order in order_list],
            # An order paid by an authorization only (capture at shipment) reads "authorized" until it is captured.
            "Status": [
                "authorized" if order.awaiting_capture else orders.status_label(order.status) for order in order_list
            ],
            "Customer": [order.customer.name for order in order_list],
            "Email": [order.customer.email for order in order_list],
            "Book": [titles.get(order.book_id, order.book_id) for order in order_list],
            "Qty": [order.quantity for order in order_list],
            "Amount": [order.amount / minor_unit_factor(order.currency) for order in order_list],
            "Refunded": [order.amount_refunded / minor_unit_factor(order.currency) for order in order_list],
            "Charge": [order.charge_id or "" for order in order_list],
            "Shipped": [when(order.shipped_at) for order in order_list],
            "Tracking": [" ".join(filter(None, (order.carrier, order.tracking_number))) for order in order_list],
        },
        columns=[
            "Created",
            "Order",
            "Status",
            "Customer",
            "Email",
            "Book",
            "Qty",
            "Amount",
            "Refunded",
            "Charge",
            "Shipped",
            "Tracking",
        ],
    )


def failed_attempts_table(failed: pd.DataFrame) -> pd.DataFrame:
    """The Failures page's table of failed charges: time, customer, book, amount, card, code, message."""
    return pd.DataFrame(
        {
            "Time": failed["created_at"],
            "Customer": failed["customer_name"],
            "Email": failed["receipt_email"],
            "Book": failed["book"],
            "Amount": major_units(failed["amount"]),
            "Payment method": card_label(failed),
            "Code": failed["code"],
            "Message": failed["failure_message"],
            "Order": failed["order_id"],
            "Charge": failed["id"],
        }
    ).reset_index(drop=True)


def duration_text(waited: pd.Timedelta) -> str:
    """A wait as people say it: minutes under a day ("34 minutes"), then days and hours ("1 day and 11 hours")."""
    unit = "minutes" if waited < pd.Timedelta(days=1) else "hours"
    return humanize.precisedelta(waited.to_pytimedelta(), minimum_unit=unit, format="%0.0f")


def recovered_table(recovered: pd.DataFrame) -> pd.DataFrame:
    """The Failures page's table of recovered orders, with the time to recover in words ("1 day and 11 hours")."""
    return pd.DataFrame(
        {
            "Order": recovered["order_id"],
            "First failure": recovered["first_failed_at"],
            "Succeeded": recovered["succeeded_at"],
            "Time to recover": recovered["time_to_recover"].map(duration_text),
            "Failed attempts": recovered["failed_attempts"],
            "Failed card": recovered["failed_card"],
            "Paid with": recovered["succeeded_card"],
            "Amount": major_units(recovered["amount"]),
        }
    )


def refunds_table(history: pd.DataFrame) -> pd.DataFrame:
    """The Refunds page's history table (money in dollars for display)."""
    return pd.DataFrame(
        {
            "Created": history["created_at"],
            "Refund": history["id"],
            "Amount": major_units(history["amount"]),
            "Reason": history["reason"].fillna("").map(code_words),
            "Status": history["status"].fillna("").map(code_words),
            "Charge": history["charge_id"],
            "Email": history["receipt_email"],
            "Order": history["order_id"],
            "Book": history["book"],
        }
    )
