"""The rows of the local copy for Stripe objects: a charge, a refund, a balance transaction and a charge's JSON.

Plain functions of the object (a StripeObject or the dict Stripe sent), no database: the sync, the webhooks and
the tests build rows the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from shop import payment_methods
from shop.stripe_io import field, plain


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
    brand, last4 = payment_methods.brand_and_last4(data)
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
        # A card's brand and last 4, or a bank account's type and last 4 (see shop.payment_methods).
        "card_brand": brand,
        "card_last4": last4,
        "receipt_email": data.get("receipt_email") or field(data, "billing_details", "email"),
        "customer_name": name,
        "description": data.get("description"),
        "order_id": metadata_.get("order_id"),
        "book_id": metadata_.get("book_id"),
        "quantity": _int_or_none(metadata_.get("quantity")),
        "disputed": bool(data.get("disputed")),
        "balance_transaction": expandable_id(data.get("balance_transaction")),
        # Filled from `balance_transactions` by `shop.sync_store.fill_fees` in the transaction that stores the row.
        "fee": None,
        "net": None,
    }


def expandable_id(value: Any) -> str | None:
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
        "source": expandable_id(data.get("source")),
        "created": int(data.get("created") or 0),
        "available_on": _int_or_none(data.get("available_on")),
        "amount": int(data.get("amount") or 0),
        "fee": int(data.get("fee") or 0),
        "net": int(data.get("net") or 0),
        "currency": data.get("currency") or "usd",
        "status": data.get("status"),
        "reporting_category": data.get("reporting_category"),
    }


def expanded_transactions(objects: Iterable[Any]) -> list[dict]:
    """The balance transaction rows of objects listed with `expand[]=data.balance_transaction`."""
    return [
        balance_transaction_row(txn)
        for txn in (field(obj, "balance_transaction") for obj in objects)
        if isinstance(txn, Mapping)
    ]


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
        "balance_transaction": expandable_id(data.get("balance_transaction")),
    }
