"""A local copy of Stripe's charges and refunds, so the ops pages never list Stripe on a rerun.

The first sync backfills: `charges.list` and `refunds.list`, 100 a page. Every later sync reads only what changed:
`/v1/events` created since a little before the newest event already applied (EVENT_OVERLAP_S), 100 a page, applied
oldest first, skipping events already applied (`applied_events`). The overlap catches an event that becomes
visible after a newer one; a sync after N changes costs ceil((N + events in the overlap) / 100) requests. The
newest event is taken *before* the backfill, so a change made while the backfill runs is applied by the next sync.
An object a new event carries is stored as its newest event in the page carries it, applied before or not, and a
charge a webhook stored over a different copy from the same second is fetched by the next sync (`apply_events`).

One sync at a time: a sync holds the "sync" lease (`shop.lease`) in the database, renewed while it runs. A caller
that finds it held waits for that sync and then returns its result ("shared"), or returns "running" after
`wait_s`. Every write to the copy takes the next number of the database's "changes" counter inside its own
transaction and tags its rows with it (`charges.sync_seq`), so a reader that follows `data_version` never skips a
row, whichever process wrote it.

Fees and net: each charge's (and refund's) balance transaction, in `balance_transactions`, and its fee and net on
the charge row. The backfill lists with `expand[]=data.balance_transaction`, so the transactions come inside the
pages it reads anyway (no request more; listing `/v1/balance_transactions` beside would cost one per 100). Events
name a charge's transaction without carrying it, so an incremental sync that meets unknown transaction ids lists
`/v1/balance_transactions` created since then: ceil(new transactions / 100) requests more, none when every
transaction is known (`shop.sync_events`).

Orders stay in step: when a synced charge carries `metadata.order_id` and its refunded total differs from the
order's (up or down: a failed refund gives the money back), `orders.record_refund` is called (`_keep_orders_in_step`).
The copy moves no money: a charge of an order paid with another charge is refunded by the sync's caller
(`shop.checkout.reconcile.sync_and_settle`). A 429 from Stripe is waited out with jittered back-off and the same
page asked again (`shop.sync_reading.backoff_s`).

This module is the entry (`sync`, `apply_delivered_events`) and the orders' follow-up; the work is in
`sync_rows` (object -> row), `sync_reading` (requests to Stripe), `sync_store` (writes to the copy),
`sync_backfill` and `sync_events` (the two kinds of sync), and `sync_report` (what a sync returns).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import stripe

from shop import orders
from shop.db import get_engine
from shop.lease import Lease
from shop.schema import charges
from shop.stripe_io import client_or_default, plain
from shop.sync_backfill import backfill
from shop.sync_events import apply_events, find_cursor, incremental
from shop.sync_reading import RequestCounter
from shop.sync_report import Progress, SyncReport
from shop.sync_store import (
    BACKFILL_CHECKPOINT,
    BACKFILLED,
    LAST_SYNCED_AT,
    read_state,
)

DEFAULT_MAX_AGE_S = 60
SYNC_LEASE = "sync"
LEASE_TTL_S = 30.0  # a holder that died is taken over after this long; a live one renews every third of it
DEFAULT_WAIT_S = 30.0  # how long a caller waits for another session's sync before returning "running"


def last_synced_at(engine: sa.Engine | None = None) -> float | None:
    """Unix time of the last completed sync, or None if the store was never synced."""
    value = read_state(engine or get_engine()).get(LAST_SYNCED_AT)
    return float(value) if value else None


def ensure_schema(engine: sa.Engine) -> None:
    """Kept for callers of earlier versions: `get_engine` migrates every store to the current schema on first use."""
    del engine


def needs_sync(max_age_s: float = DEFAULT_MAX_AGE_S, engine: sa.Engine | None = None) -> bool:
    """True when the local copy was never synced or is older than `max_age_s` seconds."""
    synced = last_synced_at(engine)
    return synced is None or time.time() - synced > max_age_s


def _keep_orders_in_step(rows: Iterable[dict], engine: sa.Engine, client: stripe.StripeClient | None = None) -> None:
    """Make the shop's orders follow the charges Stripe reports (`client` is unused: the copy moves no money).

    An order's refunded total follows its charge's `amount_refunded`, down as well as up: a refund that failed or
    was canceled gives the money back to the charge (docs.stripe.com/refunds#failed-refunds), and the order is paid
    again. An authorized order follows its charge's capture or release. A charge naming (in its metadata) an order
    it did not pay is left to the caller of the sync, which gives it back or settles the order with it
    (`shop.checkout.reconcile.settle_synced_charges`).
    """
    rows = [row for row in rows if row.get("order_id")]
    if not rows:
        return
    found = orders.get_orders([row["order_id"] for row in rows], engine=engine)
    for row in rows:
        order = found.get(str(row["order_id"]).strip().upper())
        if order is None or order.charge_id != row["id"]:
            continue
        if order.capture_method == "manual":  # authorized at checkout: follow its capture or its release (expiry)
            if row["captured"] and not order.captured_at:
                found[order.id] = order = orders.record_capture(order.id, engine=engine)
            elif not row["captured"] and row["refunded"] and not order.released_at:
                found[order.id] = orders.record_release(order.id, engine=engine)
                continue
        if not row["captured"] or order.amount_refunded == row["amount_refunded"]:
            continue
        try:
            found[order.id] = orders.record_refund(order.id, row["amount_refunded"], engine=engine)
        except (orders.OrderStateError, orders.OrderNotFoundError, ValueError):
            continue  # a charge whose amounts do not fit its order: the charge row still shows the truth


def _nothing_done(kind: str, counter: RequestCounter, started: float) -> SyncReport:
    return SyncReport(kind, counter.requests, 0, 0, 0, time.time(), time.monotonic() - started)


def sync(
    client: stripe.StripeClient | None = None,
    progress: Progress | None = None,
    *,
    engine: sa.Engine | None = None,
    full: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
) -> SyncReport:
    """Bring the local charges and refunds up to date with Stripe, one sync at a time across processes.

    The first run (or `full=True`) backfills through the lists; later runs apply new events only. When the newest
    applied event is older than Stripe keeps events (30 days), the sync backfills and its report's note says so.
    When another session holds the sync lease, this call waits up to `wait_s` seconds: if that sync finished, its
    work is this call's too (kind "shared"); if it still runs, kind "running". Raises the SDK's errors
    (stripe.APIConnectionError, an InvalidRequestError from the events list, ...) for the caller to show.
    """
    client = client_or_default(client)
    engine = engine or get_engine()
    progress = progress or (lambda _fraction, _text: None)
    started = time.monotonic()
    asked_at = time.time()
    from shop.config import get_settings

    counter = RequestCounter(get_settings().sync_requests_per_s)
    lease = Lease(engine, SYNC_LEASE, LEASE_TTL_S)
    if not lease.try_take():
        progress(0.05, "Another session is syncing with Stripe; waiting for it…")
        if not lease.take(wait_s):
            return _nothing_done("running", counter, started)
    synced = last_synced_at(engine)
    if not full and synced is not None and synced >= asked_at:
        # A sync finished after this call was made (its lease was just released): its result is this call's too.
        lease.release()
        progress(1.0, "Up to date: another session synced just now.")
        return _nothing_done("shared", counter, started)
    with lease.renewed():
        state = read_state(engine)
        if state.get(BACKFILL_CHECKPOINT) and not full:
            checkpoint = json.loads(state[BACKFILL_CHECKPOINT])
            return backfill(client, engine, lease, counter, progress, _keep_orders_in_step, checkpoint=checkpoint)
        if full or not state.get(BACKFILLED):
            return backfill(client, engine, lease, counter, progress, _keep_orders_in_step)
        cursor_created = find_cursor(client, state, counter)
        report = None
        if cursor_created is not None:
            report = incremental(client, engine, cursor_created, lease, counter, progress, _keep_orders_in_step)
        if report is None:
            note = "Backfilled: the last event applied is older than the 30 days of events Stripe keeps."
            return backfill(client, engine, lease, counter, progress, _keep_orders_in_step, note)
        return report


def apply_delivered_events(events: list[Any], *, engine: sa.Engine | None = None) -> int:
    """Apply events that arrived outside a sync (webhook deliveries), each id once; returns how many were new.

    The sync's own path and its table of applied event ids, so an event applied here is skipped by the next sync
    and the other way round. The sync's cursor stays put: events an endpoint missed are still read by the next
    sync. Orders follow the stored charge rows, not the events' copies, so a late event cannot undo a refund.
    """
    engine = engine or get_engine()
    # Charges a refund or dispute event changed without carrying them: the webhook handler fetches them itself.
    rows, _refund_count, fresh, _undone = apply_events(engine, [plain(event) for event in events], move_cursor=False)
    if rows:
        with engine.connect() as conn:
            query = sa.select(charges).where(charges.c.id.in_([row["id"] for row in rows]))
            stored = [dict(row._mapping) for row in conn.execute(query)]
        _keep_orders_in_step(stored, engine)
    return fresh
