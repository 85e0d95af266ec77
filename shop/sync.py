"""A local copy of Stripe's charges and refunds, so the ops pages never list Stripe on a rerun.

The first sync backfills: `charges.list` and `refunds.list`, 100 a page. Every later sync reads only what changed:
`/v1/events` with `ending_before` the newest event already applied, 100 a page, oldest first, so that a sync after
N changes costs ceil(N / 100) requests (one when nothing changed). The newest event id is taken *before* the
backfill, so a change made while the backfill runs is applied by the next incremental sync.

Orders stay in step: when a synced charge carries `metadata.order_id` and its refunded total differs from the
order's, `orders.record_refund` is called.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import stripe

from shop import orders
from shop.db import get_engine, upsert
from shop.schema import charge_payloads, charges, refunds, sync_state

PAGE_SIZE = 100
DEFAULT_MAX_AGE_S = 60

# Keys of sync_state.
LAST_EVENT_ID = "last_event_id"
LAST_SYNCED_AT = "last_synced_at"
BACKFILLED = "backfilled"
DATA_VERSION = "data_version"  # sequence number of the last sync that stored something: readers cache by it

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SyncReport:
    """What one sync did: kind ("backfill" or "incremental"), API requests made, rows upserted, when."""

    kind: str
    requests: int
    charges_upserted: int
    refunds_upserted: int
    events_applied: int
    synced_at: float
    duration_s: float

    def summary(self) -> str:
        """One line for people: what changed and what it cost."""
        return (
            f"{self.kind.capitalize()}: {self.charges_upserted:,} charges and {self.refunds_upserted:,} refunds "
            f"updated from {self.events_applied:,} events in {self.requests} Stripe requests "
            f"({self.duration_s:.1f} s)."
        )


def _get(obj: Any, *path: str) -> Any:
    """Walk nested Stripe objects or dicts; None when any step is missing."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj


def _plain(obj: Any) -> dict:
    """A Stripe object (or dict) as a plain JSON-able dict."""
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return json.loads(json.dumps(obj, default=str))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def charge_row(charge: Any) -> dict:
    """The `charges` row for a Stripe charge object (the columns the pages use; the JSON goes to payload_row)."""
    data = _plain(charge)
    card = _get(data, "payment_method_details", "card") or _get(data, "source") or {}
    metadata_ = data.get("metadata") or {}
    name = _get(data, "shipping", "name") or _get(data, "billing_details", "name") or _get(card, "name")
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
        "decline_code": _get(data, "outcome", "reason") if data.get("status") == "failed" else None,
        "outcome_type": _get(data, "outcome", "type"),
        "risk_level": _get(data, "outcome", "risk_level"),
        "card_brand": card.get("brand"),
        "card_last4": card.get("last4"),
        "receipt_email": data.get("receipt_email") or _get(data, "billing_details", "email"),
        "customer_name": name,
        "description": data.get("description"),
        "order_id": metadata_.get("order_id"),
        "book_id": metadata_.get("book_id"),
        "quantity": _int_or_none(metadata_.get("quantity")),
    }


def payload_row(charge: Any) -> dict:
    """The `charge_payloads` row: the charge's JSON as Stripe sent it."""
    data = _plain(charge)
    return {"id": data["id"], "raw": json.dumps(data, separators=(",", ":"))}


def refund_row(refund: Any) -> dict:
    """The `refunds` row for a Stripe refund object."""
    data = _plain(refund)
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
    """Sequence number of the last sync that stored something (0 before any); rows carry it as `sync_seq`."""
    engine = engine or get_engine()
    return int(_read_state(engine).get(DATA_VERSION) or 0)


def ensure_schema(engine: sa.Engine) -> None:
    """Kept for callers of earlier versions: `get_engine` migrates every store to the current schema on first use."""
    del engine


def needs_sync(max_age_s: float = DEFAULT_MAX_AGE_S, engine: sa.Engine | None = None) -> bool:
    """True when the local copy was never synced or is older than `max_age_s` seconds."""
    synced = last_synced_at(engine)
    return synced is None or time.time() - synced > max_age_s


def _keep_orders_in_step(rows: Iterable[dict], engine: sa.Engine) -> None:
    """Record refunds seen in Stripe on the shop's orders (status refunded / partially refunded)."""
    for row in rows:
        order_id = row.get("order_id")
        if not order_id or row["amount_refunded"] <= 0 or not row["captured"]:
            continue
        order = orders.get_order(order_id, engine=engine)
        if order is None or order.charge_id not in (None, row["id"]):
            continue
        if order.amount_refunded == row["amount_refunded"]:
            continue
        try:
            orders.record_refund(order_id, row["amount_refunded"], engine=engine)
        except (orders.OrderStateError, orders.OrderNotFoundError, ValueError):
            continue  # a charge whose amounts do not fit its order: the charge row still shows the truth


class _Counter:
    """Counts the list requests a sync makes (each page is one GET)."""

    def __init__(self) -> None:
        self.requests = 0


def _list_page(client: stripe.StripeClient, path: str, params: dict, counter: _Counter) -> dict:
    """One GET of a Stripe list as plain JSON: {"data": [...], "has_more": ...}.

    Through the SDK's `raw_request` (same auth, retries and typed errors) rather than `client.v1.<x>.list`:
    building StripeObjects for 100 charges costs ~0.3 s here, ten times the request itself, and the store
    wants plain dicts anyway.
    """
    counter.requests += 1
    return client.raw_request("get", path, **params).data


def _pages(client: stripe.StripeClient, path: str, counter: _Counter) -> Iterable[dict]:
    """Pages of a Stripe list, newest first, following `starting_after` as auto-paging does (100 a page).

    Paged by hand (the same requests auto-paging makes) so that each page is stored and reported as it arrives.
    """
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    while True:
        page = _list_page(client, path, params, counter)
        yield page
        if not page["has_more"] or not page["data"]:
            return
        params = {"limit": PAGE_SIZE, "starting_after": page["data"][-1]["id"]}


def _store_charges(engine: sa.Engine, page_charges: list[Any], seq: int) -> list[dict]:
    rows = [{**charge_row(charge), "sync_seq": seq} for charge in page_charges]
    with engine.begin() as conn:
        upsert(conn, charges, rows)
        upsert(conn, charge_payloads, [payload_row(charge) for charge in page_charges])
    return rows


def _store_refunds(engine: sa.Engine, page_refunds: list[Any]) -> int:
    rows = [row for row in (refund_row(refund) for refund in page_refunds) if row["charge_id"]]
    with engine.begin() as conn:
        upsert(conn, refunds, rows)
    return len(rows)


def _backfill(
    client: stripe.StripeClient, engine: sa.Engine, seq: int, counter: _Counter, progress: Progress
) -> SyncReport:
    started = time.monotonic()
    # The newest event before the backfill: the incremental sync resumes from it, so nothing changed during the
    # backfill is missed (events re-applied in order end at the newest state).
    head = _list_page(client, "/v1/events", {"limit": 1}, counter)
    newest_event_id = head["data"][0]["id"] if head["data"] else ""

    charge_count = refund_count = 0
    order_rows: list[dict] = []
    for pages_done, page in enumerate(_pages(client, "/v1/charges", counter), start=1):
        rows = _store_charges(engine, page["data"], seq)
        charge_count += len(rows)
        order_rows.extend(row for row in rows if row["order_id"] and row["amount_refunded"])
        # Stripe lists have no total count: the bar creeps towards 80 % while the count says how far we are.
        progress(0.8 * pages_done / (pages_done + 4), f"Fetched {charge_count:,} charges…")
    for page in _pages(client, "/v1/refunds", counter):
        refund_count += _store_refunds(engine, page["data"])
        progress(0.9, f"Fetched {charge_count:,} charges and {refund_count:,} refunds…")
    _keep_orders_in_step(order_rows, engine)

    synced_at = time.time()
    with engine.begin() as conn:
        _write_state(
            conn,
            {LAST_EVENT_ID: newest_event_id, LAST_SYNCED_AT: synced_at, BACKFILLED: "1", DATA_VERSION: seq},
        )
    progress(1.0, f"Backfill done: {charge_count:,} charges, {refund_count:,} refunds.")
    return SyncReport(
        "backfill", counter.requests, charge_count, refund_count, 0, synced_at, time.monotonic() - started
    )


def _apply_events(engine: sa.Engine, events: list[Any], seq: int) -> tuple[list[dict], int]:
    """Store the objects carried by `events` (oldest first); returns the charge rows and the refund count."""
    charge_rows: dict[str, dict] = {}
    payload_rows: dict[str, dict] = {}
    refund_rows: dict[str, dict] = {}
    for event in events:
        obj = _get(event, "data", "object")
        kind = _get(obj, "object")
        if kind == "charge":
            row = {**charge_row(obj), "sync_seq": seq}
            charge_rows[row["id"]] = row  # later events win: they carry the newer state
            payload_rows[row["id"]] = payload_row(obj)
            for refund in _get(obj, "refunds", "data") or []:
                refund_rows[_get(refund, "id")] = refund_row(refund)
        elif kind == "refund":
            row = refund_row(obj)
            if row["charge_id"]:
                refund_rows[row["id"]] = row
    with engine.begin() as conn:
        upsert(conn, charges, list(charge_rows.values()))
        upsert(conn, charge_payloads, list(payload_rows.values()))
        upsert(conn, refunds, list(refund_rows.values()))
    return list(charge_rows.values()), len(refund_rows)


def _new_events(client: stripe.StripeClient, last_event_id: str, counter: _Counter) -> Iterable[list[Any]]:
    """Batches of events newer than `last_event_id`, oldest first (one request per batch of up to 100)."""
    if not last_event_id:
        # No event existed at backfill time: every event is new. Lists run newest first, so collect, then flip.
        every = [event for page in _pages(client, "/v1/events", counter) for event in page["data"]]
        every.reverse()
        for start in range(0, len(every), PAGE_SIZE):
            yield every[start : start + PAGE_SIZE]
        return
    cursor = last_event_id
    while True:
        page = _list_page(client, "/v1/events", {"limit": PAGE_SIZE, "ending_before": cursor}, counter)
        batch = list(reversed(page["data"]))  # the page nearest the cursor, newest first: flip it
        if batch:
            yield batch
            cursor = batch[-1]["id"]
        if not page["has_more"] or not batch:
            return


def _incremental(
    client: stripe.StripeClient,
    engine: sa.Engine,
    last_event_id: str,
    seq: int,
    counter: _Counter,
    progress: Progress,
) -> SyncReport:
    started = time.monotonic()
    charge_ids: set[str] = set()
    refund_total = events_applied = 0
    for batch in _new_events(client, last_event_id, counter):
        rows, refund_count = _apply_events(engine, batch, seq)
        _keep_orders_in_step(rows, engine)
        charge_ids.update(row["id"] for row in rows)
        refund_total += refund_count
        events_applied += len(batch)
        with engine.begin() as conn:
            _write_state(conn, {LAST_EVENT_ID: batch[-1]["id"]})
        progress(min(0.95, 0.1 + events_applied / (events_applied + 400)), f"Applied {events_applied:,} events…")
    synced_at = time.time()
    with engine.begin() as conn:
        changed = {DATA_VERSION: seq} if events_applied else {}
        _write_state(conn, {LAST_SYNCED_AT: synced_at, **changed})
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


def sync(
    client: stripe.StripeClient | None = None,
    progress: Progress | None = None,
    *,
    engine: sa.Engine | None = None,
    full: bool = False,
) -> SyncReport:
    """Bring the local charges and refunds up to date with Stripe.

    The first run (or `full=True`) backfills through the lists; later runs apply new events only. If Stripe no
    longer has the last event seen (events are kept 30 days), the sync falls back to a backfill.
    Raises the SDK's errors (stripe.APIConnectionError, ...) for the caller to show.
    """
    if client is None:
        from shop.config import stripe_client

        client = stripe_client()
    engine = engine or get_engine()
    progress = progress or (lambda _fraction, _text: None)
    state = _read_state(engine)
    seq = int(state.get(DATA_VERSION) or 0) + 1
    counter = _Counter()
    if full or not state.get(BACKFILLED):
        return _backfill(client, engine, seq, counter, progress)
    try:
        return _incremental(client, engine, state.get(LAST_EVENT_ID, ""), seq, counter, progress)
    except stripe.InvalidRequestError:
        # The cursor event is gone (older than Stripe's 30 days of events): start over with a backfill.
        return _backfill(client, engine, seq, counter, progress)
