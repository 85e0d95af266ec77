"""Reconciliation: orders brought in step with what Stripe did, above both checkout flows and the synced copy.

Attempts whose answer was lost are settled from Stripe (`reconcile_pending`), unpaid orders with an intent from their
intents and those of a completed Checkout Session from their session (`settle_open_orders`), second charges whose refund
did not go through are refunded again (`refund_open_second_charges`). The synced copy (`shop.sync`) only copies Stripe's
objects; the charges it copied that name an order they did not pay are given back or settle that order here
(`settle_synced_charges`), so every caller of a sync or of delivered events calls `sync_and_settle` or
`apply_and_settle`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import stripe

from shop import attempts, db, orders, schema, second_charges, sync
from shop.checkout import charges, intents, sessions
from shop.checkout.results import ChargeResult, ReconcileResult
from shop.checkout.unwanted_charges import refund_second_charge
from shop.db import get_engine
from shop.orders import Order
from shop.stripe_io import client_or_default, field


def reconcile_pending(
    client: stripe.StripeClient | None = None,
    *,
    min_age_s: float | None = None,
    now: float | None = None,
    order_id: str | None = None,
) -> list[ReconcileResult]:
    """Settle attempts left pending or in error (network failure, crash) from what Stripe actually did.

    An attempt of the Charges flow is settled from its charge, found by metadata (`charges.settle_open_attempts`
    says how, and when an attempt may still be in flight: `min_age_s`, `now`); one of a PaymentIntent order from its
    intent (`intents.settle_order`). Never creates a charge, so nothing can be charged twice. `order_id` limits the
    work to one order; without it, second charges whose refund did not go through before are tried again.
    """
    client = client_or_default(client)
    settled_by_intent = functools.partial(_settled_from_intent, client=client)
    results = charges.settle_open_attempts(
        client, order_id=order_id, min_age_s=min_age_s, now=now, by_intent=settled_by_intent
    )
    if order_id is None:
        refund_open_second_charges(client)
    return results


def _settled_from_intent(attempt: attempts.Attempt, client: stripe.StripeClient) -> ReconcileResult | None:
    """Settle an attempt of a PaymentIntent order from its intent (its charges carry no attempt metadata); None for
    an attempt of the Charges flow."""
    order = orders.get_order(attempt.order_id)
    if order is None or not order.payment_intent_id:
        return None
    try:
        settled = intents.settle_order(order.id, client=client)
    except intents.IntentUnavailable:
        settled = None  # Stripe did not answer: left for the next reconciliation
    outcome = {"succeeded": "succeeded", "declined": "failed"}.get(settled.outcome if settled else "", "still_pending")
    return ReconcileResult(order.id, attempt.id, outcome, settled.charge_id if settled else None)


def settle_found_charge(order: Order, charge: Any, client: stripe.StripeClient) -> ChargeResult | None:
    """Settle an unpaid order from a succeeded charge found in Stripe (by the sync) naming it and one of its attempts.

    The attempt may have been closed as not charged when Stripe made the charge afterwards: the order is paid with
    it now (or, if the order cannot take it, it is refunded as a second charge). None when the charge names no
    attempt of this order.
    """
    attempt_id = str(field(field(charge, "metadata") or {}, "attempt") or "")
    attempt = next((a for a in attempts.list_attempts(order.id) if str(a.id) == attempt_id), None)
    if attempt is None:
        return None
    return charges.settle_from_charge(order.id, attempt, charge, client, "sync")


def refund_open_second_charges(client: stripe.StripeClient | None = None) -> list[second_charges.SecondCharge]:
    """Try again the refunds of second charges Stripe has not confirmed yet; returns those still open."""
    open_ones = second_charges.list_second_charges(refunded=False)
    if not open_ones:
        return []
    client = client_or_default(client)
    still_open = []
    for record in open_ones:
        order = orders.get_order(record.order_id)
        if order is None:
            continue
        done = refund_second_charge(order, record.charge_id, record.amount, record.currency, client, record.found_by)
        if not done.refunded_at:
            still_open.append(done)
    return still_open


def orders_with_open_intents() -> list[Order]:
    """Unpaid orders whose PaymentIntent may have moved on without the shop hearing (a tab closed mid-payment)."""
    return orders.list_orders(status=("pending", "failed"), with_intent=True)


def settle_open_orders(client: stripe.StripeClient | None = None, *, order_id: str | None = None) -> list[ChargeResult]:
    """Settle every unpaid order that has an intent, or a Checkout Session that completed (a tab closed
    mid-payment, a lost answer, a bank debit settled since), from Stripe.

    Never confirms or creates anything, so it cannot charge. `order_id` limits the work to one order. Orders
    Stripe does not answer for are skipped (left as they are for the next run).
    """
    client = client_or_default(client)
    if order_id is not None:
        order = orders.get_order(order_id)
        open_orders = [order] if order is not None and not order.paid_at else []
    else:
        open_orders = orders_with_open_intents()
    results = []
    for order in open_orders:
        if not order.payment_intent_id:  # the one order asked for by id may have none
            continue
        try:
            settled = intents.settle_order(order.id, client=client)
        except intents.IntentUnavailable:
            continue
        if settled is not None:
            results.append(settled)
    if order_id is None:
        results += sessions.settle_completed_sessions(client)
    return results


SETTLE_BATCH = 500  # synced charges looked at a query at a time, so a backfill of many never sits in memory at once


def settle_synced_charges(
    since: int, *, client: stripe.StripeClient | None = None, engine: sa.Engine | None = None
) -> None:
    """Give back or take up the charges the synced copy received after change `since` (`db.data_version`) that
    name, in their metadata, an order they did not pay.

    A succeeded charge of an order already paid with another charge is a second charge: it is refunded and kept for
    staff (`refund_second_charge`, found by "sync"). One naming an unpaid order of the Charges flow and one of its
    attempts (closed as not charged before Stripe made the charge) pays the order (`settle_found_charge`); an
    intent's order is settled from its intent instead (`intents.settle_order`).
    """
    engine = engine or get_engine()
    table = schema.charges
    query = (
        sa.select(table.c.id, table.c.order_id, table.c.amount, table.c.currency, table.c.sync_seq)
        .where(
            table.c.sync_seq > since,
            table.c.order_id.is_not(None),
            table.c.status == "succeeded",
            table.c.paid.is_(True),
            table.c.refunded.is_(False),
        )
        .order_by(table.c.sync_seq, table.c.id)
    )
    after = (since, "")
    while True:
        with engine.connect() as conn:
            page = conn.execute(query.where(sa.tuple_(table.c.sync_seq, table.c.id) > after).limit(SETTLE_BATCH)).all()
        if not page:
            return
        after = (page[-1].sync_seq, page[-1].id)
        found = orders.get_orders([row.order_id for row in page], engine=engine)
        for row in page:
            order = found.get(str(row.order_id).strip().upper())
            if order is None or order.charge_id == row.id:
                continue
            client = client_or_default(client)
            if order.paid_at:
                refund_second_charge(order, row.id, row.amount, row.currency, client, "sync")
            elif not order.payment_intent_id:  # an intent's order is settled from its intent
                settle_found_charge(order, _stored_charge(engine, row.id), client)


def _stored_charge(engine: sa.Engine, charge_id: str) -> dict:
    """The charge as Stripe sent it to the synced copy."""
    with engine.connect() as conn:
        raw = conn.execute(
            sa.select(schema.charge_payloads.c.raw).where(schema.charge_payloads.c.id == charge_id)
        ).scalar_one()
    return json.loads(raw)


def sync_and_settle(
    client: stripe.StripeClient | None = None,
    progress: Callable[[float, str], object] | None = None,
    *,
    engine: sa.Engine | None = None,
    **options: Any,
) -> sync.SyncReport:
    """`shop.sync.sync` (same arguments), then `settle_synced_charges` for what it copied: the sync that pages,
    loops and notebooks run, since the copy itself moves no money."""
    engine = engine or get_engine()
    since = db.data_version(engine)
    report = sync.sync(client, progress, engine=engine, **options)
    settle_synced_charges(since, client=client, engine=engine)
    return report


def apply_and_settle(
    events: list[Any], *, client: stripe.StripeClient | None = None, engine: sa.Engine | None = None
) -> int:
    """`shop.sync.apply_delivered_events`, then `settle_synced_charges` for the charges they stored; returns how
    many events were new."""
    engine = engine or get_engine()
    since = db.data_version(engine)
    fresh = sync.apply_delivered_events(events, engine=engine)
    settle_synced_charges(since, client=client, engine=engine)
    return fresh
