"""Failed payments as Stripe's Dashboard counts them: failed charges and failed PaymentIntent attempts without one.

A PaymentIntent whose 3-D Secure check fails (the customer failed or closed the challenge) goes back to
`requires_payment_method` with `last_payment_error.code == "payment_intent_authentication_failure"` and makes no
charge (docs.stripe.com/payments/3d-secure/authentication-flow, docs.stripe.com/error-codes
#payment-intent-authentication-failure), so the synced copy of charges never sees it, yet the Dashboard lists it as
a failed payment.

Where these come from: the order store's attempts (`shop.attempts`), not the synced events. The shop records every
confirm of an order's intent that Stripe answered with a failure as an attempt
(`shop.checkout.intents.settle_order`, once per confirm), with the error's code and message, whether Stripe or the
emulator is behind it, and the attempts live in the same database the pages and the notebooks read. The sync keeps
charges, refunds and disputes but not `payment_intent.payment_failed` events, and Stripe lists events for 30 days
only (docs.stripe.com/api/events/list), so an analyst's quarter would lose its oldest failures there. What the
attempts cannot show: intents the shop did not create (none of its orders), and a challenge left open in a closed
tab, which Stripe keeps in `requires_action` and reports as no failure until the intent is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from shop.analytics.loading import FAILED, SUCCEEDED, book_titles, major_units
from shop.analytics.metrics import bucket_size, week_of
from shop.db import get_engine
from shop.schema import attempts_table, orders_table

NOT_CHARGED = "not_charged"  # shop.attempts.NOT_CHARGED: an attempt that never reached Stripe, not a failure
WITHOUT_CHARGE_COLUMNS = (
    "created_at",
    "order_id",
    "code",
    "message",
    "amount",
    "currency",
    "customer_name",
    "receipt_email",
    "book",
)


def load_failed_without_charge(
    engine: sa.Engine | None = None, *, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """Failed attempts on orders' PaymentIntents that made no charge, created in [start, end), newest first.

    Columns: WITHOUT_CHARGE_COLUMNS; `created_at` is UTC, `amount` the order's in minor units.
    """
    a, o = attempts_table.c, orders_table.c
    query = (
        sa.select(
            a.created,
            a.order_id,
            sa.func.coalesce(a.decline_code, a.code).label("code"),
            a.message,
            o.amount,
            o.currency,
            o.name,
            o.email,
            o.book_id,
        )
        .join(orders_table, o.id == a.order_id)
        .where(
            a.outcome == FAILED,
            a.charge_id.is_(None),
            sa.func.coalesce(a.code, "") != NOT_CHARGED,
            o.payment_intent_id.is_not(None),
        )
        .order_by(a.created.desc(), a.id.desc())
    )
    if start is not None:
        query = query.where(a.created >= int(start.timestamp()))
    if end is not None:
        query = query.where(a.created < int(end.timestamp()))
    with (engine or get_engine()).connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(
        rows, columns=["created", "order_id", "code", "message", "amount", "currency", "name", "email", "book_id"]
    )
    titles = book_titles()
    return pd.DataFrame(
        {
            "created_at": pd.to_datetime(frame["created"].astype("int64"), unit="s", utc=True),
            "order_id": frame["order_id"].astype("object"),
            "code": frame["code"].fillna("unknown").astype("object"),
            "message": frame["message"].astype("object"),
            "amount": frame["amount"].astype("int64"),
            "currency": frame["currency"].astype("object"),
            "customer_name": frame["name"].astype("object"),
            "receipt_email": frame["email"].astype("object"),
            "book": frame["book_id"].map(lambda book: titles.get(book, book)).astype("object"),
        },
        columns=list(WITHOUT_CHARGE_COLUMNS),
    )


@dataclass(frozen=True)
class FailureCounts:
    """Failed and succeeded payments of a period: failed charges plus failed attempts that made no charge."""

    failed_charges: int
    failed_without_charge: int
    succeeded: int

    @property
    def failed(self) -> int:
        """Every failed payment attempt, with a charge or without."""
        return self.failed_charges + self.failed_without_charge

    @property
    def rate(self) -> float | None:
        """Failed / (succeeded + failed); None when nothing was attempted."""
        attempts = self.succeeded + self.failed
        return self.failed / attempts if attempts else None


def failure_counts(charges: pd.DataFrame, without_charge: pd.DataFrame) -> FailureCounts:
    """`FailureCounts` of a frame of charges (`load_charges`) and of failures without a charge (same period)."""
    return FailureCounts(
        failed_charges=int((charges["status"] == FAILED).sum()),
        failed_without_charge=len(without_charge),
        succeeded=int((charges["status"] == SUCCEEDED).sum()),
    )


def _outcomes(charges: pd.DataFrame, without_charge: pd.DataFrame | None) -> pd.DataFrame:
    """One row per decided attempt: created_at and whether it failed."""
    decided = charges[charges["status"].isin([SUCCEEDED, FAILED])]
    parts = [pd.DataFrame({"created_at": decided["created_at"], "failed": decided["status"] == FAILED})]
    if without_charge is not None and len(without_charge):
        parts.append(pd.DataFrame({"created_at": without_charge["created_at"], "failed": True}))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _rates(keys: pd.Series, failed: pd.Series) -> pd.DataFrame:
    grouped = failed.groupby(keys)
    out = pd.DataFrame({"attempts": grouped.size(), "failed": grouped.sum().astype("int64")}).reset_index()
    out["rate"] = out["failed"] / out["attempts"]
    return out


def failure_rate_series(
    charges: pd.DataFrame, start: datetime, end: datetime, without_charge: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Attempts, failures and failure rate per bucket (hour or day). Columns: bucket, attempts, failed, rate.

    `without_charge` (`load_failed_without_charge`) adds the failed attempts that made no charge.
    """
    unit = "h" if bucket_size(start, end) == "hour" else "D"
    outcomes = _outcomes(charges, without_charge)
    if outcomes.empty:
        return pd.DataFrame({"bucket": [], "attempts": [], "failed": [], "rate": []})
    return _rates(outcomes["created_at"].dt.floor(unit).rename("bucket"), outcomes["failed"])


def weekly_failure_rate(
    charges: pd.DataFrame, start: datetime, end: datetime, without_charge: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The failure rate per week (Monday 00:00 UTC) of [start, end): a steadier view than a daily rate of a few
    attempts a day. Columns: week_of, attempts, failed, rate, partial (the week is cut by the period's start or
    end, so it holds fewer days than seven)."""
    outcomes = _outcomes(charges, without_charge)
    if outcomes.empty:
        return pd.DataFrame({"week_of": [], "attempts": [], "failed": [], "rate": [], "partial": []})
    out = _rates(week_of(outcomes["created_at"]), outcomes["failed"])
    week_end = out["week_of"] + pd.Timedelta(days=7)
    out["partial"] = (out["week_of"] < pd.Timestamp(start)) | (week_end > pd.Timestamp(end))
    return out


def week_label(week: pd.Timestamp, partial: bool) -> str:
    """A week as a chart or table names it: "week of 16 Nov", "week of 16 Nov (part)" when cut by the period."""
    return f"week of {week:%d %b}" + (" (part)" if partial else "")


def failed_without_charge_table(without_charge: pd.DataFrame) -> pd.DataFrame:
    """The Failures page's table of failed attempts without a charge: time, customer, book, amount, code, message."""
    return pd.DataFrame(
        {
            "Time": without_charge["created_at"],
            "Customer": without_charge["customer_name"],
            "Email": without_charge["receipt_email"],
            "Book": without_charge["book"],
            "Amount": major_units(without_charge["amount"]),
            "Code": without_charge["code"],
            "Message": without_charge["message"],
            "Order": without_charge["order_id"],
        }
    ).reset_index(drop=True)
