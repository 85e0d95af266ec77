"""The audit log: one entry for each action taken on an order or a charge, saying who took it and when.

Staff actions (ship, cancel, refund, approve or reject a refund request, capture, answer a dispute) record an
entry, as do the customer's own cancellations and what the shop does by itself. The actor is "staff" (the ops
password), the signed-in email (single sign-on), "customer" or "system". Entries are only ever added; the charge
detail shows the entries of a charge and of its order.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shop import clock
from shop.db import get_engine
from shop.schema import audit_log_table

STAFF = "staff"
CUSTOMER = "customer"
SYSTEM = "system"

# The actions, with the words the pages show for them.
ACTION_LABELS = {
    "ship": "Marked shipped",
    "cancel": "Cancelled the order",
    "refund": "Refunded",
    "approve_request": "Approved a refund request",
    "reject_request": "Rejected a refund request",
    "capture": "Captured",
    "dispute_response": "Answered a dispute",
}
MAX_ACTOR = 320
MAX_DETAIL = 2000


@dataclass(frozen=True)
class Entry:
    """One action: when (Unix time), who, what, on which order and charge, and what it amounted to."""

    at: int
    actor: str
    action: str
    order_id: str | None
    charge_id: str | None
    detail: str
    refund_id: str | None = None  # the Stripe refund this action made, if it made one

    @property
    def label(self) -> str:
        """The action in words ("Marked shipped")."""
        return ACTION_LABELS.get(self.action, self.action)


def record(
    conn: sa.Connection | None,
    *,
    actor: str,
    action: str,
    order_id: str | None,
    charge_id: str | None,
    detail: str = "",
    refund_id: str | None = None,
    engine: sa.Engine | None = None,
) -> None:
    """Add one entry: inside `conn`'s transaction (written with the action, or not at all), else in its own.

    `action` is one of ACTION_LABELS; `actor` must name someone ("staff", an email, "customer", "system").
    `refund_id` is the Stripe refund the action made (a refund, an approved request, a cancellation), so who made a
    refund is found by its id, never by searching `detail`.
    """
    if action not in ACTION_LABELS:
        raise ValueError(f"{action!r} is not an action the audit log knows ({', '.join(ACTION_LABELS)}).")
    actor = (actor or "").strip()
    if not actor:
        raise ValueError("An audit entry needs an actor: staff, their email, customer or system.")
    values = {
        "at": clock.now(),  # the store's clock: a demo history replays past days
        "actor": actor[:MAX_ACTOR],
        "action": action,
        "order_id": order_id or None,
        "charge_id": charge_id or None,
        "detail": (detail or "")[:MAX_DETAIL],
        "refund_id": refund_id or None,
    }
    if conn is not None:
        conn.execute(sa.insert(audit_log_table).values(values))
        return
    with (engine or get_engine()).begin() as own:
        own.execute(sa.insert(audit_log_table).values(values))


def entries(
    *, order_id: str | None = None, charge_id: str | None = None, engine: sa.Engine | None = None
) -> list[Entry]:
    """Entries of the order or of the charge (either matches; with both, the entries of each), oldest first.

    With neither, every entry.
    """
    table = audit_log_table
    query = sa.select(table).order_by(table.c.at, table.c.id)
    matches = []
    if order_id:
        matches.append(table.c.order_id == order_id)
    if charge_id:
        matches.append(table.c.charge_id == charge_id)
    if matches:
        query = query.where(sa.or_(*matches))
    with (engine or get_engine()).connect() as conn:
        return [
            Entry(
                at=row.at,
                actor=row.actor,
                action=row.action,
                order_id=row.order_id,
                charge_id=row.charge_id,
                detail=row.detail,
                refund_id=row.refund_id,
            )
            for row in conn.execute(query)
        ]
