"""Writing the local copy: its state (cursor, checkpoint, marks), the pages a sync lists, and fees from the stored
balance transactions.

Every write that changes rows takes the next number of the "changes" counter (`db.CHANGES`) in its own transaction and
tags the rows with it (`sync_seq`), so a reader following the copy's data version never skips a row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from shop.db import next_change, upsert
from shop.schema import balance_transactions, charge_payloads, charges, refunds, sync_state
from shop.sync_rows import charge_row, expanded_transactions, payload_row, refund_row

# Keys of sync_state.
LAST_EVENT_ID = "last_event_id"
LAST_EVENT_CREATED = "last_event_created"  # `created` of the newest event applied: the cursor
LAST_SYNCED_AT = "last_synced_at"
BACKFILLED = "backfilled"
# Where a backfill has got to (JSON: the head events it started from, the list and the id to list after), kept
# while it runs so a sync that dies midway is resumed by the next one, in any process, at the next page.
BACKFILL_CHECKPOINT = "backfill_checkpoint"


def read_state(engine: sa.Engine) -> dict[str, str]:
    """The copy's state (`sync_state`, key -> value), read in a connection of its own."""
    with engine.connect() as conn:
        return {key: value for key, value in conn.execute(sa.select(sync_state.c.key, sync_state.c.value))}


def write_state(conn: sa.Connection, values: Mapping[str, str]) -> None:
    """Set these keys of the copy's state inside `conn`'s transaction (values stored as text)."""
    upsert(conn, sync_state, [{"key": key, "value": str(value)} for key, value in values.items()])


def state_in(conn: sa.Connection) -> dict[str, str]:
    """The copy's state as `conn` sees it (inside its transaction)."""
    return {key: value for key, value in conn.execute(sa.select(sync_state.c.key, sync_state.c.value))}


def fill_fees(conn: sa.Connection, charge_ids: Iterable[str], seq: int) -> int:
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


def store_charges(
    engine: sa.Engine, page_charges: list[Any], event_created: int, state: Mapping[str, str] | None = None
) -> list[dict]:
    """Store one page of listed charges as one change (its number taken in the same transaction), and `state`
    (a backfill's checkpoint) with them."""
    with engine.begin() as conn:
        write_state(conn, state or {})
        seq = next_change(conn)
        rows = [{**charge_row(charge), "sync_seq": seq, "event_created": event_created} for charge in page_charges]
        upsert(conn, charges, rows, newer="event_created")
        upsert(conn, charge_payloads, [payload_row(charge) for charge in page_charges])
        upsert(conn, balance_transactions, expanded_transactions(page_charges))
        fill_fees(conn, [row["id"] for row in rows], seq)
    return rows


def store_refunds(
    engine: sa.Engine, page_refunds: list[Any], event_created: int, state: Mapping[str, str] | None = None
) -> int:
    """Store one page of listed refunds (those of a charge) and their balance transactions, and `state` with
    them; returns how many were stored."""
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
        write_state(conn, state or {})
        upsert(conn, refunds, rows, newer="event_created")
        upsert(conn, balance_transactions, expanded_transactions(page_refunds))
    return len(rows)


def missing_transactions(engine: sa.Engine, txn_ids: Iterable[str]) -> set[str]:
    """Those of these balance transaction ids not stored yet."""
    wanted = {txn_id for txn_id in txn_ids if txn_id}
    if not wanted:
        return set()
    with engine.connect() as conn:
        known = set(
            conn.execute(sa.select(balance_transactions.c.id).where(balance_transactions.c.id.in_(wanted))).scalars()
        )
    return wanted - known
