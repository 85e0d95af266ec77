"""The Charges page's numbers computed by the database, whatever the size of the local copy.

The definitions are `metrics`' (gross, refunded, fees, display statuses, hour or day buckets), written as SQL
aggregates over `charges` and `refunds`: a page process receives a few hundred grouped rows and the newest rows
it shows, never a million charges. The same statements run on SQLite and PostgreSQL; the tests hold every result
equal to its pandas twin (`kpis`, `volume_series`, `net_series`, `uncaptured`) on the same store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from shop import sync
from shop.analytics.loading import (
    CHARGE_COLUMNS,
    FAILED,
    PARTIALLY_REFUNDED,
    PENDING,
    REFUNDED,
    SUCCEEDED,
    UNCAPTURED,
    charges_frame_of,
    major_units,
)
from shop.analytics.metrics import (
    REFUND_UNDONE,
    ChargeFilter,
    Kpis,
    Totals,
    bucket_size,
    comparison_since,
    totals_of,
)
from shop.analytics.tables import charges_csv
from shop.db import get_engine
from shop.schema import charges, refunds

BUCKET_SECONDS = {"hour": 3600, "day": 86400}  # UTC hours and days start at multiples of these epoch seconds
CSV_CHUNK_ROWS = 50_000  # rows formatted at a time for a CSV of every matching charge

_succeeded = charges.c.status == "succeeded"
_captured = sa.and_(_succeeded, charges.c.captured)

# `loading.display_status` as one CASE: its assignments run in order and the last that applies wins, so here the
# same tests come in reverse order and the first that applies wins.
DISPLAY_STATUS = sa.case(
    (charges.c.status == "failed", FAILED),
    (
        sa.or_(
            charges.c.refunded,
            sa.and_(_captured, charges.c.amount_refunded > 0, charges.c.amount_refunded >= charges.c.amount_captured),
        ),
        REFUNDED,
    ),
    (sa.and_(_captured, charges.c.amount_refunded > 0), PARTIALLY_REFUNDED),
    (sa.and_(_succeeded, sa.not_(charges.c.captured)), UNCAPTURED),
    (_succeeded, SUCCEEDED),
    else_=PENDING,
)


def conditions(chosen: ChargeFilter, *, with_dates: bool = True) -> list[sa.ColumnElement[bool]]:
    """`metrics.filter_charges` as WHERE conditions on `charges` (dates only when `with_dates`)."""
    where: list[sa.ColumnElement[bool]] = []
    if with_dates and chosen.start is not None:
        where.append(charges.c.created >= chosen.start.timestamp())
    if with_dates and chosen.end is not None:
        where.append(charges.c.created < chosen.end.timestamp())
    if chosen.statuses:
        where.append(DISPLAY_STATUS.in_(chosen.statuses))
    if chosen.email.strip():
        needle = chosen.email.strip().lower()
        where.append(
            sa.or_(
                *(
                    sa.func.lower(sa.func.coalesce(column, "")).contains(needle, autoescape=True)
                    for column in (charges.c.receipt_email, charges.c.customer_name)
                )
            )
        )
    if chosen.book_ids:
        where.append(charges.c.book_id.in_(chosen.book_ids))
    if chosen.min_amount is not None:
        where.append(charges.c.amount >= chosen.min_amount)
    if chosen.max_amount is not None:
        where.append(charges.c.amount <= chosen.max_amount)
    if chosen.codes:
        where.append(sa.func.coalesce(charges.c.decline_code, charges.c.failure_code).in_(chosen.codes))
    return where


def _in(column: sa.ColumnElement, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start.timestamp(), column < end.timestamp())


# A period covering more than this share of the copy's time span is read by scanning the table: walking the
# `created` index to most rows fetches them in random order (at 1M charges on SQLite, 4.9 s against 1.3 s).
SCAN_SHARE = 0.25


def _created_in(conn: sa.Connection, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    """`created` in [start, end), written so the database walks the index only when the period is a small part
    of the copy (`created + 0` cannot use an index, on SQLite or PostgreSQL)."""
    # Two queries: SQLite answers a lone MIN or MAX from the index, both in one statement by a scan.
    oldest = conn.execute(sa.select(sa.func.min(charges.c.created))).scalar()
    newest = conn.execute(sa.select(sa.func.max(charges.c.created))).scalar()
    if oldest is None or newest <= oldest:
        return _in(charges.c.created, start, end)
    covered = min(end.timestamp(), newest + 1) - max(start.timestamp(), oldest)
    wide = covered / (newest + 1 - oldest) > SCAN_SHARE
    return _in(charges.c.created + 0 if wide else charges.c.created, start, end)


def _sum_if(condition: sa.ColumnElement[bool], value: sa.ColumnElement | int) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


# The aggregates `Totals` is made of, for any group of charges.
_TOTAL_COLUMNS = (
    _sum_if(_captured, charges.c.amount_captured).label("gross"),
    _sum_if(_captured, charges.c.amount_refunded).label("refunded"),
    _sum_if(_captured, 1).label("captured"),
    _sum_if(_succeeded, 1).label("succeeded"),
    _sum_if(charges.c.status == "failed", 1).label("failed"),
    # SUM skips nulls as pandas' sum of an Int64 column does: fees not synced yet count as none, and are counted.
    sa.func.coalesce(sa.func.sum(sa.case((_captured, charges.c.fee), else_=None)), 0).label("fees"),
    _sum_if(sa.and_(_captured, charges.c.fee.is_(None)), 1).label("fees_unknown"),
)


def _totals(row: sa.RowMapping | pd.Series) -> Totals:
    return totals_of(**{column.name: int(row[column.name]) for column in _TOTAL_COLUMNS})


@dataclass(frozen=True)
class PeriodSummary:
    """What the Charges page shows of one filter and period, computed by the database.

    kpis: as `metrics.kpis`; volume: as `metrics.volume_series`; net: as `metrics.net_series`; held_count and
    held_amount: as `metrics.uncaptured` of the period; processing_count and processing_amount: as
    `metrics.processing` of the period; rows: how many charges the filter selects in the period.
    """

    kpis: Kpis
    volume: pd.DataFrame
    net: pd.DataFrame
    held_count: int
    held_amount: int
    processing_count: int
    processing_amount: int
    rows: int


def summary(
    chosen: ChargeFilter,
    *,
    refunds_by_issue: bool = False,
    now: datetime | None = None,
    engine: sa.Engine | None = None,
) -> PeriodSummary:
    """KPIs against the previous period, the chart's series and the held money for `chosen` (its start and end
    are the period), in four grouped queries whatever the number of charges.

    `refunds_by_issue`: refunds count on the day they were issued (`metrics.REFUNDS_BY_ISSUE_DAY`).
    """
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    start, end = chosen.start, chosen.end
    if start is None or end is None:
        raise ValueError("A summary needs a period: give the filter a start and an end.")
    unit = BUCKET_SECONDS[bucket_size(start, end)]
    others = conditions(chosen, with_dates=False)
    bucket = (charges.c.created - charges.c.created % unit).label("bucket")
    status = DISPLAY_STATUS.label("display_status")
    with engine.connect() as conn:
        in_period = _created_in(conn, start, end)
    grid_statement = (
        sa.select(
            bucket,
            status,
            sa.func.sum(charges.c.amount).label("amount"),
            sa.func.count().label("count"),
            sa.func.sum(charges.c.amount - charges.c.amount_refunded).label("unrefunded"),
            *_TOTAL_COLUMNS,
        )
        .where(*others, in_period)
        .group_by(bucket, status)
    )
    with engine.connect() as conn:
        grid = pd.DataFrame(conn.execute(grid_statement).mappings().all())
        earliest = conn.execute(sa.select(sa.func.min(charges.c.created)).where(*others)).scalar()
        earliest_at = None if earliest is None else datetime.fromtimestamp(earliest, UTC)
        before_start, before_end, comparison = comparison_since(earliest_at, start, end, now)
        before = conn.execute(
            sa.select(*_TOTAL_COLUMNS).where(*others, _in(charges.c.created, before_start, before_end))
        ).one()
        issued = issued_before = None
        if refunds_by_issue:
            issued = _issued_refunds(conn, others, start, end, unit)
            issued_before = int(_issued_refunds(conn, others, before_start, before_end, None)["amount"].sum())
    if grid.empty:
        grid = pd.DataFrame(
            {name: pd.Series(dtype="int64") for name in ("bucket", "amount", "count", "unrefunded")}
            | {"display_status": pd.Series(dtype="object")}
            | {column.name: pd.Series(dtype="int64") for column in _TOTAL_COLUMNS}
        )
    grid = grid.astype({name: "int64" for name in grid.columns if name != "display_status"})
    current, previous = _totals(grid.sum(numeric_only=True)), _totals(before._mapping)
    if issued is not None:
        current = _with_refunded(current, int(issued["amount"].sum()))
        previous = _with_refunded(previous, issued_before)
    held = grid[grid["display_status"] == UNCAPTURED]
    pending = grid[grid["display_status"] == PENDING]
    return PeriodSummary(
        kpis=Kpis(current, previous, start, end, comparison),
        volume=_volume_series(grid),
        net=_net_series(grid, issued),
        held_count=int(held["count"].sum()),
        held_amount=int(held["unrefunded"].sum()),
        processing_count=int(pending["count"].sum()),
        processing_amount=int(pending["amount"].sum()),
        rows=int(grid["count"].sum()),
    )


def _with_refunded(period: Totals, refunded: int) -> Totals:
    return replace(period, refunded=refunded, net=period.gross - refunded)


def _issued_refunds(
    conn: sa.Connection, others: list[sa.ColumnElement[bool]], start: datetime, end: datetime, unit: int | None
) -> pd.DataFrame:
    """Refunds issued in [start, end) that gave back money of captured charges the filter selects
    (`metrics.issued_refunds`), summed per bucket of their issue time (one row without `unit`)."""
    gave_money_back = sa.or_(refunds.c.status.is_(None), refunds.c.status.not_in(REFUND_UNDONE))
    bucket = (refunds.c.created - refunds.c.created % unit) if unit else sa.literal(0)
    statement = (
        sa.select(bucket.label("bucket"), sa.func.sum(refunds.c.amount).label("amount"))
        .select_from(refunds.join(charges, charges.c.id == refunds.c.charge_id))
        .where(*others, _captured, gave_money_back, _in(refunds.c.created, start, end))
        .group_by(bucket)
    )
    rows = conn.execute(statement).all()
    return pd.DataFrame(
        {"bucket": [row.bucket for row in rows], "amount": [int(row.amount) for row in rows]}, dtype="int64"
    )


def _at(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(seconds.astype("int64"), unit="s", utc=True)


def _volume_series(grid: pd.DataFrame) -> pd.DataFrame:
    out = grid[["bucket", "display_status", "amount", "count"]].copy()
    out["bucket"] = _at(out["bucket"])
    out["amount_major"] = major_units(out["amount"])
    return out.sort_values(["bucket", "display_status"], ignore_index=True)


def _net_series(grid: pd.DataFrame, issued: pd.DataFrame | None) -> pd.DataFrame:
    captured = grid[grid["captured"] > 0].groupby("bucket")[["gross", "refunded", "fees"]].sum()
    if issued is not None:
        by_issue = issued.set_index("bucket")["amount"]
        captured = captured.reindex(captured.index.union(by_issue.index), fill_value=0)
        captured["refunded"] = by_issue.reindex(captured.index, fill_value=0)
    out = captured.astype("int64").reset_index()
    out["bucket"] = _at(out["bucket"])
    out["net_after_fees"] = (out["gross"] - out["refunded"] - out["fees"]).astype("int64")
    out["net_major"] = major_units(out["net_after_fees"])
    return out.sort_values("bucket", ignore_index=True)


def _matching(chosen: ChargeFilter) -> sa.Select:
    return (
        sa.select(*(charges.c[name] for name in CHARGE_COLUMNS))
        .where(*conditions(chosen))
        .order_by(charges.c.created.desc(), charges.c.id.desc())
    )


def newest(chosen: ChargeFilter, limit: int, *, engine: sa.Engine | None = None) -> pd.DataFrame:
    """The newest `limit` charges `chosen` selects, as a prepared frame (`loading.load_charges`' columns)."""
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    with engine.connect() as conn:
        return charges_frame_of(conn.execute(_matching(chosen).limit(limit)).fetchall())


def _csv_chunks(chosen: ChargeFilter, engine: sa.Engine) -> Iterator[bytes]:
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=CSV_CHUNK_ROWS).execute(_matching(chosen))
        for number, rows in enumerate(result.partitions()):
            text = charges_csv(charges_frame_of(rows))
            yield text if number == 0 else text.split(b"\r\n", 1)[1]  # the header once


def matching_csv(chosen: ChargeFilter, *, engine: sa.Engine | None = None) -> bytes:
    """`tables.charges_csv` of every charge `chosen` selects, newest first, formatted a chunk at a time."""
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    return b"".join(_csv_chunks(chosen, engine)) or charges_csv(charges_frame_of([]))
