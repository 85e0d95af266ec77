"""A local copy of Stripe's charges and refunds, so the ops pages never list Stripe on a rerun.

The first sync backfills: `charges.list` and `refunds.list`, 100 a page. Every later sync reads only what changed:
`/v1/events` created since a little before the newest event already applied (EVENT_OVERLAP_S), 100 a page, applied
oldest first, skipping events already applied (`applied_events`). The overlap catches an event that becomes
visible after a newer one; a sync after N changes costs ceil((N + events in the overlap) / 100) requests. The
newest event is taken *before* the backfill, so a change made while the backfill runs is applied by the next sync.
An object a new event carries is stored as its newest event in the page carries it, applied before or not, and a
charge a webhook stored over a different copy from the same second is fetched by the next sync (`_apply_events`).

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
transaction is known (`_sync_transactions`).

Orders stay in step: when a synced charge carries `metadata.order_id` and its refunded total differs from the
order's (up or down: a failed refund gives the money back), `orders.record_refund` is called (`_keep_orders_in_step`).
The copy moves no money: a charge of an order paid with another charge is refunded by the sync's caller
(`shop.checkout.reconcile.sync_and_settle`). A 429 from Stripe is waited out with jittered back-off and the same
page asked again (`backoff_s`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import stripe

from shop import backfill_ranges, disputes, orders
from shop.db import get_engine, insert_missing, next_number, upsert
from shop.lease import Lease
from shop.schema import (
    applied_events,
    balance_transactions,
    change_sequence,
    charge_payloads,
    charges,
    refunds,
    sync_state,
)
from shop.stripe_io import client_or_default, field, plain

PAGE_SIZE = 100
DEFAULT_MAX_AGE_S = 60
# Re-read events created this long before the newest one applied: Stripe does not promise that events become
# visible (or are delivered) in the order they were created (https://docs.stripe.com/webhooks#event-ordering).
EVENT_OVERLAP_S = 60
# Stripe redelivers a webhook for up to three days (docs.stripe.com/webhooks, "Retry behavior"), so an applied
# event's id is kept a day longer than that: a late duplicate delivery is still recognised.
APPLIED_EVENT_MEMORY_S = 4 * 24 * 3600
# Stripe lists events "going back up to 30 days" (https://docs.stripe.com/api/events/list): a cursor older than
# that (less a day of margin) may have lost events, so the copy is backfilled instead (and the report says so).
EVENT_RETENTION_S = 29 * 24 * 3600
SYNC_LEASE = "sync"
LEASE_TTL_S = 30.0  # a holder that died is taken over after this long; a live one renews every third of it
DEFAULT_WAIT_S = 30.0  # how long a caller waits for another session's sync before returning "running"
CHANGES = "changes"  # the change_sequence counter of the local copy
# A 429 is retried this many times, waiting `backoff_s` before each (up to BACKOFF_CAP_S), before the sync fails.
RATE_LIMIT_RETRIES = 10
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
# Refund statuses that give the money back to the charge (docs.stripe.com/api/refunds/object#refund_object-status).
UNDONE_REFUND_STATUSES = ("failed", "canceled")

# Keys of sync_state.
LAST_EVENT_ID = "last_event_id"
LAST_EVENT_CREATED = "last_event_created"  # `created` of the newest event applied: the cursor
LAST_SYNCED_AT = "last_synced_at"
BACKFILLED = "backfilled"
# Where a backfill has got to (JSON: the head events it started from, the list and the id to list after), kept
# while it runs so a sync that dies midway is resumed by the next one, in any process, at the next page.
BACKFILL_CHECKPOINT = "backfill_checkpoint"
BACKFILL_LISTS = ("/v1/charges", "/v1/refunds", "/v1/disputes")
# + a charge id: a webhook stored a copy of it over a different one from the same second (`_mark_ties`), or the
# sync applied an event that changed it without carrying it (a failed refund, a dispute); the sync fetches it. The
# value is the number of the change that marked it.
RECHECK = "recheck:"

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SyncReport:
    """What one sync did: kind, API requests made, rows upserted, when.

    kind: "backfill" or "incremental"; "shared" when another session's sync ran meanwhile and this call waited
    for it instead of syncing again; "running" when another session's sync still runs after the wait.
    `note` says why a sync backfilled when it was not asked to.
    """

    kind: str
    requests: int
    charges_upserted: int
    refunds_upserted: int
    events_applied: int
    synced_at: float
    duration_s: float
    note: str = ""

    def summary(self) -> str:
        """One line for people: what changed and what it cost."""
        if self.kind == "shared":
            return "Up to date: another session synced with Stripe just now."
        if self.kind == "running":
            return "Another session is syncing with Stripe; the pages show the data synced so far."
        return (self.note + " " if self.note else "") + (
            f"{self.kind.capitalize()}: {self.charges_upserted:,} charges and {self.refunds_upserted:,} refunds "
            f"updated from {self.events_applied:,} events in {self.requests} Stripe requests "
            f"({self.duration_s:.1f} s)."
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def charge_row(charge: Any) -> dict:
    """The `charges` row for a Stripe charge object (the columns the pages use; the JSON goes to payload_row)."""
    data = plain(charge)
    card = field(data, "payment_method_details", "card") or field(data, "source") or {}
    metadata_ = data.get("metadata") or {}
    name = field(data, "shipping", "name") or field(data, "billing_details", "name") or field(card, "name")
    return {
        "id": data["id"],
        "created": int(data["created"]),
        "amount": int(data.get("amount") or 0),
        "amount_captured": int(data.get("amount_captured") or 0),
        "amount_refunded": int(data.get("amount_refunded") or 0),
        "currency": data.get("currency") or "usd",
        "status": data.get("status") or "pending",
        "paid": bool(data.get("paid")),
        "captured": bool(data.get("captured")),
        "refunded": bool(data.get("refunded")),
        "failure_code": data.get("failure_code"),
        "failure_message": data.get("failure_message"),
        # Stripe puts the issuer's decline code in outcome.reason (the error body's decline_code).
        "decline_code": field(data, "outcome", "reason") if data.get("status") == "failed" else None,
        "outcome_type": field(data, "outcome", "type"),
        "risk_level": field(data, "outcome", "risk_level"),
        "card_brand": card.get("brand"),
        "card_last4": card.get("last4"),
        "receipt_email": data.get("receipt_email") or field(data, "billing_details", "email"),
        "customer_name": name,
        "description": data.get("description"),
        "order_id": metadata_.get("order_id"),
        "book_id": metadata_.get("book_id"),
        "quantity": _int_or_none(metadata_.get("quantity")),
        "disputed": bool(data.get("disputed")),
        "balance_transaction": _object_id(data.get("balance_transaction")),
        # Filled from `balance_transactions` by `_fill_fees` in the transaction that stores the row.
        "fee": None,
        "net": None,
    }


def _object_id(value: Any) -> str | None:
    """The id of a field that holds an id or, expanded, the object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value if isinstance(value, str) else None


def balance_transaction_row(txn: Any) -> dict:
    """The `balance_transactions` row for a Stripe balance transaction object
    (docs.stripe.com/api/balance_transactions/object)."""
    data = plain(txn)
    return {
        "id": data["id"],
        "type": data.get("type") or "",
        "source": _object_id(data.get("source")),
        "created": int(data.get("created") or 0),
        "available_on": _int_or_none(data.get("available_on")),
        "amount": int(data.get("amount") or 0),
        "fee": int(data.get("fee") or 0),
        "net": int(data.get("net") or 0),
        "currency": data.get("currency") or "usd",
        "status": data.get("status"),
        "reporting_category": data.get("reporting_category"),
    }


def _expanded_transactions(objects: Iterable[Any]) -> list[dict]:
    """The balance transaction rows of objects listed with `expand[]=data.balance_transaction`."""
    return [
        balance_transaction_row(txn)
        for txn in (field(obj, "balance_transaction") for obj in objects)
        if isinstance(txn, Mapping)
    ]


def _fill_fees(conn: sa.Connection, charge_ids: Iterable[str], seq: int) -> int:
    """Copy fee and net from the stored balance transactions onto these charges (tagged as change `seq` when the
    values change); returns how many charges changed."""
    ids = sorted(set(charge_ids))
    changed = 0
    txn = balance_transactions.alias("txn")
    fee = sa.select(txn.c.fee).where(txn.c.id == charges.c.balance_transaction).scalar_subquery()
    net = sa.select(txn.c.net).where(txn.c.id == charges.c.balance_transaction).scalar_subquery()
    for start in range(0, len(ids), 500):  # bound the IN list
        part = ids[start : start + 500]
        stale = sa.or_(charges.c.fee.is_distinct_from(fee), charges.c.net.is_distinct_from(net))
        result = conn.execute(
            charges.update()
            .where(charges.c.id.in_(part), charges.c.balance_transaction.is_not(None), stale)
            .values(fee=fee, net=net, sync_seq=seq)
        )
        changed += result.rowcount or 0
    return changed


def payload_row(charge: Any) -> dict:
    """The `charge_payloads` row: the charge's JSON as Stripe sent it (an expanded balance transaction as its id,
    the way events carry it; the transaction itself is in `balance_transactions`)."""
    data = plain(charge)
    if isinstance(data.get("balance_transaction"), Mapping):
        data = {**data, "balance_transaction": data["balance_transaction"]["id"]}
    return {"id": data["id"], "raw": json.dumps(data, separators=(",", ":"))}


def refund_row(refund: Any) -> dict:
    """The `refunds` row for a Stripe refund object."""
    data = plain(refund)
    charge_id = data.get("charge")
    if isinstance(charge_id, Mapping):
        charge_id = charge_id.get("id")
    return {
        "id": data["id"],
        "charge_id": charge_id,
        "created": int(data["created"]),
        "amount": int(data.get("amount") or 0),
        "currency": data.get("currency") or "usd",
        "reason": data.get("reason"),
        "status": data.get("status"),
        "raw": json.dumps(data, separators=(",", ":")),
        "balance_transaction": _object_id(data.get("balance_transaction")),
    }


def _read_state(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {key: value for key, value in conn.execute(sa.select(sync_state.c.key, sync_state.c.value))}


def _write_state(conn: sa.Connection, values: Mapping[str, str]) -> None:
    upsert(conn, sync_state, [{"key": key, "value": str(value)} for key, value in values.items()])


def last_synced_at(engine: sa.Engine | None = None) -> float | None:
    """Unix time of the last completed sync, or None if the store was never synced."""
    value = _read_state(engine or get_engine()).get(LAST_SYNCED_AT)
    return float(value) if value else None


def data_version(engine: sa.Engine | None = None) -> int:
    """Number of the last committed change to the local copy (0 before any); rows carry theirs as `sync_seq`.

    Every row of a change numbered up to this one is committed, so a reader holding a copy as of version V reloads
    exactly the rows with `sync_seq > V`.
    """
    with (engine or get_engine()).connect() as conn:
        value = conn.execute(sa.select(change_sequence.c.value).where(change_sequence.c.name == CHANGES)).scalar()
    return int(value or 0)


def next_change(conn: sa.Connection) -> int:
    """The next number of the "changes" counter, taken inside `conn`'s transaction (see `db.next_number`)."""
    return next_number(conn, CHANGES)


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


class _Counter:
    """Counts the requests a sync makes (each page is one GET) and how many Stripe refused with a 429, and paces
    them at `requests_per_s` (0: unpaced) so a long backfill stays under Stripe's rate limit instead of meeting it."""

    def __init__(self, requests_per_s: float = 0.0) -> None:
        self.requests = 0
        self.rate_limited = 0
        self.interval_s = 1 / requests_per_s if requests_per_s else 0.0
        self._next_at = 0.0
        self._lock = threading.Lock()  # shared by the threads of a ranged backfill (shop.backfill_ranges)

    def pace(self) -> None:
        """Wait until the next request is due (requests evenly spaced, no burst), then count it."""
        with self._lock:
            now = time.monotonic()
            wait_s = max(0.0, self._next_at - now) if self.interval_s else 0.0
            if self.interval_s:
                self._next_at = max(now, self._next_at) + self.interval_s
            self.requests += 1
        if wait_s:
            time.sleep(wait_s)  # pacing to a rate: there is no condition to wait for


def backoff_s(retry: int) -> float:
    """How long to wait before retry number `retry` (0 first) of a rate-limited request: "full jitter", a random
    time up to an exponentially growing cap, so sessions limited at the same moment do not come back together
    (docs.stripe.com/rate-limits: "exponential backoff", with "some amount of random jitter")."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**retry))


def _request(client: stripe.StripeClient, path: str, params: dict, counter: _Counter) -> dict:
    """One GET as plain JSON; a 429 (RateLimitError) is waited out (`backoff_s`) and the same request sent again,
    so a sync resumes exactly where it stopped (the same page cursor). Raises it after RATE_LIMIT_RETRIES."""
    for retry in range(RATE_LIMIT_RETRIES + 1):
        counter.pace()
        try:
            return client.raw_request("get", path, **params).data
        except stripe.RateLimitError:
            counter.rate_limited += 1
            if retry == RATE_LIMIT_RETRIES:
                raise
            time.sleep(backoff_s(retry))
    raise AssertionError("unreachable")


def _list_page(client: stripe.StripeClient, path: str, params: dict, counter: _Counter) -> dict:
    """One GET of a Stripe list as plain JSON: {"data": [...], "has_more": ...}.

    Through the SDK's `raw_request` (same auth, retries and typed errors) rather than `client.v1.<x>.list`:
    building StripeObjects for 100 charges costs ~0.3 s here, ten times the request itself, and the store
    wants plain dicts anyway.
    """
    return _request(client, path, params, counter)


def _pages(
    client: stripe.StripeClient,
    path: str,
    counter: _Counter,
    filters: dict | None = None,
    after: str | None = None,
) -> Iterable[dict]:
    """Pages of a Stripe list, newest first, following `starting_after` as auto-paging does (100 a page); with
    `after`, from the object after that id.

    Paged by hand (the same requests auto-paging makes) so that each page is stored and reported as it arrives.
    """
    params: dict[str, Any] = {"limit": PAGE_SIZE, **(filters or {})}
    if after:
        params["starting_after"] = after
    while True:
        page = _list_page(client, path, params, counter)
        yield page
        if not page["has_more"] or not page["data"]:
            return
        params = {"limit": PAGE_SIZE, **(filters or {}), "starting_after": page["data"][-1]["id"]}


def _store_charges(
    engine: sa.Engine, page_charges: list[Any], event_created: int, state: Mapping[str, str] | None = None
) -> list[dict]:
    """Store one page of listed charges as one change (its number taken in the same transaction), and `state`
    (a backfill's checkpoint) with them."""
    with engine.begin() as conn:
        _write_state(conn, state or {})
        seq = next_change(conn)
        rows = [{**charge_row(charge), "sync_seq": seq, "event_created": event_created} for charge in page_charges]
        upsert(conn, charges, rows, newer="event_created")
        upsert(conn, charge_payloads, [payload_row(charge) for charge in page_charges])
        upsert(conn, balance_transactions, _expanded_transactions(page_charges))
        _fill_fees(conn, [row["id"] for row in rows], seq)
    return rows


def _store_refunds(
    engine: sa.Engine, page_refunds: list[Any], event_created: int, state: Mapping[str, str] | None = None
) -> int:
    rows = [
        {**row, "event_created": event_created}
        for row in (refund_row(refund) for refund in page_refunds)
        if row["charge_id"]
    ]
    for row in rows:  # the refund's JSON with its transaction as an id, like a charge's payload
        data = json.loads(row["raw"])
        if isinstance(data.get("balance_transaction"), Mapping):
            row["raw"] = json.dumps({**data, "balance_transaction": row["balance_transaction"]}, separators=(",", ":"))
    with engine.begin() as conn:
        _write_state(conn, state or {})
        upsert(conn, refunds, rows, newer="event_created")
        upsert(conn, balance_transactions, _expanded_transactions(page_refunds))
    return len(rows)


def _missing_transactions(engine: sa.Engine, txn_ids: Iterable[str]) -> set[str]:
    """Those of these balance transaction ids not stored yet."""
    wanted = {txn_id for txn_id in txn_ids if txn_id}
    if not wanted:
        return set()
    with engine.connect() as conn:
        known = set(
            conn.execute(sa.select(balance_transactions.c.id).where(balance_transactions.c.id.in_(wanted))).scalars()
        )
    return wanted - known


def _sync_transactions(
    client: stripe.StripeClient, engine: sa.Engine, wanted: set[str], since: int, counter: _Counter
) -> list[dict]:
    """Fetch the balance transactions `wanted` (ids the applied events named) and store them with the fees on
    their charges; returns the charge rows whose fee or net changed.

    One list, `GET /v1/balance_transactions?created[gte]=since` (100 a page), brings every transaction made since
    the events' window opened: ceil(n / 100) requests for n transactions, where one GET per charge would cost n.
    An id the list did not bring (a transaction older than the window) is fetched by itself.
    """
    listed = [
        txn
        for page in _pages(client, "/v1/balance_transactions", counter, {"created": {"gte": since}})
        for txn in page["data"]
    ]
    rows = {row["id"]: row for row in map(balance_transaction_row, listed)}
    for txn_id in sorted(wanted - set(rows)):
        try:
            rows[txn_id] = balance_transaction_row(_request(client, f"/v1/balance_transactions/{txn_id}", {}, counter))
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
        _fill_fees(conn, charge_ids, seq)
        changed = [
            dict(row._mapping)
            for row in conn.execute(sa.select(charges).where(charges.c.id.in_(charge_ids), charges.c.sync_seq == seq))
        ]
    return changed


def _backfill(
    client: stripe.StripeClient,
    engine: sa.Engine,
    lease: Lease,
    counter: _Counter,
    progress: Progress,
    note: str = "",
    checkpoint: dict | None = None,
) -> SyncReport:
    """List every charge, refund and dispute into the copy; from `checkpoint` when resuming one that stopped."""
    started = time.monotonic()
    if checkpoint is None:
        # The newest events before the backfill: the incremental sync resumes from the newest, so nothing changed
        # during the backfill is missed (events re-applied in order end at the newest state). The listed objects
        # are at least as new as these events, so they count as applied, and the rows' `event_created` says so.
        head = _list_page(client, "/v1/events", {"limit": PAGE_SIZE}, counter)["data"]
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
                rows = _store_charges(engine, page["data"], newest_created, state)
                charge_count += len(rows)
                _keep_orders_in_step(rows, engine, client)
                # Stripe lists have no total count: the bar creeps towards 80 % while the count says how far we are.
                progress(0.8 * pages_done / (pages_done + 4), f"Fetched {charge_count:,} charges…")
            elif path == "/v1/refunds":
                refund_count += _store_refunds(engine, page["data"], newest_created, state)
                progress(0.9, f"Fetched {charge_count:,} charges and {refund_count:,} refunds…")
            else:
                with engine.begin() as conn:
                    _write_state(conn, state)
                    next_change(conn)
                    disputes.store_disputes(conn, page["data"], newest_created)

    synced_at = time.time()
    lease.check()
    with engine.begin() as conn:
        _write_state(
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
    counter: _Counter,
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
        for page in _pages(client, path, counter, filters, after):
            if page["data"]:
                checkpoint = {**checkpoint, "list": path, "after": page["data"][-1]["id"]}
            yield page, checkpoint
        return

    yield from backfill_ranges.listing(
        lambda list_path, params: _request(client, list_path, params, counter),
        path,
        filters or {},
        checkpoint,
        max(workers, 1),
        lambda saved: _save_checkpoint(engine, lease, saved),
    )


def _save_checkpoint(engine: sa.Engine, lease: Lease, checkpoint: dict) -> None:
    lease.check()
    with engine.begin() as conn:
        _write_state(conn, {BACKFILL_CHECKPOINT: json.dumps(checkpoint)})


def _apply_events(
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
            _write_state(conn, {RECHECK + charge_id: seq for charge_id in undone})
        # A late event may carry an older copy than the one stored: `newer` keeps the newer one.
        upsert(conn, charges, list(charge_rows.values()), newer="event_created")
        _fill_fees(conn, list(charge_rows), seq)  # an event's copy keeps the fee already synced
        upsert(conn, charge_payloads, list(payload_rows.values()))
        upsert(conn, refunds, list(refund_rows.values()), newer="event_created")
        for obj, created in dispute_objects.values():
            disputes.store_disputes(conn, [obj], created)
        insert_missing(conn, applied_events, [{"id": event["id"], "created": int(event["created"])} for event in fresh])
        newest = max(events, key=lambda event: int(event["created"]))
        state = _read_state_in(conn)
        if move_cursor and int(newest["created"]) >= int(state.get(LAST_EVENT_CREATED) or 0):
            _write_state(conn, {LAST_EVENT_ID: newest["id"], LAST_EVENT_CREATED: int(newest["created"])})
    return list(charge_rows.values()), len(refund_rows), len(fresh), undone


# Columns of a stored charge that are the copy's own, not the object's state as Stripe sends it.
_COPY_COLUMNS = {"sync_seq", "event_created", "fee", "net"}


def _mark_ties(conn: sa.Connection, rows: list[dict], seq: int) -> None:
    """Mark for the next sync the charges whose stored copy is from the same second as the row about to replace it
    but differs from it: which of the two is newer cannot be told. Called after `next_change`, so no other write
    of the copy comes between this read and the row's write."""
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
    _write_state(conn, {RECHECK + charge_id: seq for charge_id in tied})


def _recheck_marked(client: stripe.StripeClient, engine: sa.Engine, counter: _Counter) -> list[dict]:
    """Fetch the charges `_mark_ties` marked and store them as Stripe has them now; returns the rows stored.

    A mark set again while its charge is fetched (another tie) is kept for the next sync.
    """
    with engine.connect() as conn:
        marked = dict(conn.execute(sa.select(sync_state.c.key, sync_state.c.value).where(_recheck_keys())).all())
        if not marked:
            return []
        ids = [key.removeprefix(RECHECK) for key in marked]
        stored_created = conn.execute(sa.select(sa.func.max(charges.c.event_created)).where(charges.c.id.in_(ids)))
        stamp = max(int(stored_created.scalar() or 0), int(_read_state_in(conn).get(LAST_EVENT_CREATED) or 0))
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
            txn_id = _object_id(field(item, "balance_transaction"))
            if txn_id and txn_id not in named:
                named[txn_id] = int(event["created"])
    return named


def _refetch_charges(
    client: stripe.StripeClient, engine: sa.Engine, charge_ids: Iterable[str], event_created: int, counter: _Counter
) -> list[dict]:
    """Fetch these charges as Stripe has them now and store them as one change (as new as `event_created`)."""
    fetched = [_request(client, f"/v1/charges/{charge_id}", {}, counter) for charge_id in sorted(charge_ids)]
    return _store_charges(engine, fetched, event_created) if fetched else []


def _read_state_in(conn: sa.Connection) -> dict[str, str]:
    return {key: value for key, value in conn.execute(sa.select(sync_state.c.key, sync_state.c.value))}


def _events_since(client: stripe.StripeClient, since: int | None, counter: _Counter) -> list[dict]:
    """Every event created at or after `since` (all events when None), oldest first.

    Stripe lists run newest first and a created window cannot be walked from its old end, so the pages are
    collected, then flipped.
    """
    filters = {"created": {"gte": since}} if since is not None else None
    every = [event for page in _pages(client, "/v1/events", counter, filters) for event in page["data"]]
    every.reverse()
    return every


def _cursor_created(client: stripe.StripeClient, state: Mapping[str, str], counter: _Counter) -> int | None:
    """`created` of the newest applied event; looked up once for a store whose cursor is only an event id.

    None when that event is no longer in Stripe (older than its 30 days of events): the copy needs a backfill.
    """
    if state.get(LAST_EVENT_CREATED):
        return int(state[LAST_EVENT_CREATED])
    event_id = state.get(LAST_EVENT_ID)
    if not event_id:
        return 0  # no event existed at backfill time: every event is new
    try:
        return int(_request(client, f"/v1/events/{event_id}", {}, counter)["created"])
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise


def _incremental(
    client: stripe.StripeClient,
    engine: sa.Engine,
    cursor_created: int,
    lease: Lease,
    counter: _Counter,
    progress: Progress,
) -> SyncReport | None:
    """Apply the events since the cursor (less the overlap); None when the cursor is too old for Stripe's events."""
    started = time.monotonic()
    since = cursor_created - EVENT_OVERLAP_S if cursor_created else None
    events = _events_since(client, since, counter)
    if cursor_created and events and int(events[-1]["created"]) - cursor_created > EVENT_RETENTION_S:
        return None
    charge_ids: set[str] = set()
    refund_total = events_applied = 0
    for start in range(0, len(events), PAGE_SIZE):
        lease.check()
        batch = events[start : start + PAGE_SIZE]
        rows, refund_count, fresh, _undone = _apply_events(engine, batch)  # marked: fetched below
        named = _named_transactions(batch)
        wanted = _missing_transactions(engine, named)
        if wanted:
            since = min(created for txn_id, created in named.items() if txn_id in wanted) - EVENT_OVERLAP_S
            rows += _sync_transactions(client, engine, wanted, since, counter)
        _keep_orders_in_step(rows, engine, client)
        charge_ids.update(row["id"] for row in rows)
        refund_total += refund_count
        events_applied += fresh
        progress(min(0.95, 0.1 + events_applied / (events_applied + 400)), f"Applied {events_applied:,} events…")
    lease.check()
    rechecked = _recheck_marked(client, engine, counter)
    _keep_orders_in_step(rechecked, engine, client)
    charge_ids.update(row["id"] for row in rechecked)
    synced_at = time.time()
    lease.check()
    with engine.begin() as conn:
        _write_state(conn, {LAST_SYNCED_AT: synced_at})
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


def _nothing_done(kind: str, counter: _Counter, started: float) -> SyncReport:
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

    counter = _Counter(get_settings().sync_requests_per_s)
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
        state = _read_state(engine)
        if state.get(BACKFILL_CHECKPOINT) and not full:
            checkpoint = json.loads(state[BACKFILL_CHECKPOINT])
            return _backfill(client, engine, lease, counter, progress, checkpoint=checkpoint)
        if full or not state.get(BACKFILLED):
            return _backfill(client, engine, lease, counter, progress)
        cursor_created = _cursor_created(client, state, counter)
        report = None
        if cursor_created is not None:
            report = _incremental(client, engine, cursor_created, lease, counter, progress)
        if report is None:
            note = "Backfilled: the last event applied is older than the 30 days of events Stripe keeps."
            return _backfill(client, engine, lease, counter, progress, note)
        return report


def apply_delivered_events(events: list[Any], *, engine: sa.Engine | None = None) -> int:
    """Apply events that arrived outside a sync (webhook deliveries), each id once; returns how many were new.

    The sync's own path and its table of applied event ids, so an event applied here is skipped by the next sync
    and the other way round. The sync's cursor stays put: events an endpoint missed are still read by the next
    sync. Orders follow the stored charge rows, not the events' copies, so a late event cannot undo a refund.
    """
    engine = engine or get_engine()
    # Charges a refund or dispute event changed without carrying them: the webhook handler fetches them itself.
    rows, _refund_count, fresh, _undone = _apply_events(engine, [plain(event) for event in events], move_cursor=False)
    if rows:
        with engine.connect() as conn:
            query = sa.select(charges).where(charges.c.id.in_([row["id"] for row in rows]))
            stored = [dict(row._mapping) for row in conn.execute(query)]
        _keep_orders_in_step(stored, engine)
    return fresh
