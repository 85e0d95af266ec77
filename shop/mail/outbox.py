"""The outbox: each email a row, written in the transaction of the order change that causes it.

`enqueue` runs on the caller's connection, inside its transaction: if the change rolls back, so does the email;
if it commits, the email is there for a sender, whatever happens to the process afterwards. The row's `key`
(order and kind, plus what makes a repeat of the kind distinct, like a refund's new total) is unique, so the same
change applied twice (checkout, then the webhook, then the sync) queues one email.

Senders share the table through claims: `claim` marks a due row with the sender's id and an expiry in one
conditional UPDATE (only an unclaimed or expired row matches), so of several processes exactly one holds a
message at a time; a sender killed mid-send leaves a claim that expires, and another sends the message again with
the same `Message-ID` and bytes (`raw`, stored before the first send).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from shop.db import dialect_insert
from shop.mail.settings import get_mail_settings
from shop.schema import outbox

Kind = Literal[
    "confirmed",
    "shipped",
    "cancelled",
    "refunded",
    "refund_corrected",
    "request_received",
    "request_approved",
    "request_rejected",
    "debit_processing",
    "debit_failed",
]
KINDS: tuple[Kind, ...] = (
    "confirmed", "shipped", "cancelled", "refunded", "refund_corrected",
    "request_received", "request_approved", "request_rejected", "debit_processing", "debit_failed",
)  # fmt: skip
Status = Literal["queued", "sent", "failed"]
CLAIM_TTL_S = 120.0  # longer than a send may take (the SMTP timeout per step is 30 s)

_wake = threading.Event()  # set when a transaction that queued an email commits in this process


@dataclass(frozen=True)
class OutboxMessage:
    """One email of the outbox, as stored."""

    id: int
    key: str
    message_id: str
    order_id: str | None
    kind: str
    channel: str
    recipient: str
    facts: dict[str, Any]
    created: int
    status: Status
    attempts: int
    next_attempt_at: float
    claimed_by: str | None
    claim_expires: float | None
    raw: bytes | None
    sent_at: int | None
    last_error: str | None


def _message_from(row: sa.Row) -> OutboxMessage:
    data = dict(row._mapping)
    data["facts"] = json.loads(data["facts"] or "{}")
    return OutboxMessage(**data)


def new_message_id(key: str, domain: str) -> str:
    """A Message-ID for the email `key`: stable once stored, unique by a random part (RFC 5322 section 3.6.4)."""
    local = re.sub(r"[^A-Za-z0-9.-]", ".", key).strip(".")
    return f"<{local}.{secrets.token_hex(6)}@{domain}>"


def _domain() -> str:
    address = get_mail_settings().email_from
    return address.rpartition("@")[2].strip("<> ") or "stripe-press.example"


def enqueue(
    conn: sa.Connection,
    *,
    order_id: str | None,
    kind: Kind,
    recipient: str,
    facts: dict[str, Any] | None = None,
    key: str | None = None,
    created: int | None = None,
) -> bool:
    """Queue an email inside `conn`'s transaction; False when one with this key is queued already.

    `key` defaults to "<order>:<kind>". `facts` are what the email says that the order alone does not (a refund's
    amount and reason, the staff's note), as JSON. The sender in this process is woken once the transaction commits.
    """
    key = key or f"{order_id}:{kind}"
    statement = (
        dialect_insert(conn, outbox)
        .values(
            key=key,
            message_id=new_message_id(key, _domain()),
            order_id=order_id,
            kind=kind,
            channel="email",
            recipient=recipient.strip(),
            facts=json.dumps(facts or {}, sort_keys=True),
            created=int(time.time()) if created is None else created,
            status="queued",
            attempts=0,
            next_attempt_at=0.0,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(outbox.c.id)
    )
    added = conn.execute(statement).first() is not None
    if added and not sa.event.contains(conn, "commit", _on_commit):
        sa.event.listen(conn, "commit", _on_commit)
    return added


def has_message(conn: sa.Connection, key: str) -> bool:
    """Whether an email with this key was queued already (whatever became of it since)."""
    return conn.execute(sa.select(outbox.c.id).where(outbox.c.key == key)).first() is not None


def _on_commit(_conn: sa.Connection) -> None:
    _wake.set()


def wait_for_wake(timeout_s: float) -> bool:
    """Block until an email was queued in this process (True) or `timeout_s` passed (False); clears the signal."""
    woken = _wake.wait(timeout_s)
    _wake.clear()
    return woken


def wake() -> None:
    """Wake this process's sender now (a new message, or a test that wants a pass)."""
    _wake.set()


def claim(engine: sa.Engine, holder: str, *, limit: int = 50, now: float | None = None) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for `holder` (oldest first); each is held for CLAIM_TTL_S.

    A message is due when queued, its `next_attempt_at` has come, and no live claim holds it. The claim is one
    conditional UPDATE, so two senders racing for a row cannot both get it.
    """
    now = time.time() if now is None else now
    free = sa.or_(outbox.c.claim_expires.is_(None), outbox.c.claim_expires < now)
    due = sa.and_(outbox.c.status == "queued", outbox.c.next_attempt_at <= now, free)
    expires = now + CLAIM_TTL_S
    # PostgreSQL: rows another sender is claiming right now are skipped rather than waited for (SKIP LOCKED); a
    # row it claimed meanwhile no longer matches `due` when this UPDATE re-checks it. SQLite: one writer at a time.
    wanted = sa.select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit).with_for_update(skip_locked=True)
    with engine.begin() as conn:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(wanted.scalar_subquery()), due)
            .values(claimed_by=holder, claim_expires=expires)
        )
        rows = conn.execute(
            sa.select(outbox)
            .where(outbox.c.claimed_by == holder, outbox.c.claim_expires == expires, outbox.c.status == "queued")
            .order_by(outbox.c.id)
        )
        return [_message_from(row) for row in rows]


def _mine(message_id: int, holder: str) -> sa.ColumnElement[bool]:
    return sa.and_(outbox.c.id == message_id, outbox.c.claimed_by == holder, outbox.c.status == "queued")


def still_mine(engine: sa.Engine, message_id: int, holder: str) -> bool:
    """Whether `holder`'s claim on the message is still live (checked right before sending)."""
    with engine.connect() as conn:
        expires = conn.execute(sa.select(outbox.c.claim_expires).where(_mine(message_id, holder))).scalar()
    return expires is not None and expires > time.time()


def store_raw(engine: sa.Engine, holder: str, rendered: dict[int, bytes]) -> None:
    """Keep rendered messages (by id), so every delivery of each sends the same bytes (one transaction)."""
    if not rendered:
        return
    with engine.begin() as conn:
        for message_id, raw in rendered.items():
            conn.execute(sa.update(outbox).where(_mine(message_id, holder), outbox.c.raw.is_(None)).values(raw=raw))


def mark_sent(engine: sa.Engine, message_id: int, holder: str, *, sent_at: int | None = None) -> None:
    """The server accepted the message: it is sent, and no sender takes it again."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == message_id, outbox.c.status == "queued")
            .values(
                status="sent",
                sent_at=int(time.time()) if sent_at is None else sent_at,
                attempts=outbox.c.attempts + 1,
                claimed_by=None,
                claim_expires=None,
                last_error=None,
            )
        )


def retry_later(engine: sa.Engine, message_id: int, holder: str, error: str, delay_s: float) -> None:
    """A temporary failure: try again after `delay_s`, with `error` kept for staff meanwhile."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(outbox)
            .where(_mine(message_id, holder))
            .values(
                attempts=outbox.c.attempts + 1,
                next_attempt_at=time.time() + delay_s,
                claimed_by=None,
                claim_expires=None,
                last_error=error[:2000],
            )
        )


def give_up(engine: sa.Engine, message_id: int, holder: str, error: str) -> None:
    """A permanent failure (the server refused it with 5xx): the message is failed, `error` says what to fix."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(outbox)
            .where(_mine(message_id, holder))
            .values(
                status="failed",
                attempts=outbox.c.attempts + 1,
                claimed_by=None,
                claim_expires=None,
                last_error=error[:2000],
            )
        )


def next_due_at(engine: sa.Engine) -> float | None:
    """When the soonest queued message is due (Unix time), or None when nothing is queued."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.min(outbox.c.next_attempt_at)).where(outbox.c.status == "queued")
        ).scalar()


def messages(
    *, order_id: str | None = None, status: Status | None = None, limit: int | None = None, engine: sa.Engine
) -> list[OutboxMessage]:
    """Outbox rows, newest first; of one order, or of one status, when given."""
    query = sa.select(outbox).order_by(outbox.c.id.desc())
    if order_id:
        query = query.where(outbox.c.order_id == order_id)
    if status:
        query = query.where(outbox.c.status == status)
    if limit:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_message_from(row) for row in conn.execute(query)]


def problems(order_ids: list[str] | None = None, *, engine: sa.Engine) -> dict[str, list[OutboxMessage]]:
    """Emails staff should see, by order: failed ones, and queued ones that were refused at least once."""
    query = sa.select(outbox).where(
        sa.or_(outbox.c.status == "failed", sa.and_(outbox.c.status == "queued", outbox.c.last_error.is_not(None)))
    )
    if order_ids is not None:
        query = query.where(outbox.c.order_id.in_(order_ids))
    found: dict[str, list[OutboxMessage]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(outbox.c.id)):
            message = _message_from(row)
            found.setdefault(message.order_id or "", []).append(message)
    return found


def counts(*, engine: sa.Engine) -> dict[str, int]:
    """How many messages are queued, sent and failed."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all()
    return {"queued": 0, "sent": 0, "failed": 0} | {status: count for status, count in rows}
