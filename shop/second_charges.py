"""Second charges: money Stripe took for an order that could not take it, kept for staff until it is refunded.

An order paid with one charge that gets another (a late answer of an earlier attempt, a second tab, a charge at
other terms than the order's) keeps its first; the other is recorded here once, refunded by
`shop.checkout.unwanted_charges.refund_second_charge`, and shown to staff on the orders page.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shop import clock
from shop.db import get_engine, insert_missing
from shop.schema import second_charges_table


@dataclass(frozen=True)
class SecondCharge:
    """A charge Stripe made for an order that could not take it (already paid with another charge, or cancelled).

    `refunded_at` is None until Stripe has confirmed its refund.
    """

    charge_id: str
    order_id: str
    amount: int
    currency: str
    found_by: str  # late_answer | reconcile | sync
    found_at: int
    refund_id: str | None
    refunded_at: int | None


def record_second_charge(
    order_id: str, charge_id: str, amount: int, currency: str, found_by: str, *, engine: sa.Engine | None = None
) -> SecondCharge:
    """Keep a second charge of `order_id` for staff (once per charge; found again, the first record stays)."""
    with (engine or get_engine()).begin() as conn:
        insert_missing(
            conn,
            second_charges_table,
            [
                {
                    "charge_id": charge_id,
                    "order_id": order_id,
                    "amount": amount,
                    "currency": currency,
                    "found_by": found_by,
                    "found_at": clock.now(),
                }
            ],
        )
        row = conn.execute(sa.select(second_charges_table).where(second_charges_table.c.charge_id == charge_id)).one()
    return SecondCharge(**dict(row._mapping))


def second_charge_refunded(charge_id: str, refund_id: str | None, *, engine: sa.Engine | None = None) -> SecondCharge:
    """Record that Stripe refunded the second charge `charge_id` (with `refund_id`, when known)."""
    with (engine or get_engine()).begin() as conn:
        conn.execute(
            sa.update(second_charges_table)
            .where(second_charges_table.c.charge_id == charge_id, second_charges_table.c.refunded_at.is_(None))
            .values(refund_id=refund_id, refunded_at=clock.now())
        )
        row = conn.execute(sa.select(second_charges_table).where(second_charges_table.c.charge_id == charge_id)).one()
    return SecondCharge(**dict(row._mapping))


def list_second_charges(
    *, refunded: bool | None = None, limit: int | None = None, engine: sa.Engine | None = None
) -> list[SecondCharge]:
    """Second charges, newest first; only refunded ones (or only those still to refund) when `refunded` is given."""
    query = sa.select(second_charges_table).order_by(
        second_charges_table.c.found_at.desc(), second_charges_table.c.charge_id
    )
    if refunded is not None:
        column = second_charges_table.c.refunded_at
        query = query.where(column.is_not(None) if refunded else column.is_(None))
    if limit:
        query = query.limit(limit)
    with (engine or get_engine()).connect() as conn:
        return [SecondCharge(**dict(row._mapping)) for row in conn.execute(query)]
