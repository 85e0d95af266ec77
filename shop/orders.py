"""The order store: what Stripe has no word for (customer details as entered, attempts, fulfilment).

An order is written (status pending) before any charge is made, so nothing a customer paid for can go missing.
Each click on Pay is an attempt with its own idempotency key. The order's status is derived from its facts
(paid, shipped, cancelled, refunded amount) in one place, `_status_of`, so it cannot contradict them.

What may be done to an order is decided by `shop.order_rules`; the actions here write with a conditional UPDATE
(the row must still hold the facts the rule was checked against), so of two racing actions exactly one wins and
the other is refused with the rule's sentence.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Literal

import sqlalchemy as sa

from shop import audit, catalog
from shop.db import get_engine, insert_missing
from shop.mail import outbox
from shop.order_rules import (
    OrderStateError,
    Verdict,
    may_approve_refund_request,
    may_be_paid_with,
    may_cancel,
    may_pay,
    may_reject_refund_request,
    may_request_refund,
    may_revise,
    may_ship,
)
from shop.order_rules import status_label as status_label  # re-exported: pages label statuses through the store
from shop.schema import attempts_table, orders_table, refund_requests_table, second_charges_table

# "cancelling": a cancellation has claimed the order (it can no longer ship or be paid) and is refunding it.
# "released": authorized only (capture at shipment) and given back uncaptured without a cancellation (expired).
OrderStatus = Literal[
    "pending", "paid", "failed", "cancelling", "cancelled", "refunded", "partially_refunded", "shipped", "released"
]
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    "pending", "paid", "failed", "shipped", "partially_refunded", "refunded", "cancelling", "cancelled", "released"
)  # fmt: skip
CaptureMethod = Literal["automatic", "manual"]
RefundRequestStatus = Literal["pending", "approving", "approved", "rejected"]
# Requests still waiting for their outcome: "approving" is an approval whose refund may be made but not recorded.
OPEN_REQUEST_STATUSES = ("pending", "approving")
AttemptOutcome = Literal["pending", "succeeded", "failed", "error"]
ORDER_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O or 1/I/L: order numbers are read aloud and typed
MAX_REFUND_REASON = 500


class OrderNotFoundError(LookupError):
    """No order has this number (or the email does not match it)."""


@dataclass(frozen=True)
class Customer:
    """Customer details as entered at checkout. `country` is an ISO 3166-1 alpha-2 code."""

    name: str
    email: str
    phone: str
    line1: str
    city: str
    state: str
    postal_code: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class Order:
    """An order and its current status (see the module docstring for how status is derived)."""

    id: str
    created: int
    updated: int
    customer: Customer
    book_id: str
    quantity: int
    unit_amount: int
    amount: int
    currency: str
    status: OrderStatus
    charge_id: str | None
    paid_at: int | None
    amount_refunded: int
    shipped_at: int | None
    cancelled_at: int | None
    last_error: str | None
    payment_intent_id: str | None = None
    capture_method: CaptureMethod = "automatic"
    captured_at: int | None = None
    released_at: int | None = None
    carrier: str | None = None
    tracking_number: str | None = None

    @property
    def refundable(self) -> int:
        """What can still be refunded, in minor units."""
        return self.amount - self.amount_refunded if self.paid_at else 0

    @property
    def awaiting_capture(self) -> bool:
        """True for an order authorized at checkout (capture at shipment) whose money is not captured yet."""
        return (
            self.capture_method == "manual"
            and bool(self.paid_at)
            and not self.captured_at
            and not self.released_at
            and not self.cancelled_at
        )


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


CUSTOMER_FIELDS = [f.name for f in fields(Customer)]


def _real_time() -> int:
    return int(time.time())


_clock: Callable[[], int] = _real_time


def _now() -> int:
    return _clock()


def now() -> int:
    """The store's time now (Unix seconds): the real time, or the clock of `store_clock`."""
    return _clock()


@contextmanager
def store_clock(now: Callable[[], int]) -> Iterator[None]:
    """Stamp orders, attempts and fulfilment with `now()` instead of the real time while inside.

    Demo history replays past days through the ordinary functions; this keeps the store's times in step with the
    emulator's test clock. Process-wide, so only for command-line tools, never inside the app.
    """
    global _clock
    previous = _clock
    _clock = now
    try:
        yield
    finally:
        _clock = previous


def _new_order_id() -> str:
    return "SP-" + "".join(secrets.choice(ORDER_ID_ALPHABET) for _ in range(8))


def _status_of(row: dict) -> OrderStatus:
    """The one rule for an order's status: money facts first, then fulfilment."""
    if row["cancelled_at"]:
        return "cancelled"
    if row["status"] == "cancelling":  # claimed by a cancellation: nothing but its end may change the status
        return "cancelling"
    if row["paid_at"]:
        if row.get("released_at"):
            return "released"
        if row["amount_refunded"] >= row["amount"]:
            return "refunded"
        if row["amount_refunded"] > 0:
            return "partially_refunded"
        return "shipped" if row["shipped_at"] else "paid"
    return "failed" if row["status"] == "failed" else "pending"


def _order_from(row: sa.Row) -> Order:
    data = dict(row._mapping)
    customer = Customer(**{name: data.pop(name) for name in CUSTOMER_FIELDS})
    return Order(customer=customer, **data)


def _attempt_from(row: sa.Row) -> Attempt:
    return Attempt(**dict(row._mapping))


def _engine(engine: sa.Engine | None) -> sa.Engine:
    return engine or get_engine()


def _update_order(conn: sa.Connection, order_id: str, **changes: object) -> Order:
    """Apply `changes`, recompute the status from the facts, and return the order."""
    row = conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one_or_none()
    if row is None:
        raise OrderNotFoundError(f"There is no order {order_id}.")
    merged = {**dict(row._mapping), **changes}
    merged["status"] = _status_of(merged)
    merged["updated"] = _now()
    conn.execute(sa.update(orders_table).where(orders_table.c.id == order_id).values(**merged))
    return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())


def _email(conn: sa.Connection, order: Order, kind: outbox.Kind, key: str | None = None, **facts: object) -> None:
    """Queue the customer's email about this change in the change's own transaction (once per key)."""
    outbox.enqueue(
        conn, order_id=order.id, kind=kind, recipient=order.customer.email, facts=facts, key=key, created=_now()
    )


def create_order(
    customer: Customer,
    line: catalog.PricedLine,
    *,
    capture_method: CaptureMethod = "automatic",
    engine: sa.Engine | None = None,
) -> Order:
    """Record a new order (status pending) of `line`, priced from the catalog, before any charge is made.

    `capture_method` "manual": checkout only authorizes the card and shipping captures (CAPTURE=at_shipment).
    """
    if capture_method not in ("automatic", "manual"):
        raise ValueError(f"capture_method is automatic or manual, not {capture_method!r}.")
    now = _now()
    values = {
        "created": now,
        "updated": now,
        **{name: getattr(customer, name) for name in CUSTOMER_FIELDS},
        "email": customer.email.strip(),
        "book_id": line.book.id,
        "quantity": line.quantity,
        "unit_amount": line.unit_amount,
        "amount": line.total,
        "currency": line.currency,
        "status": "pending",
        "amount_refunded": 0,
        "capture_method": capture_method,
    }
    with _engine(engine).begin() as conn:
        for _ in range(5):  # a clash of random order numbers is rare; try a fresh one
            order_id = _new_order_id()
            exists = conn.execute(sa.select(orders_table.c.id).where(orders_table.c.id == order_id)).first()
            if exists is None:
                conn.execute(sa.insert(orders_table).values(id=order_id, **values))
                return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
    raise RuntimeError("could not allocate an order number")


def get_order(order_id: str, *, engine: sa.Engine | None = None) -> Order | None:
    """The order with this number, or None."""
    with _engine(engine).connect() as conn:
        row = conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id.strip().upper())).one_or_none()
    return _order_from(row) if row else None


def get_orders(order_ids: Sequence[str], *, engine: sa.Engine | None = None) -> dict[str, Order]:
    """The orders of these numbers that exist, by number (one query)."""
    wanted = sorted({order_id.strip().upper() for order_id in order_ids if order_id})
    found: dict[str, Order] = {}
    with _engine(engine).connect() as conn:
        for start in range(0, len(wanted), 500):
            query = sa.select(orders_table).where(orders_table.c.id.in_(wanted[start : start + 500]))
            found.update((row.id, _order_from(row)) for row in conn.execute(query))
    return found


def find_order(order_id: str, email: str, *, engine: sa.Engine | None = None) -> Order | None:
    """The order when both its number and its email match (email case-insensitive); None otherwise.

    Returns None in both failure cases alike, so a caller cannot learn whether an order number exists.
    """
    order = get_order(order_id, engine=engine)
    if order is None or order.customer.email.strip().lower() != email.strip().lower():
        return None
    return order


def list_orders(
    *,
    status: str | Sequence[str] | None = None,
    email: str | None = None,
    search: str | None = None,
    with_intent: bool = False,
    limit: int | None = None,
    engine: sa.Engine | None = None,
) -> list[Order]:
    """Orders, newest first, optionally by status (one or several), exact email, and `search`.

    `search` keeps orders whose number, customer name or email contains it (case-insensitive); `with_intent` only
    orders that have a PaymentIntent.
    """
    query = sa.select(orders_table).order_by(orders_table.c.created.desc(), orders_table.c.id.desc())
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(orders_table.c.status.in_(statuses))
    if email:
        query = query.where(sa.func.lower(orders_table.c.email) == email.strip().lower())
    needle = (search or "").strip().lower()
    if needle:
        query = query.where(
            sa.or_(
                *(
                    sa.func.lower(column).contains(needle, autoescape=True)
                    for column in (orders_table.c.id, orders_table.c.name, orders_table.c.email)
                )
            )
        )
    if with_intent:
        query = query.where(orders_table.c.payment_intent_id.is_not(None))
    if limit:
        query = query.limit(limit)
    with _engine(engine).connect() as conn:
        return [_order_from(row) for row in conn.execute(query)]


def count_orders(*, engine: sa.Engine | None = None) -> int:
    """How many orders the store holds."""
    with _engine(engine).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(orders_table)).scalar_one()


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
        return _start_attempt(order_id, nonce, card_brand, card_last4, _engine(engine))
    except sa.exc.IntegrityError:  # the same nonce inserted at the same moment by a concurrent caller
        return _find_attempt(order_id, nonce, engine)


def _start_attempt(
    order_id: str, nonce: str, card_brand: str | None, card_last4: str | None, engine: sa.Engine
) -> Attempt:
    now = _now()
    with engine.begin() as conn:
        existing = conn.execute(
            sa.select(attempts_table).where(attempts_table.c.order_id == order_id, attempts_table.c.nonce == nonce)
        ).one_or_none()
        if existing is not None:
            return _attempt_from(existing)
        # Writing the order row first takes its write lock, so two new attempts of one order queue here.
        locked = conn.execute(sa.update(orders_table).where(orders_table.c.id == order_id).values(updated=now)).rowcount
        if not locked:
            raise OrderNotFoundError(f"There is no order {order_id}.")
        # Look again under the lock: a concurrent caller with the same nonce may have just inserted it.
        existing = conn.execute(
            sa.select(attempts_table).where(attempts_table.c.order_id == order_id, attempts_table.c.nonce == nonce)
        ).one_or_none()
        if existing is not None:
            return _attempt_from(existing)
        order = _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
        may_pay(order).require()
        if _attempt_in_flight(conn, order_id):
            raise OrderStateError("A payment for this order is already in progress; wait for it to finish.")
        number = conn.execute(
            sa.select(sa.func.count()).select_from(attempts_table).where(attempts_table.c.order_id == order_id)
        ).scalar_one()
        result = conn.execute(
            sa.insert(attempts_table).values(
                order_id=order_id,
                created=now,
                updated=now,
                nonce=nonce,
                idempotency_key=f"charge-{order_id}-{number + 1}-{nonce}",
                outcome="pending",
                card_brand=card_brand,
                card_last4=card_last4,
            )
        )
        attempt_id = result.inserted_primary_key[0]
        return _attempt_from(conn.execute(sa.select(attempts_table).where(attempts_table.c.id == attempt_id)).one())


def set_payment_intent(order_id: str, intent_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Store the order's one PaymentIntent; refused when the order already has a different one."""
    with _engine(engine).begin() as conn:
        order = _locked_order(conn, order_id)
        if order.payment_intent_id not in (None, intent_id):
            raise OrderStateError(f"Order {order_id} already has PaymentIntent {order.payment_intent_id}.")
        return _update_order(conn, order_id, payment_intent_id=intent_id)


def _attempt_in_flight(conn: sa.Connection, order_id: str) -> bool:
    """Whether an attempt of the order is still pending (its payment in flight), read in `conn`'s transaction."""
    query = sa.select(attempts_table.c.id).where(
        attempts_table.c.order_id == order_id, attempts_table.c.outcome == "pending"
    )
    return conn.execute(query).first() is not None


def revise_order(
    order_id: str, customer: Customer, line: catalog.PricedLine, *, engine: sa.Engine | None = None
) -> Order:
    """Change the book, quantity or details of an order not paid yet to `line` (priced from the catalog).

    Refused (OrderStateError) once the order is paid, cancelled, or has a payment in flight (`may_revise`).
    """
    with _engine(engine).begin() as conn:
        order = _locked_order(conn, order_id)
        may_revise(order, payment_in_flight=_attempt_in_flight(conn, order_id)).require()
        return _update_order(
            conn,
            order_id,
            **{name: getattr(customer, name) for name in CUSTOMER_FIELDS} | {"email": customer.email.strip()},
            book_id=line.book.id,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.total,
            currency=line.currency,
        )


def _find_attempt(order_id: str, nonce: str, engine: sa.Engine | None) -> Attempt:
    with _engine(engine).connect() as conn:
        row = conn.execute(
            sa.select(attempts_table).where(attempts_table.c.order_id == order_id, attempts_table.c.nonce == nonce)
        ).one()
    return _attempt_from(row)


NOT_CHARGED = "not_charged"  # the code of an attempt reconciliation closed because Stripe had no charge for it
# Attempts whose result is still open; a success may also end one closed as not charged (its charge turned up).
OPEN_OUTCOMES = ("pending", "error")


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
) -> Attempt:
    """Record how an attempt ended, and move its order along; returns the attempt as stored.

    succeeded -> the order is paid with this charge, given the charge's `amount` and `currency` (required) and only
    when `order_rules.may_be_paid_with` allows them, checked here under the order's lock so a revision cannot slip
    between; failed -> the order is failed (unless already paid);
    error (Stripe unreachable, unknown result) -> the order stays pending with the error kept for reconciliation.

    A conditional write, under the order's write lock: only an attempt whose result is still open (pending or
    error) is finished, so a late answer never rewrites a settled attempt; a success may also end an attempt that
    reconciliation closed as not charged, since Stripe charged after all. A paid order's charge is never replaced,
    a cancelled one is never paid and none is paid at another amount or currency: such a success is stored on its
    attempt only, and the caller sees that the attempt's `charge_id` is not the order's (`second_charges` refunds
    that charge).
    """
    if outcome == "succeeded" and (amount is None or not currency):
        raise ValueError("A successful attempt needs the amount and currency Stripe charged.")
    now = _now()
    with _engine(engine).begin() as conn:
        order_id = conn.execute(
            sa.select(attempts_table.c.order_id).where(attempts_table.c.id == attempt_id)
        ).scalar_one_or_none()
        if order_id is None:
            raise LookupError(f"There is no attempt {attempt_id}.")
        order = _locked_order(conn, order_id)  # a second answer for this order waits here for the first
        still_open = attempts_table.c.outcome.in_(OPEN_OUTCOMES)
        if outcome == "succeeded":
            still_open = sa.or_(
                still_open, sa.and_(attempts_table.c.outcome == "failed", attempts_table.c.code == NOT_CHARGED)
            )
        written = conn.execute(
            sa.update(attempts_table)
            .where(attempts_table.c.id == attempt_id, still_open)
            .values(
                outcome=outcome,
                updated=now,
                charge_id=charge_id,
                code=code,
                decline_code=decline_code,
                message=message,
            )
        ).rowcount
        attempt = _attempt_from(conn.execute(sa.select(attempts_table).where(attempts_table.c.id == attempt_id)).one())
        if not written:
            return attempt  # already settled: this answer changes nothing
        if outcome == "succeeded":
            if may_take_charge(order, charge_id) and may_be_paid_with(order, int(amount), str(currency)):
                paid = order.paid_at or paid_at or now
                paid_order = _update_order(conn, order.id, paid_at=paid, charge_id=charge_id, last_error=None)
                if not order.paid_at:
                    _email(conn, paid_order, "confirmed", card_brand=attempt.card_brand, card_last4=attempt.card_last4)
        elif outcome == "failed" and not order.paid_at:
            _update_order(conn, order.id, status="failed", last_error=message)
        elif outcome == "error" and not order.paid_at:
            _update_order(conn, order.id, last_error=message)
        return attempt


def may_take_charge(order: Order, charge_id: str | None) -> bool:
    """Whether `charge_id` may become the order's charge: it is its charge already, or the order is unpaid and open.

    A paid order keeps the charge it has; a cancelled (or cancelling) order takes no money.
    """
    if order.charge_id and order.paid_at:
        return order.charge_id == charge_id
    return order.status not in ("cancelling", "cancelled")


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
    with _engine(engine).begin() as conn:
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
                    "found_at": _now(),
                }
            ],
        )
        row = conn.execute(sa.select(second_charges_table).where(second_charges_table.c.charge_id == charge_id)).one()
    return SecondCharge(**dict(row._mapping))


def second_charge_refunded(charge_id: str, refund_id: str | None, *, engine: sa.Engine | None = None) -> SecondCharge:
    """Record that Stripe refunded the second charge `charge_id` (with `refund_id`, when known)."""
    with _engine(engine).begin() as conn:
        conn.execute(
            sa.update(second_charges_table)
            .where(second_charges_table.c.charge_id == charge_id, second_charges_table.c.refunded_at.is_(None))
            .values(refund_id=refund_id, refunded_at=_now())
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
    with _engine(engine).connect() as conn:
        return [SecondCharge(**dict(row._mapping)) for row in conn.execute(query)]


def list_attempts(order_id: str | None = None, *, engine: sa.Engine | None = None) -> list[Attempt]:
    """Attempts, oldest first; of one order when `order_id` is given."""
    query = sa.select(attempts_table).order_by(attempts_table.c.id)
    if order_id:
        query = query.where(attempts_table.c.order_id == order_id)
    with _engine(engine).connect() as conn:
        return [_attempt_from(row) for row in conn.execute(query)]


def unsettled_attempts(*, older_than_s: int = 0, engine: sa.Engine | None = None) -> list[Attempt]:
    """Attempts whose result is unknown (pending or error) on orders not yet paid: what reconciliation settles."""
    query = (
        sa.select(attempts_table)
        .join(orders_table, orders_table.c.id == attempts_table.c.order_id)
        .where(
            attempts_table.c.outcome.in_(("pending", "error")),
            orders_table.c.paid_at.is_(None),
            attempts_table.c.updated <= _now() - older_than_s,
        )
        .order_by(attempts_table.c.id)
    )
    with _engine(engine).connect() as conn:
        return [_attempt_from(row) for row in conn.execute(query)]


def can_ship(order: Order) -> bool:
    """True when `shop.order_rules.may_ship` allows shipping the order."""
    return may_ship(order).allowed


def can_cancel(order: Order) -> bool:
    """True when `shop.order_rules.may_cancel` allows cancelling the order (paid, not shipped)."""
    return may_cancel(order).allowed


# The facts an order's rules read: a conditional UPDATE requires them unchanged since the rule was checked.
_GUARDED_FACTS = (
    "status", "paid_at", "charge_id", "amount_refunded", "shipped_at", "cancelled_at", "captured_at", "released_at"
)  # fmt: skip


def _change_if_allowed(
    conn: sa.Connection, order_id: str, rule: Callable[[Order], Verdict], **changes: object
) -> Order:
    """Check `rule` on the order as stored, then write `changes` only if its facts are still the ones checked.

    A concurrent action that changed the order between the check and the write makes the UPDATE match no row;
    the rule is then checked again on the new facts, so the loser gets the rule's own sentence.
    """
    for _ in range(5):  # each round is lost only to a write that committed meanwhile; a handful always suffices
        row = conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one_or_none()
        if row is None:
            raise OrderNotFoundError(f"There is no order {order_id}.")
        seen = dict(row._mapping)
        rule(_order_from(row)).require()
        merged = {**seen, **changes}
        merged["status"] = _status_of(merged)
        unchanged = [
            orders_table.c[name].is_(None) if seen[name] is None else orders_table.c[name] == seen[name]
            for name in _GUARDED_FACTS
        ]
        written = conn.execute(
            sa.update(orders_table)
            .where(orders_table.c.id == order_id, *unchanged)
            .values({**changes, "status": merged["status"], "updated": _now()})
        ).rowcount
        if written:
            return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
    raise OrderStateError(f"Order {order_id} is changing right now; look at it again and retry.")


MAX_TRACKING = 60  # characters of a carrier's name or a tracking number


def mark_shipped(
    order_id: str,
    *,
    actor: str = audit.SYSTEM,
    carrier: str = "",
    tracking_number: str = "",
    engine: sa.Engine | None = None,
) -> Order:
    """Record that the order has shipped; refused (OrderStateError) unless `order_rules.may_ship` allows it.

    `carrier` and `tracking_number` (both optional, one line each) go to the customer in the shipped email.
    `actor` (who shipped it) goes into the audit log, and the email into the outbox, in the same transaction.
    """
    carrier, tracking_number = (" ".join((text or "").split()) for text in (carrier, tracking_number))
    if len(carrier) > MAX_TRACKING or len(tracking_number) > MAX_TRACKING:
        raise ValueError(f"Keep the carrier and the tracking number under {MAX_TRACKING} characters each.")
    with _engine(engine).begin() as conn:
        order = _change_if_allowed(
            conn,
            order_id,
            may_ship,
            shipped_at=_now(),
            carrier=carrier or None,
            tracking_number=tracking_number or None,
        )
        detail = " ".join(word for word in (carrier, tracking_number) if word)
        audit.record(conn, actor=actor, action="ship", order_id=order.id, charge_id=order.charge_id, detail=detail)
        _email(conn, order, "shipped")
        return order


def record_capture(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Record that the order's authorization was captured (idempotent: the first time stays)."""
    with _engine(engine).begin() as conn:
        order = _locked_order(conn, order_id)
        if order.captured_at:
            return order
        return _update_order(conn, order_id, captured_at=_now())


def record_release(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Record that the order's uncaptured authorization was given back (cancelled, or expired); idempotent.

    Only for an order that was never captured: a captured one is refunded instead.
    """
    with _engine(engine).begin() as conn:
        order = _locked_order(conn, order_id)
        if order.released_at or order.captured_at or order.capture_method != "manual":
            return order
        return _update_order(conn, order_id, released_at=_now())


def stale_authorizations(older_than_s: int, *, engine: sa.Engine | None = None) -> list[Order]:
    """Orders authorized and not captured for more than `older_than_s` seconds, oldest first."""
    query = (
        sa.select(orders_table)
        .where(
            orders_table.c.capture_method == "manual",
            orders_table.c.paid_at.is_not(None),
            orders_table.c.paid_at <= _now() - older_than_s,
            orders_table.c.captured_at.is_(None),
            orders_table.c.released_at.is_(None),
            orders_table.c.cancelled_at.is_(None),
        )
        .order_by(orders_table.c.paid_at)
    )
    with _engine(engine).connect() as conn:
        return [_order_from(row) for row in conn.execute(query)]


def released_authorizations(*, limit: int = 100, engine: sa.Engine | None = None) -> list[Order]:
    """Orders whose authorization was given back uncaptured, newest release first."""
    query = (
        sa.select(orders_table)
        .where(orders_table.c.released_at.is_not(None))
        .order_by(orders_table.c.released_at.desc())
        .limit(limit)
    )
    with _engine(engine).connect() as conn:
        return [_order_from(row) for row in conn.execute(query)]


def _may_close(order: Order) -> Verdict:
    return may_cancel(order, any_unshipped=True)


def begin_cancel(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Claim the order for cancellation (status cancelling) before its refund, so it can no longer ship or be paid.

    Idempotent while the order is cancelling or cancelled; refused for a shipped order ("refund it instead").
    """
    with _engine(engine).begin() as conn:
        current = conn.execute(sa.select(orders_table.c.status).where(orders_table.c.id == order_id)).scalar()
        if current in ("cancelling", "cancelled"):
            return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
        return _change_if_allowed(conn, order_id, _may_close, status="cancelling")


def abandon_cancel(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Give back a claim of `begin_cancel` whose refund was refused: the order returns to what its facts say."""
    with _engine(engine).begin() as conn:
        row = conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one_or_none()
        if row is None:
            raise OrderNotFoundError(f"There is no order {order_id}.")
        if row.status != "cancelling":
            return _order_from(row)
        facts = {**dict(row._mapping), "status": "pending"}
        conn.execute(
            sa.update(orders_table)
            .where(orders_table.c.id == order_id, orders_table.c.status == "cancelling")
            .values(status=_status_of(facts), updated=_now())
        )
        return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())


def mark_cancelled(
    order_id: str,
    *,
    actor: str = audit.SYSTEM,
    detail: str = "",
    refund_id: str | None = None,
    engine: sa.Engine | None = None,
) -> Order:
    """Record the cancellation of an order (the full refund is made by shop.fulfilment.cancel_order first).

    Idempotent for an already cancelled order; refused for a shipped one ("refund it instead"). The cancellation
    (by `actor`, with `detail` and the `refund_id` it made) goes into the audit log once, in the same transaction.
    """
    with _engine(engine).begin() as conn:
        current = conn.execute(sa.select(orders_table.c.status).where(orders_table.c.id == order_id)).scalar()
        if current == "cancelled":
            return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
        order = _change_if_allowed(conn, order_id, _may_close, cancelled_at=_now())
        audit.record(
            conn,
            actor=actor,
            action="cancel",
            order_id=order.id,
            charge_id=order.charge_id,
            detail=detail,
            refund_id=refund_id,
        )
        if order.paid_at:  # an order never paid was never confirmed to the customer: nothing to tell them
            # A paid order is cancelled only once all its money is back (refunded, or its hold released), even
            # when the refunded total has not reached the order yet (Stripe did not answer; the sync copies it).
            released = bool(order.released_at)
            _email(conn, order, "cancelled", refunded=0 if released else order.amount, released=released)
        return order


def record_refund(order_id: str, amount_refunded: int, *, engine: sa.Engine | None = None) -> Order:
    """Set the total refunded on an order (from Stripe's `amount_refunded`); status follows."""
    with _engine(engine).begin() as conn:
        order = _locked_order(conn, order_id)
        if amount_refunded < 0 or amount_refunded > order.amount:
            raise ValueError(f"A refund total of {amount_refunded} does not fit order {order_id} ({order.amount}).")
        updated = _update_order(conn, order_id, amount_refunded=amount_refunded)
        _email_refund(conn, order, updated)
        return updated


def _email_refund(conn: sa.Connection, before: Order, after: Order) -> None:
    """The refund email for a change of the refunded total (a correction when it went down: a refund failed).

    A cancellation's refund is told by the cancellation email, and an approved request's by the approval.
    """
    if after.amount_refunded == before.amount_refunded or after.status in ("cancelling", "cancelled"):
        return
    if after.amount_refunded < before.amount_refunded:
        returned = before.amount_refunded - after.amount_refunded
        key = f"{after.id}:refund_corrected:{after.amount_refunded}"
        _email(conn, after, "refund_corrected", key=key, returned=returned, total=after.amount_refunded)
        return
    approving = conn.execute(
        sa.select(refund_requests_table.c.id).where(
            refund_requests_table.c.order_id == after.id, refund_requests_table.c.status == "approving"
        )
    ).first()
    if approving is None:
        amount = after.amount_refunded - before.amount_refunded
        key = f"{after.id}:refunded:{after.amount_refunded}"
        _email(conn, after, "refunded", key=key, amount=amount, total=after.amount_refunded)


def _locked_order(conn: sa.Connection, order_id: str) -> Order:
    locked = conn.execute(sa.update(orders_table).where(orders_table.c.id == order_id).values(updated=_now())).rowcount
    if not locked:
        raise OrderNotFoundError(f"There is no order {order_id}.")
    return _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())


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
    with _engine(engine).begin() as conn:
        _locked_order(conn, order.id)  # two requests of one order queue here, so only one can be opened
        open_request = conn.execute(
            sa.select(refund_requests_table.c.id).where(
                refund_requests_table.c.order_id == order.id,
                refund_requests_table.c.status.in_(OPEN_REQUEST_STATUSES),
            )
        ).first()
        may_request_refund(order, has_open_request=open_request is not None).require()
        request_id = conn.execute(
            sa.insert(refund_requests_table).values(order_id=order.id, created=_now(), reason=reason, status="pending")
        ).inserted_primary_key[0]
        row = conn.execute(sa.select(refund_requests_table).where(refund_requests_table.c.id == request_id)).one()
        _email(conn, order, "request_received", key=f"{order.id}:request_received:{request_id}", request=request_id)
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
    with _engine(engine).connect() as conn:
        return [RefundRequest(**dict(row._mapping)) for row in conn.execute(query)]


def open_refund_requests(*, order_id: str | None = None, engine: sa.Engine | None = None) -> list[RefundRequest]:
    """Requests still waiting for their outcome (pending, or an approval not finished), oldest first."""
    return list_refund_requests(OPEN_REQUEST_STATUSES, order_id=order_id, engine=engine)


def get_refund_request(request_id: int, *, engine: sa.Engine | None = None) -> RefundRequest | None:
    """The refund request with this id, or None."""
    with _engine(engine).connect() as conn:
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
    with _engine(engine).begin() as conn:
        return _change_request_if_allowed(conn, request_id, may_approve_refund_request, status="approving")


def abandon_refund_approval(request_id: int, *, engine: sa.Engine | None = None) -> None:
    """Give back a claim of `begin_refund_approval` whose refund Stripe refused: the request waits again."""
    with _engine(engine).begin() as conn:
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
    with _engine(engine).begin() as conn:
        request = _change_request_if_allowed(
            conn,
            request_id,
            rule,
            status="approved" if approve else "rejected",
            decided_at=_now(),
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
        order = _order_from(conn.execute(sa.select(orders_table).where(orders_table.c.id == request.order_id)).one())
        _email(conn, order, kind, key=f"{order.id}:{kind}:{request_id}", request=request_id, note=note or "")
        return request


DUPLICATE_WINDOW_S = 600  # a second purchase of the same book and amount within 10 minutes is asked about


def possible_duplicate(
    email: str,
    line: catalog.PricedLine,
    *,
    within_s: int = DUPLICATE_WINDOW_S,
    now: float | None = None,
    exclude: str | None = None,
) -> Order | None:
    """The newest order of `email` for the same book and amount as `line` paid in the last `within_s` seconds, or
    still being paid (changed in the last `within_s` seconds and pending — its payment in flight in another tab,
    say — or failed with a PaymentIntent, which its tab may be confirming again after a decline), or None.

    Both checkout flows ask the customer before charging again when there is one: a customer who lost the
    confirmation, or has the shop open in two tabs, must not pay twice without knowing. `exclude` is the order the
    asking checkout continues (its own payment is not a second purchase).
    """
    now = time.time() if now is None else now
    for order in list_orders(email=email, status=("pending", "failed", "paid", "shipped", "partially_refunded")):
        if order.id == exclude or order.book_id != line.book.id or order.amount != line.total:
            continue
        if order.paid_at and now - order.paid_at <= within_s:
            return order
        being_paid = order.status == "pending" or (order.status == "failed" and order.payment_intent_id)
        if being_paid and not order.paid_at and now - order.updated <= within_s:
            return order
    return None
