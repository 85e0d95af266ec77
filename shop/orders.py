"""The order store: what Stripe has no word for (customer details as entered, fulfilment), and an order's lifecycle.

An order is written (status pending) before any charge is made, so nothing a customer paid for can go missing.
Each click on Pay is an attempt with its own idempotency key (`shop.attempts`); a customer's refund request and a
charge an order could not take have modules of their own too (`shop.refund_requests`, `shop.second_charges`).
The order's status is derived from its facts (paid, shipped, cancelled, refunded amount) in one place,
`_status_of`, so it cannot contradict them.

What may be done to an order is decided by `shop.order_rules`; the actions here write with a conditional UPDATE
(the row must still hold the facts the rule was checked against), so of two racing actions exactly one wins and
the other is refused with the rule's sentence.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

import sqlalchemy as sa

from shop import audit, catalog, clock
from shop.db import dialect_insert, get_engine, reading
from shop.mail import outbox
from shop.order_rules import (
    OrderStateError,
    Verdict,
    may_cancel,
    may_revise,
    may_ship,
)
from shop.order_rules import status_label as status_label  # re-exported: pages label statuses through the store
from shop.schema import attempts_table, orders_table, refund_requests_table

# "cancelling": a cancellation has claimed the order (it can no longer ship or be paid) and is refunding it.
# "released": authorized only (capture at shipment) and given back uncaptured without a cancellation (expired).
OrderStatus = Literal[
    "pending", "paid", "failed", "cancelling", "cancelled", "refunded", "partially_refunded", "shipped", "released"
]
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    "pending", "paid", "failed", "shipped", "partially_refunded", "refunded", "cancelling", "cancelled", "released"
)  # fmt: skip
CaptureMethod = Literal["automatic", "manual"]
ORDER_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O or 1/I/L: order numbers are read aloud and typed


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


CUSTOMER_FIELDS = [f.name for f in fields(Customer)]


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


def order_from_row(row: sa.Row) -> Order:
    """The `Order` of a row of `orders_table`."""
    data = dict(row._mapping)
    customer = Customer(**{name: data.pop(name) for name in CUSTOMER_FIELDS})
    return Order(customer=customer, **data)


def _row_of(order: Order) -> dict[str, object]:
    """The columns of `order` as `orders_table` holds them (the inverse of `order_from_row`)."""
    row = {f.name: getattr(order, f.name) for f in fields(Order) if f.name != "customer"}
    return row | {name: getattr(order.customer, name) for name in CUSTOMER_FIELDS}


def _engine(engine: sa.Engine | None) -> sa.Engine:
    return engine or get_engine()


def update_order(conn: sa.Connection, held: Order, **changes: object) -> Order:
    """Apply `changes` to the order `held`, recompute the status from the facts, and return the order as written.

    `held` is the order as `lock_order` returned it in this transaction: the write is not conditional, so the lock
    is what keeps a concurrent change from being overwritten, and what the lock read is what the change applies to
    (no second read).
    """
    merged = {**_row_of(held), **changes}
    written = {**changes, "status": _status_of(merged), "updated": clock.now()}
    # RETURNING gives the row as written in the same round trip (SQLite 3.35+, PostgreSQL).
    update = sa.update(orders_table).where(orders_table.c.id == held.id).values(**written).returning(*orders_table.c)
    row = conn.execute(update).one_or_none()
    if row is None:
        raise OrderNotFoundError(f"There is no order {held.id}.")
    return order_from_row(row)


def lock_order(conn: sa.Connection, order_id: str | sa.ScalarSelect) -> Order:
    """Take the order's write lock for the rest of `conn`'s transaction and return the order as stored.

    Writing the row takes the lock on SQLite and PostgreSQL alike, so two changes of one order queue here and the
    second reads what the first committed. `order_id` may be a scalar subquery that names the order (the order of
    an attempt, say), so finding and locking it are one round trip. OrderNotFoundError when there is no such order.
    """
    touched = sa.update(orders_table).where(orders_table.c.id == order_id).values(updated=clock.now())
    locked = conn.execute(touched.returning(*orders_table.c)).one_or_none()
    if locked is None:
        raise OrderNotFoundError(
            f"There is no order {order_id}." if isinstance(order_id, str) else "There is no order."
        )
    return order_from_row(locked)


def queue_email(conn: sa.Connection, order: Order, kind: outbox.Kind, key: str | None = None, **facts: object) -> None:
    """Queue the customer's email about this change in the change's own transaction (once per key)."""
    outbox.enqueue(
        conn, order_id=order.id, kind=kind, recipient=order.customer.email, facts=facts, key=key, created=clock.now()
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
    now = clock.now()
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
            insert = dialect_insert(conn, orders_table).values(id=order_id, **values)
            inserted = conn.execute(insert.on_conflict_do_nothing(index_elements=["id"]).returning(*orders_table.c))
            row = inserted.one_or_none()
            if row is not None:
                return order_from_row(row)
    raise RuntimeError("could not allocate an order number")


def get_order(order_id: str, *, engine: sa.Engine | None = None) -> Order | None:
    """The order with this number, or None."""
    with reading(_engine(engine)) as conn:
        row = conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id.strip().upper())).one_or_none()
    return order_from_row(row) if row else None


def get_orders(order_ids: Sequence[str], *, engine: sa.Engine | None = None) -> dict[str, Order]:
    """The orders of these numbers that exist, by number (one query)."""
    wanted = sorted({order_id.strip().upper() for order_id in order_ids if order_id})
    found: dict[str, Order] = {}
    with reading(_engine(engine)) as conn:
        for start in range(0, len(wanted), 500):
            query = sa.select(orders_table).where(orders_table.c.id.in_(wanted[start : start + 500]))
            found.update((row.id, order_from_row(row)) for row in conn.execute(query))
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
    with reading(_engine(engine)) as conn:
        return [order_from_row(row) for row in conn.execute(query)]


def count_orders(*, engine: sa.Engine | None = None) -> int:
    """How many orders the store holds."""
    with reading(_engine(engine)) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(orders_table)).scalar_one()


def set_payment_intent(order_id: str, intent_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Store the order's one PaymentIntent; refused when the order already has a different one. One conditional
    UPDATE, not a lock then a write: the status does not depend on the intent (`_status_of`), nothing to recompute."""
    takes_it = sa.or_(orders_table.c.payment_intent_id.is_(None), orders_table.c.payment_intent_id == intent_id)
    stored = (
        sa.update(orders_table)
        .where(orders_table.c.id == order_id, takes_it)
        .values(payment_intent_id=intent_id, updated=clock.now())
        .returning(*orders_table.c)
    )
    with _engine(engine).begin() as conn:
        row = conn.execute(stored).one_or_none()
        if row is not None:
            return order_from_row(row)
        held = conn.execute(sa.select(orders_table.c.payment_intent_id).where(orders_table.c.id == order_id)).first()
    if held is None:
        raise OrderNotFoundError(f"There is no order {order_id}.")
    raise OrderStateError(f"Order {order_id} already has PaymentIntent {held.payment_intent_id}.")


def attempts_so_far(conn: sa.Connection, order_id: str) -> tuple[int, bool]:
    """How many attempts the order has had, and whether one is still pending (its payment in flight: a revision
    waits for it, a new attempt is refused), in one query in `conn`'s transaction."""
    in_flight = sa.func.count().filter(attempts_table.c.outcome == "pending")
    query = sa.select(sa.func.count(), in_flight).where(attempts_table.c.order_id == order_id)
    made, pending = conn.execute(query).one()
    return made, pending > 0


def revise_order(
    order_id: str, customer: Customer, line: catalog.PricedLine, *, engine: sa.Engine | None = None
) -> Order:
    """Change the book, quantity or details of an order not paid yet to `line` (priced from the catalog).

    Refused (OrderStateError) once the order is paid, cancelled, or has a payment in flight (`may_revise`).
    """
    with _engine(engine).begin() as conn:
        order = lock_order(conn, order_id)
        may_revise(order, payment_in_flight=attempts_so_far(conn, order_id)[1]).require()
        return update_order(
            conn,
            order,
            **{name: getattr(customer, name) for name in CUSTOMER_FIELDS} | {"email": customer.email.strip()},
            book_id=line.book.id,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.total,
            currency=line.currency,
        )


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
        rule(order_from_row(row)).require()
        merged = {**seen, **changes}
        merged["status"] = _status_of(merged)
        unchanged = [
            orders_table.c[name].is_(None) if seen[name] is None else orders_table.c[name] == seen[name]
            for name in _GUARDED_FACTS
        ]
        written = conn.execute(
            sa.update(orders_table)
            .where(orders_table.c.id == order_id, *unchanged)
            .values({**changes, "status": merged["status"], "updated": clock.now()})
        ).rowcount
        if written:
            return order_from_row(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
    raise OrderStateError(f"Order {order_id} is changing right now; look at it again and retry.")


MAX_TRACKING = 60  # characters of a carrier's name or a tracking number


def take_shipping_details(order_id: str, customer: Customer, *, engine: sa.Engine | None = None) -> None:
    """Make the name, address and phone of `customer` (what Stripe collected for the order: Checkout Sessions'
    Address Element) the order's, its email kept; nothing is written once they are, or once the order has shipped."""
    order = get_order(order_id, engine=engine)
    if order is None or order.shipped_at or replace(customer, email=order.customer.email) == order.customer:
        return
    with _engine(engine).begin() as conn:
        held = lock_order(conn, order_id)
        update_order(conn, held, **{name: getattr(customer, name) for name in CUSTOMER_FIELDS if name != "email"})


def note_debit_processing(
    order_id: str, *, card_brand: str | None, card_last4: str | None, engine: sa.Engine | None = None
) -> None:
    """Tell the customer their bank payment is on its way (a debit takes days; the order ships only then), once
    per order: once told, a later look (webhook, reconciliation) takes no lock and writes nothing."""
    key = f"{order_id}:debit_processing"
    with _engine(engine).begin() as conn:
        if outbox.has_message(conn, key):
            return
        order = lock_order(conn, order_id)
        if not order.paid_at:
            queue_email(conn, order, "debit_processing", key=key, card_brand=card_brand, card_last4=card_last4)


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
            shipped_at=clock.now(),
            carrier=carrier or None,
            tracking_number=tracking_number or None,
        )
        detail = " ".join(word for word in (carrier, tracking_number) if word)
        audit.record(conn, actor=actor, action="ship", order_id=order.id, charge_id=order.charge_id, detail=detail)
        queue_email(conn, order, "shipped")
        return order


def record_capture(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Record that the order's authorization was captured (idempotent: the first time stays)."""
    with _engine(engine).begin() as conn:
        order = lock_order(conn, order_id)
        if order.captured_at:
            return order
        return update_order(conn, order, captured_at=clock.now())


def record_release(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Record that the order's uncaptured authorization was given back (cancelled, or expired); idempotent.

    Only for an order that was never captured: a captured one is refunded instead.
    """
    with _engine(engine).begin() as conn:
        order = lock_order(conn, order_id)
        if order.released_at or order.captured_at or order.capture_method != "manual":
            return order
        return update_order(conn, order, released_at=clock.now())


def stale_authorizations(older_than_s: int, *, engine: sa.Engine | None = None) -> list[Order]:
    """Orders authorized and not captured for more than `older_than_s` seconds, oldest first."""
    query = (
        sa.select(orders_table)
        .where(
            orders_table.c.capture_method == "manual",
            orders_table.c.paid_at.is_not(None),
            orders_table.c.paid_at <= clock.now() - older_than_s,
            orders_table.c.captured_at.is_(None),
            orders_table.c.released_at.is_(None),
            orders_table.c.cancelled_at.is_(None),
        )
        .order_by(orders_table.c.paid_at)
    )
    with reading(_engine(engine)) as conn:
        return [order_from_row(row) for row in conn.execute(query)]


def released_authorizations(*, limit: int = 100, engine: sa.Engine | None = None) -> list[Order]:
    """Orders whose authorization was given back uncaptured, newest release first."""
    query = (
        sa.select(orders_table)
        .where(orders_table.c.released_at.is_not(None))
        .order_by(orders_table.c.released_at.desc())
        .limit(limit)
    )
    with reading(_engine(engine)) as conn:
        return [order_from_row(row) for row in conn.execute(query)]


def _may_close(order: Order) -> Verdict:
    return may_cancel(order, any_unshipped=True)


def begin_cancel(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Claim the order for cancellation (status cancelling) before its refund, so it can no longer ship or be paid.

    Idempotent while the order is cancelling or cancelled; refused for a shipped order ("refund it instead").
    """
    with _engine(engine).begin() as conn:
        current = conn.execute(sa.select(orders_table.c.status).where(orders_table.c.id == order_id)).scalar()
        if current in ("cancelling", "cancelled"):
            return order_from_row(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
        return _change_if_allowed(conn, order_id, _may_close, status="cancelling")


def abandon_cancel(order_id: str, *, engine: sa.Engine | None = None) -> Order:
    """Give back a claim of `begin_cancel` whose refund was refused: the order returns to what its facts say."""
    with _engine(engine).begin() as conn:
        row = conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one_or_none()
        if row is None:
            raise OrderNotFoundError(f"There is no order {order_id}.")
        if row.status != "cancelling":
            return order_from_row(row)
        facts = {**dict(row._mapping), "status": "pending"}
        conn.execute(
            sa.update(orders_table)
            .where(orders_table.c.id == order_id, orders_table.c.status == "cancelling")
            .values(status=_status_of(facts), updated=clock.now())
        )
        return order_from_row(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())


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
            return order_from_row(conn.execute(sa.select(orders_table).where(orders_table.c.id == order_id)).one())
        order = _change_if_allowed(conn, order_id, _may_close, cancelled_at=clock.now())
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
            queue_email(conn, order, "cancelled", refunded=0 if released else order.amount, released=released)
        return order


def record_refund(order_id: str, amount_refunded: int, *, engine: sa.Engine | None = None) -> Order:
    """Set the total refunded on an order (from Stripe's `amount_refunded`); status follows."""
    with _engine(engine).begin() as conn:
        order = lock_order(conn, order_id)
        if amount_refunded < 0 or amount_refunded > order.amount:
            raise ValueError(f"A refund total of {amount_refunded} does not fit order {order_id} ({order.amount}).")
        updated = update_order(conn, order, amount_refunded=amount_refunded)
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
        queue_email(conn, after, "refund_corrected", key=key, returned=returned, total=after.amount_refunded)
        return
    approving = conn.execute(
        sa.select(refund_requests_table.c.id).where(
            refund_requests_table.c.order_id == after.id, refund_requests_table.c.status == "approving"
        )
    ).first()
    if approving is None:
        amount = after.amount_refunded - before.amount_refunded
        key = f"{after.id}:refunded:{after.amount_refunded}"
        queue_email(conn, after, "refunded", key=key, amount=amount, total=after.amount_refunded)
