"""The incremental sync: Stripe's events since the cursor applied to the local copy, each once, oldest first.

Events are read from a little before the newest one applied (EVENT_OVERLAP_S), because Stripe does not promise they
become visible in the order they were created; the ids of applied events (`applied_events`) make each count once.
Webhook deliveries go through the same `apply_events`, so the sync and the webhooks skip each other's events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
import stripe

from shop import disputes
from shop.db import insert_missing, next_change, upsert
from shop.lease import Lease
from shop.schema import applied_events, balance_transactions, charge_payloads, charges, refunds, sync_state
from shop.stripe_io import field
from shop.sync_reading import PAGE_SIZE, RequestCounter, events_since, list_pages, request_json
from shop.sync_report import FollowCharges, Progress, SyncReport
from shop.sync_rows import balance_transaction_row, charge_row, expandable_id, payload_row, refund_row
from shop.sync_store import (
    LAST_EVENT_CREATED,
    LAST_EVENT_ID,
    LAST_SYNCED_AT,
    fill_fees,
    missing_transactions,
    state_in,
    store_charges,
    write_state,
)

# Re-read events created this long before the newest one applied: Stripe does not promise that events become
# visible (or are delivered) in the order they were created (https://docs.stripe.com/webhooks#event-ordering).
EVENT_OVERLAP_S = 60
# Stripe redelivers a webhook for up to three days (docs.stripe.com/webhooks, "Retry behavior"), so an applied
# event's id is kept a day longer than that: a late duplicate delivery is still recognised.
APPLIED_EVENT_MEMORY_S = 4 * 24 * 3600
# Stripe lists events "going back up to 30 days" (https://docs.stripe.com/api/events/list): a cursor older than
# that (less a day of margin) may have lost events, so the copy is backfilled instead (and the report says so).
EVENT_RETENTION_S = 29 * 24 * 3600
# Refund statuses that give the money back to the charge (docs.stripe.com/api/refunds/object#refund_object-status).
UNDONE_REFUND_STATUSES = ("failed", "canceled")
# + a charge id: a webhook stored a copy of it over a different one from the same second (`_mark_ties`), or the
# sync applied an event that changed it without carrying it (a failed refund, a dispute); the sync fetches it. The
# value is the number of the change that marked it.
RECHECK = "recheck:"


def _sync_transactions(
    client: stripe.StripeClient, engine: sa.Engine, wanted: set[str], since: int, counter: RequestCounter
) -> list[dict]:
    """Fetch the balance transactions `wanted` (ids the applied events named) and store them with the fees on
    their charges; returns the charge rows whose fee or net changed.

    One list, `GET /v1/balance_transactions?created[gte]=since` (100 a page), brings every transaction made since
    the events' window opened: ceil(n / 100) requests for n transactions, where one GET per charge would cost n.
    An id the list did not bring (a transaction older than the window) is fetched by itself.
    """
    listed = [
        txn
        for page in list_pages(client, "/v1/balance_transactions", counter, {"created": {"gte": since}})
        for txn in page["data"]
    ]
    rows = {row["id"]: row for row in map(balance_transaction_row, listed)}
    for txn_id in sorted(wanted - set(rows)):
        try:
            rows[txn_id] = balance_transaction_row(
                request_json(client, f"/v1/balance_transactions/{txn_id}", {}, counter)
            )
        except stripe.InvalidRequestError:
            continue  # not (or no longer) in Stripe: the charge keeps no fee, the page says it is unknown
    with engine.begin() as conn:
        upsert(conn, balance_transactions, list(rows.values()))
        charge_ids = list(
            conn.execute(sa.select(charges.c.id).where(charges.c.balance_transaction.in_(sorted(wanted)))).scalars()
        )
        if not charge_ids:  # only refunds' transactions: no charge row changes, no change number taken
            return []
        seq = next_change(conn)
        fill_fees(conn, charge_ids, seq)
        changed = [
            dict(row._mapping)
            for row in conn.execute(sa.select(charges).where(charges.c.id.in_(charge_ids), charges.c.sync_seq == seq))
        ]
    return changed


def apply_events(
    engine: sa.Engine, events: list[Any], *, move_cursor: bool = True
) -> tuple[list[dict], int, int, set[str]]:
    """Store the objects carried by `events` (oldest first) as one change, skipping events applied before.

    Returns the charge rows stored, the refund count, how many events were new, and the charges these events
    changed without carrying them, for the caller to fetch: those of refunds that failed or were canceled
    (`charge.refund.updated`, `refund.failed`: `amount_refunded` went back down) and of disputes (`disputed`);
    the sync marks them (`RECHECK`) with the events, so they are fetched even if it dies first. The rows, the
    applied event ids and the cursor commit together, so an interrupted sync re-reads exactly what it had not
    applied. `move_cursor=False` (webhook deliveries) leaves the sync's cursor where it is.

    `created` counts seconds, so two events of one object in one second look equally new, and webhooks apply
    events in the order they arrive, not Stripe's: a charge's `charge.succeeded` can land after its
    `charge.refunded` and undo the refund in the copy, and no event brings the refund back (each is applied once).
    So the sync stores an object a new event carries as the newest of its events in `events`, applied before or
    not (they are in Stripe's order); and a delivery whose copy meets a different stored copy of the same second
    marks the charge (`RECHECK`, in the same transaction) for the next sync to fetch, whichever process runs it.
    """
    with engine.begin() as conn:
        ids = [event["id"] for event in events]
        seen = set(conn.execute(sa.select(applied_events.c.id).where(applied_events.c.id.in_(ids))).scalars())
        fresh = [event for event in events if event["id"] not in seen]
        charge_rows: dict[str, dict] = {}
        payload_rows: dict[str, dict] = {}
        refund_rows: dict[str, dict] = {}
        undone: set[str] = set()
        dispute_objects: dict[str, tuple[Any, int]] = {}
        carried: set[str] = set()  # ids of the objects a new event carries
        seq = next_change(conn) if fresh else 0
        for event in events if move_cursor else fresh:
            new = event["id"] not in seen
            obj = field(event, "data", "object")
            kind = field(obj, "object")
            created = int(event["created"])
            if kind == "charge":
                row = {**charge_row(obj), "sync_seq": seq, "event_created": created}
                charge_rows[row["id"]] = row  # later events win: they carry the newer state
                payload_rows[row["id"]] = payload_row(obj)
                for refund in field(obj, "refunds", "data") or []:
                    refund_rows[field(refund, "id")] = {**refund_row(refund), "event_created": created}
                    carried.update([field(refund, "id")] if new else [])
                carried.update([row["id"]] if new else [])
            elif kind == "refund":
                row = refund_row(obj)
                if row["charge_id"]:
                    refund_rows[row["id"]] = {**row, "event_created": created}
                    carried.update([row["id"]] if new else [])
                    if new and row["status"] in UNDONE_REFUND_STATUSES:
                        undone.add(row["charge_id"])
            elif kind == "dispute" and new:
                dispute_objects[field(obj, "id")] = (obj, created)
                if isinstance(field(obj, "charge"), str):
                    # charge.dispute.* events carry the dispute, not the charge whose `disputed` flag it sets.
                    undone.add(field(obj, "charge"))
        for rows in (charge_rows, payload_rows, refund_rows):
            for object_id in set(rows) - carried:  # only events applied before carry it: the sync stored it then
                del rows[object_id]
        if not move_cursor:
            _mark_ties(conn, list(charge_rows.values()), seq)
        else:  # marked with the events that changed them: a sync that dies before fetching them leaves the marks
            write_state(conn, {RECHECK + charge_id: seq for charge_id in undone})
        # A late event may carry an older copy than the one stored: `newer` keeps the newer one.
        upsert(conn, charges, list(charge_rows.values()), newer="event_created")
        fill_fees(conn, list(charge_rows), seq)  # an event's copy keeps the fee already synced
        upsert(conn, charge_payloads, list(payload_rows.values()))
        upsert(conn, refunds, list(refund_rows.values()), newer="event_created")
        for obj, created in dispute_objects.values():
            disputes.store_disputes(conn, [obj], created)
        insert_missing(conn, applied_events, [{"id": event["id"], "created": int(event["created"])} for event in fresh])
        newest = max(events, key=lambda event: int(event["created"]))
        state = state_in(conn)
        if move_cursor and int(newest["created"]) >= int(state.get(LAST_EVENT_CREATED) or 0):
            write_state(conn, {LAST_EVENT_ID: newest["id"], LAST_EVENT_CREATED: int(newest["created"])})
    return list(charge_rows.values()), len(refund_rows), len(fresh), undone


# Columns of a stored charge that are the copy's own, not the object's state as Stripe sends it.
_COPY_COLUMNS = {"sync_seq", "event_created", "fee", "net"}


def _mark_ties(conn: sa.Connection, rows: list[dict], seq: int) -> None:
    """Mark for the next sync the charges whose stored copy is from the same second as the row about to replace it
    but differs from it: which of the two is newer cannot be told. Called after the change number is taken, so no
    other write of the copy comes between this read and the row's write."""
    if not rows:
        return
    query = sa.select(charges).where(charges.c.id.in_([row["id"] for row in rows]))
    stored = {found.id: found._mapping for found in conn.execute(query)}
    tied = [
        row["id"]
        for row in rows
        if (old := stored.get(row["id"])) is not None
        and old["event_created"] == row["event_created"]
        and any(old[key] != value for key, value in row.items() if key not in _COPY_COLUMNS)
    ]
    write_state(conn, {RECHECK + charge_id: seq for charge_id in tied})


def _recheck_marked(client: stripe.StripeClient, engine: sa.Engine, counter: RequestCounter) -> list[dict]:
    """Fetch the charges `_mark_ties` marked and store them as Stripe has them now; returns the rows stored.

    A mark set again while its charge is fetched (another tie) is kept for the next sync.
    """
    with engine.connect() as conn:
        marked = dict(conn.execute(sa.select(sync_state.c.key, sync_state.c.value).where(_recheck_keys())).all())
        if not marked:
            return []
        ids = [key.removeprefix(RECHECK) for key in marked]
        stored_created = conn.execute(sa.select(sa.func.max(charges.c.event_created)).where(charges.c.id.in_(ids)))
        stamp = max(int(stored_created.scalar() or 0), int(state_in(conn).get(LAST_EVENT_CREATED) or 0))
    # Fetched after every event applied so far: at least as new as any stored copy, so stamped as new as the newest.
    rows = _refetch_charges(client, engine, ids, stamp, counter)
    with engine.begin() as conn:
        for key, value in marked.items():
            conn.execute(sa.delete(sync_state).where(sync_state.c.key == key, sync_state.c.value == value))
    return rows


def _recheck_keys() -> sa.ColumnElement[bool]:
    return sync_state.c.key.startswith(RECHECK, autoescape=True)


def _named_transactions(events: Iterable[Any]) -> dict[str, int]:
    """Balance transaction ids the events' charges and refunds name -> `created` of the first event naming each."""
    named: dict[str, int] = {}
    for event in events:
        obj = field(event, "data", "object")
        kind = field(obj, "object")
        objects = (
            [obj] if kind == "refund" else [obj, *(field(obj, "refunds", "data") or [])] if kind == "charge" else []
        )
        for item in objects:
            txn_id = expandable_id(field(item, "balance_transaction"))
            if txn_id and txn_id not in named:
                named[txn_id] = int(event["created"])
    return named


def _refetch_charges(
    client: stripe.StripeClient,
    engine: sa.Engine,
    charge_ids: Iterable[str],
    event_created: int,
    counter: RequestCounter,
) -> list[dict]:
    """Fetch these charges as Stripe has them now and store them as one change (as new as `event_created`)."""
    fetched = [request_json(client, f"/v1/charges/{charge_id}", {}, counter) for charge_id in sorted(charge_ids)]
    return store_charges(engine, fetched, event_created) if fetched else []


def find_cursor(client: stripe.StripeClient, state: Mapping[str, str], counter: RequestCounter) -> int | None:
    """`created` of the newest applied event; looked up once for a store whose cursor is only an event id.

    None when that event is no longer in Stripe (older than its 30 days of events): the copy needs a backfill.
    """
    if state.get(LAST_EVENT_CREATED):
        return int(state[LAST_EVENT_CREATED])
    event_id = state.get(LAST_EVENT_ID)
    if not event_id:
        return 0  # no event existed at backfill time: every event is new
    try:
        return int(request_json(client, f"/v1/events/{event_id}", {}, counter)["created"])
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise


def incremental(
    client: stripe.StripeClient,
    engine: sa.Engine,
    cursor_created: int,
    lease: Lease,
    counter: RequestCounter,
    progress: Progress,
    follow_charges: FollowCharges,
) -> SyncReport | None:
    """Apply the events since the cursor (less the overlap); None when the cursor is too old for Stripe's events.

    `follow_charges` is called with the charge rows each batch of events stored (the orders follow them).
    """
    started = time.monotonic()
    since = cursor_created - EVENT_OVERLAP_S if cursor_created else None
    events = events_since(client, since, counter)
    if cursor_created and events and int(events[-1]["created"]) - cursor_created > EVENT_RETENTION_S:
        return None
    charge_ids: set[str] = set()
    refund_total = events_applied = 0
    for start in range(0, len(events), PAGE_SIZE):
        lease.check()
        batch = events[start : start + PAGE_SIZE]
        rows, refund_count, fresh, _undone = apply_events(engine, batch)  # marked: fetched below
        named = _named_transactions(batch)
        wanted = missing_transactions(engine, named)
        if wanted:
            since = min(created for txn_id, created in named.items() if txn_id in wanted) - EVENT_OVERLAP_S
            rows += _sync_transactions(client, engine, wanted, since, counter)
        follow_charges(rows, engine, client)
        charge_ids.update(row["id"] for row in rows)
        refund_total += refund_count
        events_applied += fresh
        progress(min(0.95, 0.1 + events_applied / (events_applied + 400)), f"Applied {events_applied:,} events…")
    lease.check()
    rechecked = _recheck_marked(client, engine, counter)
    follow_charges(rechecked, engine, client)
    charge_ids.update(row["id"] for row in rechecked)
    synced_at = time.time()
    lease.check()
    with engine.begin() as conn:
        write_state(conn, {LAST_SYNCED_AT: synced_at})
        # Ids older than both the overlap and Stripe's redelivery window can never come again: forget them.
        newest = cursor_created if not events else max(cursor_created, int(events[-1]["created"]))
        forget_before = newest - max(2 * EVENT_OVERLAP_S, APPLIED_EVENT_MEMORY_S)
        conn.execute(applied_events.delete().where(applied_events.c.created < forget_before))
    progress(1.0, f"Up to date: {events_applied:,} new events.")
    return SyncReport(
        "incremental",
        counter.requests,
        len(charge_ids),
        refund_total,
        events_applied,
        synced_at,
        time.monotonic() - started,
    )
