"""The backfill: every charge, refund and dispute listed into the local copy, resumable from a checkpoint.

Each listed page is stored with the checkpoint of where the listing has got to, in one transaction, so a backfill
that dies midway is resumed by the next sync, in any process, at the next page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import sqlalchemy as sa
import stripe

from shop import backfill_ranges, disputes
from shop.db import insert_missing, next_change
from shop.lease import Lease
from shop.schema import applied_events, sync_state
from shop.sync_reading import PAGE_SIZE, RequestCounter, list_page, list_pages, request_json
from shop.sync_report import FollowCharges, Progress, SyncReport
from shop.sync_store import (
    BACKFILL_CHECKPOINT,
    BACKFILLED,
    LAST_EVENT_CREATED,
    LAST_EVENT_ID,
    LAST_SYNCED_AT,
    store_charges,
    store_refunds,
    write_state,
)
from shop.words import count

BACKFILL_LISTS = ("/v1/charges", "/v1/refunds", "/v1/disputes")


def backfill(
    client: stripe.StripeClient,
    engine: sa.Engine,
    lease: Lease,
    counter: RequestCounter,
    progress: Progress,
    follow_charges: FollowCharges,
    note: str = "",
    checkpoint: dict | None = None,
) -> SyncReport:
    """List every charge, refund and dispute into the copy; from `checkpoint` when resuming one that stopped.

    `follow_charges` is called with each page of charge rows as it is stored (the orders follow them).
    """
    started = time.monotonic()
    if checkpoint is None:
        # The newest events before the backfill: the incremental sync resumes from the newest, so nothing changed
        # during the backfill is missed (events re-applied in order end at the newest state). The listed objects
        # are at least as new as these events, so they count as applied, and the rows' `event_created` says so.
        head = list_page(client, "/v1/events", {"limit": PAGE_SIZE}, counter)["data"]
        checkpoint = {
            "head": [{"id": e["id"], "created": int(e["created"])} for e in head],
            "list": BACKFILL_LISTS[0],
            "after": None,
        }
        _save_checkpoint(engine, lease, checkpoint)
    else:
        note = note or "Resumed a backfill that had stopped midway."
    head = checkpoint["head"]
    newest = head[0] if head else None
    newest_created = int(newest["created"]) if newest else 0

    charge_count = refund_count = 0
    # Each charge's and refund's balance transaction comes expanded inside the list pages: fees and net cost no
    # request more than the backfill made before (listing /v1/balance_transactions as well would add one request
    # per 100 charges and refunds), only larger pages.
    expand = {"expand": ["data.balance_transaction"]}
    for path in BACKFILL_LISTS[BACKFILL_LISTS.index(checkpoint["list"]) :]:
        after = checkpoint["after"] if path == checkpoint["list"] else None
        filters = expand if path != "/v1/disputes" else None
        listing = _listing(client, engine, lease, counter, path, filters, after, checkpoint)
        for pages_done, (page, checkpoint) in enumerate(listing, start=1):
            lease.check()
            # The checkpoint commits with the page's rows: a sync that dies between pages resumes at the next one.
            state = {BACKFILL_CHECKPOINT: json.dumps(checkpoint)}
            if path == "/v1/charges":
                rows = store_charges(engine, page["data"], newest_created, state)
                charge_count += len(rows)
                follow_charges(rows, engine, client)
                # Stripe lists have no total count: the bar creeps towards 80 % while the count says how far we are.
                progress(0.8 * pages_done / (pages_done + 4), f"Fetched {count(charge_count, 'charge')}…")
            elif path == "/v1/refunds":
                refund_count += store_refunds(engine, page["data"], newest_created, state)
                progress(0.9, f"Fetched {count(charge_count, 'charge')} and {count(refund_count, 'refund')}…")
            else:
                with engine.begin() as conn:
                    write_state(conn, state)
                    next_change(conn)
                    disputes.store_disputes(conn, page["data"], newest_created)

    synced_at = time.time()
    lease.check()
    with engine.begin() as conn:
        write_state(
            conn,
            {
                LAST_EVENT_ID: newest["id"] if newest else "",
                LAST_EVENT_CREATED: newest_created,
                LAST_SYNCED_AT: synced_at,
                BACKFILLED: "1",
            },
        )
        conn.execute(sa.delete(sync_state).where(sync_state.c.key == BACKFILL_CHECKPOINT))
        insert_missing(conn, applied_events, head)
    progress(1.0, f"Backfill done: {charge_count:,} charges, {refund_count:,} refunds.")
    return SyncReport(
        "backfill", counter.requests, charge_count, refund_count, 0, synced_at, time.monotonic() - started, note
    )


def _listing(
    client: stripe.StripeClient,
    engine: sa.Engine,
    lease: Lease,
    counter: RequestCounter,
    path: str,
    filters: dict | None,
    after: str | None,
    checkpoint: dict,
) -> Iterable[tuple[dict, dict]]:
    """The pages of one backfill list, each with the checkpoint to store with it: the charges in `created` ranges
    fetched side by side when STRIPE_SYNC_BACKFILL_WORKERS allows more than one (shop.backfill_ranges), else one
    list followed page by page."""
    from shop.config import get_settings

    workers = get_settings().sync_backfill_workers
    ranged = "ranges" in checkpoint and checkpoint["list"] == path
    if path != "/v1/charges" or not (ranged or (workers > 1 and after is None)):
        for page in list_pages(client, path, counter, filters, after):
            if page["data"]:
                checkpoint = {**checkpoint, "list": path, "after": page["data"][-1]["id"]}
            yield page, checkpoint
        return

    yield from backfill_ranges.listing(
        lambda list_path, params: request_json(client, list_path, params, counter),
        path,
        filters or {},
        checkpoint,
        max(workers, 1),
        lambda saved: _save_checkpoint(engine, lease, saved),
    )


def _save_checkpoint(engine: sa.Engine, lease: Lease, checkpoint: dict) -> None:
    lease.check()
    with engine.begin() as conn:
        write_state(conn, {BACKFILL_CHECKPOINT: json.dumps(checkpoint)})
