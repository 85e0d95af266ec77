"""Refund requests: a customer asks for a refund of a shipped order, and finance approves or rejects it.

A request waits (pending) until finance decides. An approval claims the request first (approving) and refunds
through `shop.fulfilment`, so a crash between Stripe's refund and its record is finished by approving again, never
by a second refund; a rejection is only possible while the request waits. The rules are `shop.order_rules`'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from shop import audit, clock
from shop.db import get_engine
from shop.mail import outbox
from shop.order_rules import (
    OrderStateError,
    Verdict,
    may_approve_refund_request,
    may_reject_refund_request,
    may_request_refund,
)
from shop.orders import OrderNotFoundError, find_order, lock_order, order_from_row, queue_email
from shop.schema import orders_table, refund_requests_table

RefundRequestStatus = Literal["pending", "approving", "approved", "rejected"]
# Requests still waiting for their outcome: "approving" is an approval whose refund may be made but not recorded.
OPEN_REQUEST_STATUSES = ("pending", "approving")
MAX_REFUND_REASON = 500


@dataclass(frozen=True)
class RefundRequest:
    """A customer's request for a refund of a shipped order, waiting for finance."""

    id: int
    order_id: str
    created: int
    reason: str
    status: RefundRequestStatus
    decided_at: int | None
    refund_id: str | None
    note: str | None


def request_refund(order_id: str, email: str, reason: str, *, engine: sa.Engine | None = None) -> RefundRequest:
    """A customer asks for a refund of a shipped order (number and email must match); finance decides.

    Unshipped orders are cancelled instead, and one open request per order is enough.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Tell us briefly why you want a refund.")
    if len(reason) > MAX_REFUND_REASON:
        raise ValueError(f"Keep the reason under {MAX_REFUND_REASON} characters.")
    order = find_order(order_id, email, engine=engine)
    if order is None:
        raise OrderNotFoundError("No order matches that order number and email.")
    may_request_refund(order).require()
    with (engine or get_engine()).begin() as conn:
        lock_order(conn, order.id)  # two requests of one order queue here, so only one can be opened
        open_request = conn.execute(
            sa.select(refund_requests_table.c.id).where(
                refund_requests_table.c.order_id == order.id,
                refund_requests_table.c.status.in_(OPEN_REQUEST_STATUSES),
            )
        ).first()
        may_request_refund(order, has_open_request=open_request is not None).require()
        request_id = conn.execute(
            sa.insert(refund_requests_table).values(
                order_id=order.id, created=clock.now(), reason=reason, status="pending"
            )
        ).inserted_primary_key[0]
        row = conn.execute(sa.select(refund_requests_table).where(refund_requests_table.c.id == request_id)).one()
        queue_email(
            conn, order, "request_received", key=f"{order.id}:request_received:{request_id}", request=request_id
        )
    return RefundRequest(**dict(row._mapping))


def list_refund_requests(
    status: str | Sequence[str] | None = None, *, order_id: str | None = None, engine: sa.Engine | None = None
) -> list[RefundRequest]:
    """Refund requests, oldest first (the review queue order), optionally by status (one or several) or order."""
    query = sa.select(refund_requests_table).order_by(refund_requests_table.c.id)
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(refund_requests_table.c.status.in_(statuses))
    if order_id:
        query = query.where(refund_requests_table.c.order_id == order_id)
    with (engine or get_engine()).connect() as conn:
        return [RefundRequest(**dict(row._mapping)) for row in conn.execute(query)]


def open_refund_requests(*, order_id: str | None = None, engine: sa.Engine | None = None) -> list[RefundRequest]:
    """Requests still waiting for their outcome (pending, or an approval not finished), oldest first."""
    return list_refund_requests(OPEN_REQUEST_STATUSES, order_id=order_id, engine=engine)


def get_refund_request(request_id: int, *, engine: sa.Engine | None = None) -> RefundRequest | None:
    """The refund request with this id, or None."""
    with (engine or get_engine()).connect() as conn:
        row = conn.execute(
            sa.select(refund_requests_table).where(refund_requests_table.c.id == request_id)
        ).one_or_none()
    return RefundRequest(**dict(row._mapping)) if row else None


def _change_request_if_allowed(
    conn: sa.Connection, request_id: int, rule: Callable[[RefundRequest], Verdict], **changes: object
) -> RefundRequest:
    """Check `rule` on the stored request, then write `changes` only while its status is still the one checked."""
    for _ in range(5):  # lost only to a decision that committed meanwhile; the rule then refuses
        row = conn.execute(
            sa.select(refund_requests_table).where(refund_requests_table.c.id == request_id)
        ).one_or_none()
        if row is None:
            raise LookupError(f"There is no refund request {request_id}.")
        rule(RefundRequest(**dict(row._mapping))).require()
        written = conn.execute(
            sa.update(refund_requests_table)
            .where(refund_requests_table.c.id == request_id, refund_requests_table.c.status == row.status)
            .values(**changes)
        ).rowcount
        if written:
            fresh = conn.execute(sa.select(refund_requests_table).where(refund_requests_table.c.id == request_id))
            return RefundRequest(**dict(fresh.one()._mapping))
    raise OrderStateError(f"Refund request {request_id} is changing right now; look at it again and retry.")


def begin_refund_approval(request_id: int, *, engine: sa.Engine | None = None) -> RefundRequest:
    """Claim a request for approval (status approving) before its refund, so it can no longer be rejected.

    Idempotent while approving: a second approval after a crash continues the first.
    """
    with (engine or get_engine()).begin() as conn:
        return _change_request_if_allowed(conn, request_id, may_approve_refund_request, status="approving")


def abandon_refund_approval(request_id: int, *, engine: sa.Engine | None = None) -> None:
    """Give back a claim of `begin_refund_approval` whose refund Stripe refused: the request waits again."""
    with (engine or get_engine()).begin() as conn:
        conn.execute(
            sa.update(refund_requests_table)
            .where(refund_requests_table.c.id == request_id, refund_requests_table.c.status == "approving")
            .values(status="pending")
        )


def decide_refund_request(
    request_id: int,
    approve: bool,
    *,
    refund_id: str | None = None,
    note: str | None = None,
    actor: str = audit.SYSTEM,
    detail: str = "",
    engine: sa.Engine | None = None,
) -> RefundRequest:
    """Approve (with the refund made) or reject a request still waiting; refused as `order_rules` says otherwise.

    The decision (by `actor`; `detail` says what was refunded) goes into the audit log in the same transaction.
    """
    rule = may_approve_refund_request if approve else may_reject_refund_request
    with (engine or get_engine()).begin() as conn:
        request = _change_request_if_allowed(
            conn,
            request_id,
            rule,
            status="approved" if approve else "rejected",
            decided_at=clock.now(),
            refund_id=refund_id,
            note=note,
        )
        charge_id = conn.execute(
            sa.select(orders_table.c.charge_id).where(orders_table.c.id == request.order_id)
        ).scalar()
        words = [detail] if detail else []
        if refund_id and refund_id not in detail:
            words.append(f"refund {refund_id}")
        if note:
            words.append(f"note: {note}")
        audit.record(
            conn,
            actor=actor,
            action="approve_request" if approve else "reject_request",
            order_id=request.order_id,
            charge_id=charge_id,
            detail="; ".join(words),
            refund_id=refund_id,
        )
        kind: outbox.Kind = "request_approved" if approve else "request_rejected"
        order = order_from_row(conn.execute(sa.select(orders_table).where(orders_table.c.id == request.order_id)).one())
        queue_email(conn, order, kind, key=f"{order.id}:{kind}:{request_id}", request=request_id, note=note or "")
        return request
