"""Disputes: the local copy of Stripe's disputes, answering one with evidence, accepting one, and its deadline.

The sync (a backfill of `GET /v1/disputes`) and the webhooks (`charge.dispute.*` events) both store disputes through
`store_disputes`, in the transaction that stores the rest of what they carry. Staff respond from the Disputes page:
`submit_evidence` sends the text evidence (pre-filled from the order by `evidence_for`) with `submit=true`
(docs.stripe.com/api/disputes/update), `accept` closes the dispute, which concedes it
(docs.stripe.com/api/disputes/close). Stripe's answer is stored at once; the bank's decision arrives later by
event (`charge.dispute.closed`, docs.stripe.com/disputes/how-disputes-work).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import stripe

from shop import audit, catalog
from shop.db import get_engine, next_change, upsert
from shop.orders import Order
from shop.schema import disputes as disputes_table
from shop.schema import orders_table
from shop.stripe_io import client_or_default, field, plain

# docs.stripe.com/api/disputes/object#dispute_object-status
OPEN_STATUSES = ("needs_response", "warning_needs_response")
REVIEW_STATUSES = ("under_review", "warning_under_review")
CLOSED_STATUSES = ("won", "lost", "warning_closed", "prevented")
STATUS_LABELS = {
    "needs_response": "needs response",
    "warning_needs_response": "inquiry: needs response",
    "under_review": "under review",
    "warning_under_review": "inquiry: under review",
    "warning_closed": "inquiry closed",
    "won": "won",
    "lost": "lost",
    "prevented": "prevented",
}
# The text evidence the response form offers (docs.stripe.com/api/disputes/update#update_dispute-evidence);
# Stripe limits all text evidence together to 150,000 characters.
EVIDENCE_FIELDS = (
    "customer_name",
    "customer_email_address",
    "shipping_address",
    "shipping_date",
    "product_description",
    "uncategorized_text",
)
EVIDENCE_LABELS = {
    "customer_name": "Customer name",
    "customer_email_address": "Customer email",
    "shipping_address": "Shipping address",
    "shipping_date": "Shipping date",
    "product_description": "Product description",
    "uncategorized_text": "Anything else for the bank",
}
MAX_EVIDENCE_CHARS = 150_000
# The evidence Stripe takes as files: the id of an upload with purpose dispute_evidence (docs.stripe.com/file-upload),
# a PDF, JPEG or PNG of at most 5 MB; all of a dispute's files together at most 4.5 MB
# (docs.stripe.com/disputes/responding).
FILE_EVIDENCE_FIELDS = ("receipt", "shipping_documentation", "customer_communication", "uncategorized_file")
FILE_EVIDENCE_LABELS = {
    "receipt": "Receipt",
    "shipping_documentation": "Proof of shipping",
    "customer_communication": "Messages with the customer",
    "uncategorized_file": "Any other document",
}
FILE_TYPES = ("pdf", "jpg", "jpeg", "png")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES_TOTAL_BYTES = 4_500_000
_SIGNATURES = (b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


class DisputeError(Exception):
    """Stripe refused or did not answer a dispute action; `message` says what happened and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Dispute:
    """One dispute as stored: amounts in minor units; `net_amount` and `fees` from its balance transactions."""

    id: str
    charge_id: str
    payment_intent_id: str | None
    created: int
    amount: int
    currency: str
    reason: str
    status: str
    due_by: int | None
    net_amount: int
    fees: int
    evidence: dict[str, str | None]

    @property
    def is_open(self) -> bool:
        """True while the dispute waits for the shop's response."""
        return self.status in OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        """True once decided (won, lost, inquiry closed)."""
        return self.status in CLOSED_STATUSES

    @property
    def net_effect(self) -> int:
        """What the dispute has done to the balance so far: withdrawn amount and fee, plus anything reinstated."""
        return self.net_amount - self.fees


def _id_of(value: Any) -> str | None:
    return field(value, "id") if isinstance(value, Mapping) else value


def dispute_row(dispute: Any) -> dict:
    """The `disputes` row of a Stripe dispute object (its balance transactions summed into net_amount and fees)."""
    data = plain(dispute)
    transactions = [txn for txn in data.get("balance_transactions") or [] if isinstance(txn, Mapping)]
    return {
        "id": data["id"],
        "charge_id": _id_of(data.get("charge")) or "",
        "payment_intent_id": _id_of(data.get("payment_intent")),
        "created": int(data.get("created") or 0),
        "amount": int(data.get("amount") or 0),
        "currency": data.get("currency") or "usd",
        "reason": data.get("reason") or "general",
        "status": data.get("status") or "needs_response",
        "due_by": field(data, "evidence_details", "due_by"),
        "net_amount": sum(int(txn.get("amount") or 0) for txn in transactions),
        "fees": sum(int(txn.get("fee") or 0) for txn in transactions),
        "raw": json.dumps(data, separators=(",", ":")),
    }


def store_disputes(conn: sa.Connection, objects: Iterable[Any], event_created: int) -> int:
    """Store Stripe dispute objects inside `conn`'s transaction, as new as `event_created`; returns how many.

    A copy older than the stored one (a late event) never replaces it (`upsert(..., newer="event_created")`).
    """
    rows: dict[str, dict] = {}
    for obj in objects:
        row = dispute_row(obj)
        rows[row["id"]] = {**row, "event_created": int(event_created)}  # later objects win: the newer state
    upsert(conn, disputes_table, list(rows.values()), newer="event_created")
    return len(rows)


def _from_row(row: sa.Row) -> Dispute:
    data = dict(row._mapping)
    raw = json.loads(data.pop("raw") or "{}")
    data.pop("event_created", None)
    evidence = {name: (raw.get("evidence") or {}).get(name) for name in EVIDENCE_FIELDS}
    return Dispute(**data, evidence=evidence)


def list_disputes(
    *, statuses: Sequence[str] | None = None, charge_id: str | None = None, engine: sa.Engine | None = None
) -> list[Dispute]:
    """Stored disputes, newest first; only those of `statuses` or of one charge when given."""
    query = sa.select(disputes_table).order_by(disputes_table.c.created.desc(), disputes_table.c.id)
    if statuses:
        query = query.where(disputes_table.c.status.in_(list(statuses)))
    if charge_id:
        query = query.where(disputes_table.c.charge_id == charge_id)
    with (engine or get_engine()).connect() as conn:
        return [_from_row(row) for row in conn.execute(query)]


def get_dispute(dispute_id: str, *, engine: sa.Engine | None = None) -> Dispute | None:
    """The stored dispute with this id, or None."""
    with (engine or get_engine()).connect() as conn:
        row = conn.execute(sa.select(disputes_table).where(disputes_table.c.id == dispute_id)).one_or_none()
    return _from_row(row) if row else None


def status_label(status: str) -> str:
    """A dispute status as people read it."""
    return STATUS_LABELS.get(status, status.replace("_", " "))


def reason_label(reason: str) -> str:
    """A dispute reason as people read it ("product_not_received" -> "product not received")."""
    return reason.replace("_", " ")


def time_left(due_by: int | None, now: float | None = None) -> tuple[str, bool]:
    """The response deadline as a countdown ("3 days 4 h left", "5 h left") and whether it has passed."""
    if due_by is None:
        return "–", False
    seconds = int(due_by - (time.time() if now is None else now))
    overdue = seconds < 0
    seconds = abs(seconds)
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        text = f"{days} day{'s' if days != 1 else ''} {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return (f"overdue by {text}" if overdue else f"{text} left"), overdue


def _address_lines(order: Order) -> str:
    customer = order.customer
    lines = [customer.name, customer.line1, customer.line2, f"{customer.city}, {customer.state} {customer.postal_code}"]
    return "\n".join([line for line in lines if line.strip()] + [customer.country])


# Evidence text that decides a test-mode dispute (docs.stripe.com/testing#evidence): Stripe reads it anywhere in the
# text evidence. Only staff may write it; customer-typed text that holds it is never pre-filled.
TEST_MODE_VERDICTS = ("winning_evidence", "losing_evidence")


def _from_customer(text: str) -> str:
    """Customer-typed text for the form, or "" when it holds a test-mode verdict (a customer deciding a dispute)."""
    folded = text.lower()
    return "" if any(verdict in folded for verdict in TEST_MODE_VERDICTS) else text


def evidence_for(order: Order | None, dispute: Dispute | None = None) -> dict[str, str]:
    """The response form's starting text: what the dispute already holds, else the order's customer and shipping.

    A field of the customer's own text (name, email, address) that holds a test-mode verdict (`TEST_MODE_VERDICTS`)
    starts empty: what the customer typed must never answer a dispute for the shop.
    """
    filled = {name: "" for name in EVIDENCE_FIELDS}
    if order is not None:
        book = catalog.get_book(order.book_id)
        filled.update(
            customer_name=_from_customer(order.customer.name),
            customer_email_address=_from_customer(order.customer.email),
            shipping_address=_from_customer(_address_lines(order)),
            shipping_date=(
                datetime.fromtimestamp(order.shipped_at, UTC).strftime("%Y-%m-%d") if order.shipped_at else ""
            ),
            product_description=f"{book.title} (printed book) × {order.quantity}, order {order.id}",
        )
    if dispute is not None:
        filled.update({name: value for name, value in dispute.evidence.items() if value})
    return filled


def check_evidence(evidence: Mapping[str, str]) -> dict[str, str]:
    """The evidence to send: known fields only, trimmed, empty ones left out; raises DisputeError when unusable."""
    unknown = sorted(set(evidence) - set(EVIDENCE_FIELDS))
    if unknown:
        raise DisputeError(f"Unknown evidence field(s): {', '.join(unknown)}.")
    cleaned = {name: str(value).strip() for name, value in evidence.items() if str(value or "").strip()}
    if not cleaned:
        raise DisputeError("Write some evidence first: the bank decides on what you send.")
    if sum(len(value) for value in cleaned.values()) > MAX_EVIDENCE_CHARS:
        raise DisputeError(f"Stripe takes at most {MAX_EVIDENCE_CHARS:,} characters of text evidence in all.")
    return cleaned


@dataclass(frozen=True)
class EvidenceFile:
    """A document chosen for a file evidence field: its name as uploaded and its bytes."""

    name: str
    data: bytes


def check_evidence_files(files: Mapping[str, EvidenceFile | None]) -> dict[str, EvidenceFile]:
    """The files to upload (empty fields left out); raises DisputeError for an unknown field, a file that is not a
    PDF, JPEG or PNG, or sizes over Stripe's limits."""
    unknown = sorted(set(files) - set(FILE_EVIDENCE_FIELDS))
    if unknown:
        raise DisputeError(f"Unknown evidence file field(s): {', '.join(unknown)}.")
    chosen = {name: found for name, found in files.items() if found is not None}
    for name, found in chosen.items():
        label = FILE_EVIDENCE_LABELS[name]
        # The file's name stays out of the sentence: a name is anyone's text, and messages render markdown.
        if not found.data.startswith(_SIGNATURES):
            raise DisputeError(f"{label}: the file is not a PDF, JPEG or PNG; Stripe takes only those.")
        if len(found.data) > MAX_FILE_BYTES:
            raise DisputeError(f"{label}: the file is over 5 MB, the most Stripe takes for one file.")
    if sum(len(found.data) for found in chosen.values()) > MAX_FILES_TOTAL_BYTES:
        raise DisputeError("The files together are over 4.5 MB, the most Stripe takes for one dispute.")
    return chosen


def check_response(
    evidence: Mapping[str, str], files: Mapping[str, EvidenceFile | None]
) -> tuple[dict[str, str], dict[str, EvidenceFile]]:
    """The text and the files of a response, checked (`check_evidence`, `check_evidence_files`): documents alone are
    a response too; raises DisputeError."""
    chosen = check_evidence_files(files)
    has_text = any(str(value or "").strip() for value in evidence.values())
    return (check_evidence(evidence) if has_text or not chosen else {}), chosen


def upload_evidence_files(
    files: Mapping[str, EvidenceFile], *, client: stripe.StripeClient | None = None
) -> dict[str, str]:
    """Upload each file to Stripe's Files API (purpose dispute_evidence); returns field -> file id.

    Raises DisputeError when Stripe refuses a file or is out of reach (files uploaded before then stay unused)."""
    ids: dict[str, str] = {}
    for name, found in files.items():
        handle = io.BytesIO(found.data)
        handle.name = found.name  # the SDK sends it as the part's filename
        try:
            uploaded = client_or_default(client).v1.files.create(params={"file": handle, "purpose": "dispute_evidence"})
        except stripe.StripeError as exc:
            raise _refused(f"upload {found.name}", exc) from exc
        ids[name] = uploaded.id
    return ids


def _store_answer(dispute: Any, engine: sa.Engine | None) -> Dispute:
    """Store Stripe's answer now, as new as the copy it replaces: any event after it still wins (Stripe's clock, not
    this machine's, dates events, so the answer is never dated ahead of them)."""
    engine = engine or get_engine()
    data = plain(dispute)
    with engine.begin() as conn:
        next_change(conn)  # the change counter, so open pages rerun
        stored_at = conn.execute(
            sa.select(disputes_table.c.event_created).where(disputes_table.c.id == data["id"])
        ).scalar()
        store_disputes(conn, [data], max(int(stored_at or 0), int(data.get("created") or 0)))
    stored = get_dispute(data["id"], engine=engine)
    assert stored is not None
    return stored


def _refused(action: str, exc: stripe.StripeError) -> DisputeError:
    if isinstance(exc, stripe.InvalidRequestError):
        detail = exc.user_message or "the request was refused"
        return DisputeError(f"Stripe refused to {action}: {detail}")
    if isinstance(exc, stripe.APIConnectionError | stripe.APIError | stripe.RateLimitError):
        return DisputeError(f"We could not reach Stripe, so we could not {action}. Try again in a moment.")
    return DisputeError(f"Stripe did not let the shop {action} (check the API key's permissions).")


def submit_evidence(
    dispute_id: str,
    evidence: Mapping[str, str],
    *,
    submit: bool = True,
    files: Mapping[str, EvidenceFile | None] | None = None,
    actor: str = audit.SYSTEM,
    client: stripe.StripeClient | None = None,
    engine: sa.Engine | None = None,
) -> Dispute:
    """Send the text `evidence` and the `files` (field -> document, uploaded first through Stripe's Files API) for a
    dispute and (with `submit`) submit it to the bank; returns the dispute stored.

    Only while the dispute waits for a response. Raises DisputeError with a sentence when Stripe refuses or is out
    of reach (nothing is stored then; sending again sends the same evidence). `actor` goes into the audit log.
    """
    cleaned, chosen = check_response(evidence, files or {})
    stored = get_dispute(dispute_id, engine=engine)
    if stored is not None and not stored.is_open:
        raise DisputeError(f"Dispute {dispute_id} is {status_label(stored.status)}: it takes no more evidence.")
    file_ids = upload_evidence_files(chosen, client=client)
    try:
        answer = client_or_default(client).v1.disputes.update(
            dispute_id, params={"evidence": {**cleaned, **file_ids}, "submit": submit}
        )
    except stripe.StripeError as exc:
        raise _refused("submit the evidence", exc) from exc
    stored = _store_answer(answer, engine)
    fields_sent = ", ".join(
        [EVIDENCE_LABELS[name].lower() for name in cleaned]
        + [f"{FILE_EVIDENCE_LABELS[name].lower()} ({chosen[name].name}, {file_ids[name]})" for name in file_ids]
    )
    _audit(stored, actor, ("submitted evidence: " if submit else "saved evidence: ") + fields_sent, engine)
    return stored


def accept(
    dispute_id: str,
    *,
    actor: str = audit.SYSTEM,
    client: stripe.StripeClient | None = None,
    engine: sa.Engine | None = None,
) -> Dispute:
    """Accept (close) a dispute: the shop concedes it and the money stays with the customer; returns it stored.

    `actor` goes into the audit log.
    """
    stored = get_dispute(dispute_id, engine=engine)
    if stored is not None and not stored.is_open:
        raise DisputeError(f"Dispute {dispute_id} is {status_label(stored.status)}: it can no longer be accepted.")
    try:
        answer = client_or_default(client).v1.disputes.close(dispute_id)
    except stripe.StripeError as exc:
        raise _refused("accept the dispute", exc) from exc
    stored = _store_answer(answer, engine)
    _audit(stored, actor, "accepted the dispute (closed it)", engine)
    return stored


def _audit(dispute: Dispute, actor: str, detail: str, engine: sa.Engine | None) -> None:
    """One audit entry for a response to `dispute`, on its charge and the order that charge paid (if any)."""
    with (engine or get_engine()).connect() as conn:
        order_id = conn.execute(
            sa.select(orders_table.c.id).where(orders_table.c.charge_id == dispute.charge_id)
        ).scalar()
    audit.record(
        None,
        actor=actor,
        action="dispute_response",
        order_id=order_id,
        charge_id=dispute.charge_id,
        detail=f"{dispute.id}: {detail}",
        engine=engine,
    )


def refresh(dispute_id: str, *, client: stripe.StripeClient | None = None, engine: sa.Engine | None = None) -> Dispute:
    """Fetch one dispute from Stripe and store it (after a decision, say); raises DisputeError."""
    try:
        answer = client_or_default(client).v1.disputes.retrieve(dispute_id)
    except stripe.StripeError as exc:
        raise _refused("fetch the dispute", exc) from exc
    return _store_answer(answer, engine)
