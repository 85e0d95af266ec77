"""Payment attempts: each click on Pay, under its own idempotency key, and how Stripe answered it.

An attempt is begun before Stripe is asked (`start_attempt`) and finished with Stripe's answer (`finish_attempt`),
which moves its order along: paid, failed, or pending with the error kept. An attempt whose answer never came
(the process died, Stripe was unreachable) stays open until reconciliation settles it (`unsettled_attempts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa

from shop import clock, payment_methods
from shop.db import get_engine, reading
from shop.order_rules import OrderStateError, may_be_paid_with, may_pay
from shop.orders import (
    Order,
    OrderNotFoundError,
    attempts_so_far,
    lock_order,
    queue_email,
    update_order,
)
from shop.schema import attempts_table, orders_table
from shop.stripe_io import field

AttemptOutcome = Literal["pending", "succeeded", "failed", "error"]


@dataclass(frozen=True)
class Attempt:
    """One click on Pay: a token charged (or not) under one idempotency key."""

    id: int
    order_id: str
    created: int
    updated: int
    nonce: str
    idempotency_key: str
    outcome: AttemptOutcome
    code: str | None
    decline_code: str | None
    message: str | None
    charge_id: str | None
    card_brand: str | None
    card_last4: str | None


def _attempt_from(row: sa.Row) -> Attempt:
    return Attempt(**dict(row._mapping))


def start_attempt(
    order_id: str,
    nonce: str,
    *,
    card_brand: str | None = None,
    card_last4: str | None = None,
    engine: sa.Engine | None = None,
) -> Attempt:
    """Begin (or find again) the attempt for one click on Pay.

    The same nonce always gives the same attempt and so the same idempotency key: a rerun, a double click or a
    retried request replays the first charge instead of making a second. A new nonce is refused while the order
    is paid or while another attempt of it is still in flight (OrderStateError).
    """
    if not nonce or len(nonce) > 64:
        raise ValueError("An attempt needs a nonce of 1 to 64 characters.")
    try:
        return _start_attempt(order_id, nonce, card_brand, card_last4, engine or get_engine())
    except sa.exc.IntegrityError:  # the same nonce inserted at the same moment by a concurrent caller
        return _find_attempt(order_id, nonce, engine)


def _start_attempt(
    order_id: str, nonce: str, card_brand: str | None, card_last4: str | None, engine: sa.Engine
) -> Attempt:
    with engine.begin() as conn:
        # Looked for under the lock: two clicks of one order queue here, and the second sees the first's attempt.
        order = lock_order(conn, order_id)
        return _attempt_of_nonce(conn, order_id, nonce) or _insert_attempt(
            conn, order, nonce, card_brand, card_last4, clock.now()
        )


def _attempt_of_nonce(conn: sa.Connection, order_id: str, nonce: str) -> Attempt | None:
    query = sa.select(attempts_table).where(attempts_table.c.order_id == order_id, attempts_table.c.nonce == nonce)
    row = conn.execute(query).one_or_none()
    return _attempt_from(row) if row is not None else None


def _insert_attempt(
    conn: sa.Connection,
    order: Order,
    nonce: str,
    card_brand: str | None,
    card_last4: str | None,
    now: int,
    answer: _Answer | None = None,
) -> Attempt:
    """A new attempt of `order`, held under its lock in `conn`'s transaction: pending, or finished with `answer`
    already (Stripe answered before it was recorded); OrderStateError when the order may not be paid or another
    attempt of it is in flight."""
    may_pay(order).require()
    made, in_flight = attempts_so_far(conn, order.id)
    if in_flight:
        raise OrderStateError("A payment for this order is already in progress; wait for it to finish.")
    inserted = sa.insert(attempts_table).values(
        order_id=order.id,
        created=now,
        updated=now,
        nonce=nonce,
        idempotency_key=f"charge-{order.id}-{made + 1}-{nonce}",
        outcome="pending",
        card_brand=card_brand,
        card_last4=card_last4,
    )
    if answer is not None:
        inserted = inserted.values(_answered(answer))
    return _attempt_from(conn.execute(inserted.returning(*attempts_table.c)).one())


def _find_attempt(order_id: str, nonce: str, engine: sa.Engine | None) -> Attempt:
    with reading(engine or get_engine()) as conn:
        found = _attempt_of_nonce(conn, order_id, nonce)
    if found is None:
        raise LookupError(f"Order {order_id} has no attempt {nonce}.")
    return found


NOT_CHARGED = "not_charged"  # the code of an attempt reconciliation closed because Stripe had no charge for it
# Attempts whose result is still open; a success may also end one closed as not charged (its charge turned up).
OPEN_OUTCOMES = ("pending", "error")


@dataclass(frozen=True)
class _Answer:
    """Stripe's answer to one attempt, as `finish_attempt` records it."""

    outcome: AttemptOutcome
    charge_id: str | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    paid_at: int | None = None
    amount: int | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.outcome == "succeeded" and (self.amount is None or not self.currency):
            raise ValueError("A successful attempt needs the amount and currency Stripe charged.")


def finish_attempt(
    attempt_id: int,
    outcome: AttemptOutcome,
    *,
    charge_id: str | None = None,
    code: str | None = None,
    decline_code: str | None = None,
    message: str | None = None,
    paid_at: int | None = None,
    amount: int | None = None,
    currency: str | None = None,
    engine: sa.Engine | None = None,
) -> Finished:
    """Record how an attempt ended, and move its order along; returns the attempt and its order as stored.

    succeeded -> the order is paid with this charge, given the charge's `amount` and `currency` (required) and only
    when `order_rules.may_be_paid_with` allows them, checked here under the order's lock so a revision cannot slip
    between; failed -> the order is failed (unless already paid);
    error (Stripe unreachable, unknown result) -> the order stays pending with the error kept for reconciliation.

    A conditional write, under the order's write lock: only an attempt whose result is still open (pending or
    error) is finished, so a late answer never rewrites a settled attempt; a success may also end an attempt that
    reconciliation closed as not charged, since Stripe charged after all. A paid order's charge is never replaced,
    a cancelled one is never paid and none is paid at another amount or currency: such a success is stored on its
    attempt only, and the caller sees that the attempt's `charge_id` is not the order's
    (`shop.checkout.unwanted_charges` refunds that charge).
    """
    answer = _Answer(outcome, charge_id, code, decline_code, message, paid_at, amount, currency)
    order_of_attempt = sa.select(attempts_table.c.order_id).where(attempts_table.c.id == attempt_id)
    with (engine or get_engine()).begin() as conn:
        try:  # a second answer for this order waits here for the first
            order = lock_order(conn, order_of_attempt.scalar_subquery())
        except OrderNotFoundError:
            raise LookupError(f"There is no attempt {attempt_id}.") from None
        return _finish(conn, order, attempt_id, answer)


class Finished(NamedTuple):
    """An attempt and its order, as stored once the attempt was finished."""

    attempt: Attempt
    order: Order


def _finish(conn: sa.Connection, order: Order, attempt_id: int, answer: _Answer) -> Finished:
    """`finish_attempt` under the order's lock in `conn`'s transaction: the attempt and the order as stored."""
    now = clock.now()
    still_open = attempts_table.c.outcome.in_(OPEN_OUTCOMES)
    if answer.outcome == "succeeded":
        still_open = sa.or_(
            still_open, sa.and_(attempts_table.c.outcome == "failed", attempts_table.c.code == NOT_CHARGED)
        )
    finished = (
        sa.update(attempts_table)
        .where(attempts_table.c.id == attempt_id, still_open)
        .values(updated=now, **_answered(answer))
    )
    written = conn.execute(finished.returning(*attempts_table.c)).one_or_none()
    if written is None:  # already settled: this answer changes nothing
        settled = conn.execute(sa.select(attempts_table).where(attempts_table.c.id == attempt_id)).one()
        return Finished(_attempt_from(settled), order)
    attempt = _attempt_from(written)
    return Finished(attempt, _move_order(conn, order, attempt, answer))


def _answered(answer: _Answer) -> dict[str, str | None]:
    """The attempt's columns that `answer` sets."""
    return {
        "outcome": answer.outcome,
        "charge_id": answer.charge_id,
        "code": answer.code,
        "decline_code": answer.decline_code,
        "message": answer.message,
    }


def _move_order(conn: sa.Connection, order: Order, attempt: Attempt, answer: _Answer) -> Order:
    """Move the order held under its lock along with its attempt's answer; returns the order as stored."""
    now = clock.now()
    if answer.outcome == "succeeded":
        if may_take_charge(order, answer.charge_id) and may_be_paid_with(
            order, int(answer.amount or 0), str(answer.currency)
        ):
            paid = order.paid_at or answer.paid_at or now
            paid_order = update_order(conn, order, paid_at=paid, charge_id=answer.charge_id, last_error=None)
            if not order.paid_at:
                queue_email(conn, paid_order, "confirmed", card_brand=attempt.card_brand, card_last4=attempt.card_last4)
            return paid_order
    elif answer.outcome == "failed" and not order.paid_at:
        failed_order = update_order(conn, order, status="failed", last_error=answer.message)
        if payment_methods.is_bank_debit(attempt.card_brand):  # returned days later: the customer has left
            queue_email(
                conn,
                failed_order,
                "debit_failed",
                key=f"{order.id}:debit_failed:{answer.charge_id or attempt.id}",
                code=answer.decline_code or answer.code,
                card_brand=attempt.card_brand,
                card_last4=attempt.card_last4,
            )
        return failed_order
    elif answer.outcome == "error" and not order.paid_at:
        return update_order(conn, order, last_error=answer.message)
    return order


def may_take_charge(order: Order, charge_id: str | None) -> bool:
    """Whether `charge_id` may become the order's charge: it is its charge already, or the order is unpaid and open.

    A paid order keeps the charge it has; a cancelled (or cancelling) order takes no money.
    """
    if order.charge_id and order.paid_at:
        return order.charge_id == charge_id
    return order.status not in ("cancelling", "cancelled")


def list_attempts(order_id: str | None = None, *, engine: sa.Engine | None = None) -> list[Attempt]:
    """Attempts, oldest first; of one order when `order_id` is given."""
    query = sa.select(attempts_table).order_by(attempts_table.c.id)
    if order_id:
        query = query.where(attempts_table.c.order_id == order_id)
    with reading(engine or get_engine()) as conn:
        return [_attempt_from(row) for row in conn.execute(query)]


def unsettled_attempts(*, older_than_s: int = 0, engine: sa.Engine | None = None) -> list[Attempt]:
    """Attempts whose result is unknown (pending or error) on orders not yet paid: what reconciliation settles."""
    query = (
        sa.select(attempts_table)
        .join(orders_table, orders_table.c.id == attempts_table.c.order_id)
        .where(
            attempts_table.c.outcome.in_(("pending", "error")),
            orders_table.c.paid_at.is_(None),
            attempts_table.c.updated <= clock.now() - older_than_s,
        )
        .order_by(attempts_table.c.id)
    )
    with reading(engine or get_engine()) as conn:
        return [_attempt_from(row) for row in conn.execute(query)]


def record_charge_result(
    order_id: str,
    nonce: str,
    outcome: AttemptOutcome,
    *,
    charge: Any = None,
    code: str | None = None,
    decline_code: str | None = None,
    message: str | None = None,
    engine: sa.Engine | None = None,
) -> Order:
    """Record one answer of Stripe about a payment of the order as an attempt, once per `nonce` (the charge id when
    there is a charge), with the card and the amount and currency as the charge names them; returns the order as
    stored after it (paid, failed, or unchanged when the answer was recorded before or the order refused it).

    An attempt left pending by a crash between recording and settling takes this result as its own. Begun and
    finished in one transaction under the order's lock: Stripe has answered already, so nothing waits between.
    """
    nonce = nonce[:64]
    if not nonce:
        raise ValueError("An attempt needs a nonce of 1 to 64 characters.")
    brand, last4 = payment_methods.brand_and_last4(charge)
    answer = _Answer(
        outcome,
        charge_id=field(charge, "id") if charge is not None else None,
        code=code,
        decline_code=decline_code,
        message=message,
        amount=field(charge, "amount"),
        currency=field(charge, "currency"),
    )
    with (engine or get_engine()).begin() as conn:
        order = lock_order(conn, order_id)
        attempt = _attempt_of_nonce(conn, order_id, nonce)
        if attempt is None:
            try:
                inserted = _insert_attempt(conn, order, nonce, brand, last4, clock.now(), answer)
            except OrderStateError:
                pending = sa.select(attempts_table).where(
                    attempts_table.c.order_id == order_id, attempts_table.c.outcome == "pending"
                )
                row = conn.execute(pending.order_by(attempts_table.c.id.desc()).limit(1)).one_or_none()
                if row is None:
                    raise
                attempt = _attempt_from(row)
            else:  # inserted with its answer: only the order is left to move
                return _move_order(conn, order, inserted, answer)
        return _finish(conn, order, attempt.id, answer).order


def record_decline(order: Order, error: Any, failed_charge: Any, nonce: str | None) -> None:
    """Record an intent's `last_payment_error` (`error`) as a failed attempt of `order`, once: per failed charge, or
    per confirm (`nonce`, the browser's report) when no charge was made, as after a failed 3-D Secure check.
    Nothing is recorded once the order is paid, or without a charge or a nonce to tell the confirm apart."""
    once = field(failed_charge, "id") or (f"auth-{nonce}" if nonce else None)
    if once and not order.paid_at:
        record_charge_result(
            order.id,
            once,
            "failed",
            charge=failed_charge,
            code=field(error, "code"),
            decline_code=field(error, "decline_code"),
            message=field(error, "message"),
        )
