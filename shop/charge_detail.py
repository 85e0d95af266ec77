"""One charge as finance reads it: money, card, Radar, customer, order, attempts, refunds, disputes, timeline.

`find` turns what staff type (a `ch_`/`pi_` id, an order number, an email) into charges; `load` assembles a
`ChargeDetail` from the local copy and the order store only (no Stripe call); `timeline` asks Stripe's events once
for the windows in which the charge changed (its creation and each refund), since the copy keeps objects, not
their history.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import stripe

from shop import attempts, orders, refund_requests
from shop.analytics import display_status, prepare_charges
from shop.attempts import Attempt
from shop.db import get_engine
from shop.refund_requests import RefundRequest
from shop.schema import balance_transactions, charge_payloads, charges, orders_table, refunds

# Events of a charge happen around its creation and each refund; each window is read in full (100 a page).
WINDOW_BEFORE_S = 60
WINDOW_AFTER_S = 3600
MAX_PAGES_PER_WINDOW = 5
CHOICES_LIMIT = 20


@dataclass(frozen=True)
class Found:
    """What a search found: the one charge, or several to choose from (newest first), or nothing (`message`)."""

    charge_id: str | None = None
    choices: list[dict] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class RefundLine:
    """A refund of the charge, with who asked for it and why (the audit log, when the shop made it)."""

    id: str
    created: int
    amount: int
    status: str | None
    reason: str | None
    fee: int | None
    net: int | None
    by: str = ""
    note: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    """One moment of the charge's history: when, what (an event type or a shop action) and a short detail."""

    at: int
    what: str
    detail: str = ""
    source: str = "stripe"  # stripe (an event) | shop (the audit log or the order store)
    # An event's webhook deliveries all made with success (its `pending_webhooks` is 0); None for the shop's own.
    delivered: bool | None = None
    # Among entries of the same second, the order they happened in (Stripe lists events newest first).
    sequence: int = 0


@dataclass(frozen=True)
class ChargeDetail:
    """Everything the charge detail page shows about one charge (money in minor units)."""

    id: str
    created: int
    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    status: str  # the display status (shop.analytics.STATUSES)
    fee: int | None
    net: int | None
    balance_transaction: str | None
    payment_intent: str | None
    card_brand: str | None
    card_last4: str | None
    card_checks: dict[str, str | None]  # cvc_check, address_line1_check, address_postal_code_check
    outcome: dict[str, str | None]  # type, risk_level, reason, seller_message, network_status
    failure_code: str | None
    failure_message: str | None
    customer_name: str
    email: str
    shipping: dict[str, str]
    order: orders.Order | None
    attempts: list[Attempt]
    refunds: list[RefundLine]
    refund_requests: list[RefundRequest]
    disputes: list[dict]
    audit: list[Any]
    disputed: bool
    raw: dict


def _engine(engine: sa.Engine | None) -> sa.Engine:
    return engine or get_engine()


def _choices(conn: sa.Connection, where: Any) -> list[dict]:
    query = (
        sa.select(
            charges.c.id, charges.c.created, charges.c.amount, charges.c.currency, charges.c.status, charges.c.order_id
        )
        .where(where)
        .order_by(charges.c.created.desc())
        .limit(CHOICES_LIMIT)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def find(query: str, *, engine: sa.Engine | None = None) -> Found:
    """The charge(s) that `query` names: a `ch_` id, a `pi_` id, an order number (SP-…) or a receipt email.

    An email or order with several charges gives the choices (newest first); nothing found gives a sentence.
    """
    text = (query or "").strip()
    if not text:
        return Found(message="Type a charge id (ch_…), a payment intent (pi_…), an order number or an email.")
    with _engine(engine).connect() as conn:
        if text.startswith("ch_"):
            exists = conn.execute(sa.select(charges.c.id).where(charges.c.id == text)).scalar()
            return Found(charge_id=exists) if exists else Found(message=f"No synced charge has the id {text}.")
        if text.startswith("pi_"):
            order_id = conn.execute(
                sa.select(orders_table.c.id).where(orders_table.c.payment_intent_id == text)
            ).scalar()
            found = _choices(conn, charges.c.order_id == order_id) if order_id else []
            if not found:
                found = _choices(conn, charges.c.id.in_(_charges_of_intent(conn, text)))
            return _one_or_choices(found, f"No synced charge belongs to the payment intent {text}.", conn)
        if "@" in text:
            found = _choices(conn, sa.func.lower(charges.c.receipt_email) == text.lower())
            return _one_or_choices(found, f"No synced charge has the receipt email {text}.", conn)
        order_id = text.upper()
        found = _choices(conn, charges.c.order_id == order_id)
        return _one_or_choices(found, f"Nothing matches “{text}”: no charge, intent, order or email.", conn)


def _charges_of_intent(conn: sa.Connection, intent_id: str) -> list[str]:
    """Charges whose stored JSON names the intent (a charge without an order of this shop)."""
    needle = f'%"payment_intent":"{intent_id}"%'
    return list(conn.execute(sa.select(charge_payloads.c.id).where(charge_payloads.c.raw.like(needle))).scalars())


def _one_or_choices(found: list[dict], nothing: str, conn: sa.Connection) -> Found:
    if not found:
        return Found(message=nothing)
    if len(found) == 1:
        return Found(charge_id=found[0]["id"])
    order_ids = {row["order_id"] for row in found}
    if len(order_ids) == 1 and None not in order_ids:  # one order's attempts: its paying charge
        paying = conn.execute(sa.select(orders_table.c.charge_id).where(orders_table.c.id == order_ids.pop())).scalar()
        if paying and any(row["id"] == paying for row in found):
            return Found(charge_id=paying, choices=found)
    return Found(choices=found)


def _optional(module: str) -> Any | None:
    """A shop module other work adds (shop.audit, shop.disputes), or None while it is not there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def audit_entries(charge_id: str, order_id: str | None) -> list[Any]:
    """The audit log's entries (shop.audit) of this charge and of its order, oldest first; [] without the log."""
    audit = _optional("shop.audit")
    if audit is None:
        return []
    entries = set(audit.entries(charge_id=charge_id))  # an entry naming both the charge and its order comes twice
    if order_id:
        entries.update(audit.entries(order_id=order_id))
    return sorted(entries, key=lambda entry: (entry.at, entry.action))


def disputes_of(charge_id: str) -> list[dict]:
    """The charge's disputes, newest first, from the local disputes table (`shop.disputes.list_disputes`), as
    summary rows (id, opened, amount, reason, status, respond by, net effect); [] while the shop has no disputes
    module. Money in minor units."""
    disputes = _optional("shop.disputes")
    if disputes is None or not hasattr(disputes, "list_disputes"):
        return []
    return [
        {
            "id": d.id,
            "opened": d.created,
            "amount": d.amount,
            "reason": d.reason,
            "status": d.status,
            "respond_by": d.due_by,
            "net_amount": getattr(d, "net_amount", None),
        }
        for d in disputes.list_disputes(charge_id=charge_id)
    ]


def load(charge_id: str, *, engine: sa.Engine | None = None) -> ChargeDetail | None:
    """The charge `charge_id` as the local copy and the order store have it; None when it is not synced."""
    engine = _engine(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.select(charges).where(charges.c.id == charge_id)).mappings().first()
        if row is None:
            return None
        raw_text = conn.execute(sa.select(charge_payloads.c.raw).where(charge_payloads.c.id == charge_id)).scalar()
        txn = balance_transactions.alias("txn")
        refund_rows = conn.execute(
            sa.select(
                refunds.c.id,
                refunds.c.created,
                refunds.c.amount,
                refunds.c.status,
                refunds.c.reason,
                txn.c.fee,
                txn.c.net,
            )
            .select_from(refunds.outerjoin(txn, txn.c.id == refunds.c.balance_transaction))
            .where(refunds.c.charge_id == charge_id)
            .order_by(refunds.c.created)
        ).fetchall()
    raw = json.loads(raw_text) if raw_text else {}
    frame = prepare_charges(_frame_of(dict(row)))
    order = orders.get_order(row["order_id"], engine=engine) if row["order_id"] else None
    audit = audit_entries(charge_id, order.id if order else None)
    card = (raw.get("payment_method_details") or {}).get("card") or raw.get("source") or {}
    checks = card.get("checks") or card
    outcome = raw.get("outcome") or {}
    shipping = raw.get("shipping") or {}
    address = shipping.get("address") or {}
    return ChargeDetail(
        id=row["id"],
        created=row["created"],
        amount=row["amount"],
        amount_captured=row["amount_captured"],
        amount_refunded=row["amount_refunded"],
        currency=row["currency"],
        status=str(display_status(frame).iloc[0]),
        fee=row["fee"],
        net=row["net"],
        balance_transaction=row["balance_transaction"],
        payment_intent=raw.get("payment_intent") if isinstance(raw.get("payment_intent"), str) else None,
        card_brand=row["card_brand"],
        card_last4=row["card_last4"],
        card_checks={
            name: checks.get(name) for name in ("cvc_check", "address_line1_check", "address_postal_code_check")
        },
        outcome={
            name: outcome.get(name) for name in ("type", "risk_level", "reason", "seller_message", "network_status")
        },
        failure_code=row["failure_code"],
        failure_message=row["failure_message"],
        customer_name=row["customer_name"] or shipping.get("name") or "",
        email=row["receipt_email"] or "",
        shipping={"name": shipping.get("name") or "", **{k: v or "" for k, v in address.items()}},
        order=order,
        attempts=attempts.list_attempts(order.id, engine=engine) if order else [],
        refunds=[_refund_line(r, audit) for r in refund_rows],
        refund_requests=refund_requests.list_refund_requests(order_id=order.id, engine=engine) if order else [],
        disputes=disputes_of(charge_id),
        audit=audit,
        disputed=bool(row["disputed"]),
        raw=raw,
    )


def _frame_of(row: dict):
    import pandas as pd

    return pd.DataFrame([row])


def _refund_line(row: sa.Row, audit: list[Any]) -> RefundLine:
    entry = next((e for e in audit if e.refund_id == row.id), None)  # by the refund's id, never the detail's words
    return RefundLine(
        id=row.id,
        created=row.created,
        amount=row.amount,
        status=row.status,
        reason=row.reason,
        fee=row.fee,
        net=row.net,
        by=entry.actor if entry else "",
        note=entry.detail if entry else "",
    )


def _windows(detail: ChargeDetail) -> list[tuple[int, int]]:
    """Time windows holding the charge's events (its creation, each refund), merged where they overlap."""
    moments = [detail.created, *(refund.created for refund in detail.refunds)]
    windows = sorted((at - WINDOW_BEFORE_S, at + WINDOW_AFTER_S) for at in moments)
    merged: list[tuple[int, int]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _is_about(obj: dict, ids: set[str]) -> bool:
    return obj.get("id") in ids or obj.get("charge") in ids or obj.get("payment_intent") in ids


def timeline(detail: ChargeDetail, client: stripe.StripeClient) -> list[TimelineEntry]:
    """The charge's (and its intent's) Stripe events in the order they happened, with the shop's own actions (audit
    log), each event marked delivered once all its webhooks were.

    Reads `/v1/events` for the windows around the charge's creation and each refund (Stripe keeps 30 days of
    events, docs.stripe.com/api/events: older charges show the shop's actions only). Raises the SDK's errors.
    """
    ids = {detail.id, *(refund.id for refund in detail.refunds)}
    if detail.payment_intent:
        ids.add(detail.payment_intent)
    entries: dict[str, TimelineEntry] = {}
    listed = 0  # events come newest first: the later one is listed, the earlier it happened
    for start, end in _windows(detail):
        params: dict[str, Any] = {"limit": 100, "created": {"gte": start, "lte": end}}
        for _page in range(MAX_PAGES_PER_WINDOW):
            page = client.raw_request("get", "/v1/events", **params).data
            for event in page["data"]:
                obj = (event.get("data") or {}).get("object") or {}
                listed += 1
                if _is_about(obj, ids):
                    entries[event["id"]] = TimelineEntry(
                        int(event["created"]),
                        event["type"],
                        _event_detail(obj),
                        delivered=not event.get("pending_webhooks"),
                        sequence=-listed,
                    )
            if not page["has_more"] or not page["data"]:
                break
            params = {**params, "starting_after": page["data"][-1]["id"]}
    shop_entries = [TimelineEntry(int(e.at), f"{e.label} (by {e.actor})", e.detail, "shop") for e in detail.audit]
    everything = [*entries.values(), *shop_entries, *_order_moments(detail)]
    return sorted(everything, key=lambda entry: (entry.at, entry.sequence))


def _order_moments(detail: ChargeDetail) -> Iterable[TimelineEntry]:
    order = detail.order
    if order is None or detail.audit:  # the audit log already says when staff shipped or cancelled
        return []
    moments = [(order.shipped_at, "order shipped"), (order.cancelled_at, "order cancelled")]
    return [TimelineEntry(int(at), what, order.id, "shop") for at, what in moments if at]


def _event_detail(obj: dict) -> str:
    kind = obj.get("object")
    if kind == "refund":
        return f"refund {obj.get('id')} {obj.get('status') or ''}".strip()
    if kind == "dispute":
        return f"dispute {obj.get('status') or ''} ({obj.get('reason') or ''})"
    return str(obj.get("status") or "")
