"""The numbers of disputes: the dispute rate beside the charges, and what disputes did to net volume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from shop import sync
from shop.analytics.loading import CHARGE_COLUMNS, charges_frame_of, count_charges
from shop.db import get_engine
from shop.disputes import OPEN_STATUSES
from shop.schema import charges
from shop.schema import disputes as disputes_table

DISPUTE_COLUMNS = (
    "id", "charge_id", "created", "amount", "currency", "reason", "status", "due_by", "net_amount", "fees"
)  # fmt: skip


def load_disputes(engine: sa.Engine | None = None) -> pd.DataFrame:
    """Every stored dispute as a frame, newest first, with `created_at` (UTC); money in minor units."""
    query = sa.select(*(disputes_table.c[name] for name in DISPUTE_COLUMNS)).order_by(disputes_table.c.created.desc())
    with (engine or get_engine()).connect() as conn:
        rows = conn.execute(query).fetchall()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(DISPUTE_COLUMNS))
    for name in ("created", "amount", "net_amount", "fees"):
        frame[name] = frame[name].fillna(0).astype("int64")
    frame["created_at"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    return frame


def _in_period(created_at: pd.Series, start: datetime | None, end: datetime | None) -> pd.Series:
    mask = pd.Series(True, index=created_at.index)
    if start is not None:
        mask &= created_at >= pd.Timestamp(start)
    if end is not None:
        mask &= created_at < pd.Timestamp(end)
    return mask


@dataclass(frozen=True)
class DisputeRate:
    """Disputes opened in a period over the successful charges of that period (Stripe's dispute rate)."""

    disputes: int
    charges: int

    @property
    def rate(self) -> float | None:
        """disputes / charges, or None without charges."""
        return self.disputes / self.charges if self.charges else None


def dispute_rate(
    charges: pd.DataFrame, disputes: pd.DataFrame, start: datetime | None = None, end: datetime | None = None
) -> DisputeRate:
    """The dispute rate of [start, end): disputes created then / succeeded charges created then (UTC)."""
    succeeded = (charges["status"] == "succeeded") & _in_period(charges["created_at"], start, end)
    opened = _in_period(disputes["created_at"], start, end)
    return DisputeRate(disputes=int(opened.sum()), charges=int(succeeded.sum()))


def stored_dispute_rate(
    disputes: pd.DataFrame,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    engine: sa.Engine | None = None,
) -> DisputeRate:
    """`dispute_rate` with the successful charges counted in the synced store (one COUNT), not read into a frame."""
    succeeded = count_charges(engine, status="succeeded", start=start, end=end)
    return DisputeRate(disputes=int(_in_period(disputes["created_at"], start, end).sum()), charges=succeeded)


def disputed_charges(engine: sa.Engine | None = None) -> pd.DataFrame:
    """The synced charges that have a stored dispute, as a charges frame (see `load_charges`): a few rows, read
    by their ids, however many charges the store holds."""
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    disputed = sa.select(disputes_table.c.charge_id)
    statement = (
        sa.select(*(charges.c[name] for name in CHARGE_COLUMNS))
        .where(charges.c.id.in_(disputed))
        .order_by(charges.c.created.desc(), charges.c.id.desc())
    )
    with engine.connect() as conn:
        return charges_frame_of(conn.execute(statement).fetchall())


@dataclass(frozen=True)
class DisputeEffect:
    """What disputes did to the balance, in minor units: amounts withdrawn net of reinstatements, and fees."""

    disputed: int  # the amount of every dispute, whatever came of it
    open_count: int
    won: int
    lost: int
    amount: int  # withdrawn minus reinstated (negative: money out)
    fees: int  # dispute fees kept by Stripe (a won dispute's fee is returned)

    @property
    def net(self) -> int:
        """The disputes' effect on net volume: amount plus fees (negative: the shop is poorer by this much)."""
        return self.amount - self.fees


def dispute_effect(disputes: pd.DataFrame, start: datetime | None = None, end: datetime | None = None) -> DisputeEffect:
    """The disputes opened in [start, end): how many are open, won and lost, and their effect on net."""
    chosen = disputes[_in_period(disputes["created_at"], start, end)]
    return DisputeEffect(
        disputed=int(chosen["amount"].sum()),
        open_count=int(chosen["status"].isin(OPEN_STATUSES).sum()),
        won=int((chosen["status"] == "won").sum()),
        lost=int((chosen["status"] == "lost").sum()),
        amount=int(chosen["net_amount"].sum()),
        fees=int(chosen["fees"].sum()),
    )
