"""Charges and refunds of the synced store as pandas frames: loading and the derived columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from shop import catalog, sync
from shop.db import get_engine
from shop.money import minor_unit_factor
from shop.schema import charges, refunds

# Display statuses of a charge, the values of the Charges page's status filter.
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUNDED = "refunded"
PARTIALLY_REFUNDED = "partially refunded"
UNCAPTURED = "uncaptured"
PENDING = "pending"
STATUSES = (SUCCEEDED, FAILED, REFUNDED, PARTIALLY_REFUNDED, UNCAPTURED, PENDING)

CHARGE_COLUMNS = (
    "id",
    "created",
    "amount",
    "amount_captured",
    "amount_refunded",
    "currency",
    "status",
    "captured",
    "refunded",
    "failure_code",
    "failure_message",
    "decline_code",
    "card_brand",
    "card_last4",
    "receipt_email",
    "customer_name",
    "order_id",
    "book_id",
    "quantity",
    "fee",
    "net",
    "disputed",
)


def book_titles() -> dict[str, str]:
    """Book id -> title, from the catalog."""
    return {book.id: book.title for book in catalog.all_books()}


def load_charges(
    engine: sa.Engine | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Synced charges as a frame (one query, only the columns the pages use), newest first.

    Every charge by default. With `start` / `end`, only those created in [start, end) (UTC, read through the index
    on `created`, so a month of a million charges costs a month's rows); with `ids`, only those charges.
    Adds `created_at` (UTC datetime), `display_status` (see STATUSES), `book` (title) and `code` (decline code,
    else failure code). Money columns stay integer minor units.
    """
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    statement = sa.select(*(charges.c[name] for name in CHARGE_COLUMNS))
    if start is not None:
        statement = statement.where(charges.c.created >= start.timestamp())
    if end is not None:
        statement = statement.where(charges.c.created < end.timestamp())
    if ids is not None:
        statement = statement.where(charges.c.id.in_(list(ids)))
    statement = statement.order_by(charges.c.created.desc(), charges.c.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(statement).fetchall()
    return charges_frame_of(rows)


def charges_frame_of(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """A prepared charges frame (see `prepare_charges`) from rows of the CHARGE_COLUMNS, in that order."""
    # Column lists, not DataFrame.from_records: records of SQLAlchemy rows take a slow per-row path (7x here).
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in CHARGE_COLUMNS]
    frame = pd.DataFrame({name: list(values) for name, values in zip(CHARGE_COLUMNS, columns, strict=True)})
    return prepare_charges(frame)


def first_created(engine: sa.Engine | None = None) -> datetime | None:
    """When the oldest synced charge was created (UTC), None for an empty copy; one index lookup."""
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    with engine.connect() as conn:
        oldest = conn.execute(sa.select(sa.func.min(charges.c.created))).scalar()
    return None if oldest is None else datetime.fromtimestamp(oldest, UTC)


def count_charges(
    engine: sa.Engine | None = None,
    *,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """How many synced charges there are (with Stripe's `status`, created in [start, end) when given); one COUNT."""
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    statement = sa.select(sa.func.count()).select_from(charges)
    if status is not None:
        statement = statement.where(charges.c.status == status)
    if start is not None:
        statement = statement.where(charges.c.created >= start.timestamp())
    if end is not None:
        statement = statement.where(charges.c.created < end.timestamp())
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


INT_COLUMNS = ("amount", "amount_captured", "amount_refunded", "created")


def prepare_charges(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed columns and the derived ones (`created_at`, `display_status`, `book`, `code`) for a raw frame."""
    frame = frame.copy()
    for name in INT_COLUMNS:
        frame[name] = frame[name].fillna(0).astype("int64")
    for name in ("captured", "refunded"):
        frame[name] = frame[name].fillna(False).astype(bool)
    frame["quantity"] = pd.array(frame["quantity"], dtype="Int64")
    # Null until the sync has the charge's balance transaction (and for charges that have none).
    for name in ("fee", "net"):
        frame[name] = pd.array(frame[name], dtype="Int64")
    frame["disputed"] = frame["disputed"].fillna(False).astype(bool)
    if frame.empty:
        # A new shop's store: the text columns of an empty frame come out as floats, which text operations
        # (card labels, searches) cannot use.
        for name in frame.columns.difference(
            [*INT_COLUMNS, "captured", "refunded", "quantity", "fee", "net", "disputed"]
        ):
            frame[name] = frame[name].astype(object)
    frame["created_at"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    frame["display_status"] = display_status(frame)
    titles = book_titles()
    frame["book"] = frame["book_id"].map(titles).fillna(frame["book_id"]).fillna("")
    frame["code"] = frame["decline_code"].where(frame["decline_code"].notna(), frame["failure_code"])
    frame["receipt_email"] = frame["receipt_email"].fillna("")
    frame["customer_name"] = frame["customer_name"].fillna("")
    return frame


def display_status(frame: pd.DataFrame) -> pd.Series:
    """One status per charge as finance reads it: failed, refunded, partially refunded, uncaptured, succeeded."""
    status = pd.Series(PENDING, index=frame.index, dtype="object")
    succeeded = frame["status"] == "succeeded"
    status[succeeded] = SUCCEEDED
    status[succeeded & ~frame["captured"]] = UNCAPTURED
    status[succeeded & frame["captured"] & (frame["amount_refunded"] > 0)] = PARTIALLY_REFUNDED
    status[
        frame["refunded"]
        | (
            succeeded
            & (frame["amount_refunded"] >= frame["amount_captured"])
            & frame["captured"]
            & (frame["amount_refunded"] > 0)
        )
    ] = REFUNDED
    status[frame["status"] == "failed"] = FAILED
    return status


# ---------------------------------------------------------------------------------------------- refunds


def refund_history(engine: sa.Engine | None = None, *, charge_id: str | None = None) -> pd.DataFrame:
    """Synced refunds, newest first, with the charge's email, order and book.

    Columns: id, created_at, amount, currency, reason, status, charge_id, receipt_email, order_id, book.
    """
    engine = engine or get_engine()
    statement = (
        sa.select(
            refunds.c.id,
            refunds.c.created,
            refunds.c.amount,
            refunds.c.currency,
            refunds.c.reason,
            refunds.c.status,
            refunds.c.charge_id,
            charges.c.receipt_email,
            charges.c.order_id,
            charges.c.book_id,
        )
        .select_from(refunds.outerjoin(charges, charges.c.id == refunds.c.charge_id))
        .order_by(refunds.c.created.desc())
    )
    if charge_id:
        statement = statement.where(refunds.c.charge_id == charge_id)
    with engine.connect() as conn:
        rows = conn.execute(statement).fetchall()
    names = [
        "id",
        "created",
        "amount",
        "currency",
        "reason",
        "status",
        "charge_id",
        "receipt_email",
        "order_id",
        "book_id",
    ]
    frame = pd.DataFrame.from_records(rows, columns=names)
    frame["created_at"] = pd.to_datetime(frame["created"].astype("int64"), unit="s", utc=True)
    frame["book"] = frame["book_id"].map(book_titles()).fillna(frame["book_id"])
    return frame[
        ["id", "created_at", "amount", "currency", "reason", "status", "charge_id", "receipt_email", "order_id", "book"]
    ]


def major_units(amounts: pd.Series, currency: str = "usd") -> pd.Series:
    """Minor units as major-unit floats, for display columns only (sums are done on the integers)."""
    return amounts.astype("int64") / minor_unit_factor(currency)
