"""Authorizations that were never captured expire: Stripe releases an uncaptured charge 7 days after it was made.

docs.stripe.com/api/charges/capture: "Uncaptured payments expire a set number of days after they are created (7 by
default), after which they are marked as refunded and capture attempts will fail." The charge gets a refund with
reason `expired_uncaptured_charge` and a `charge.expired` event; a PaymentIntent waiting for its capture is
canceled with `cancellation_reason: automatic` (docs.stripe.com/api/payment_intents/object).

Expiry follows the emulator's clock: every API request first releases what is due by then (`expire_due`), found
through an indexed column of the charges table, so the check costs one index lookup.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import store
from stripe_emulator.core import Context
from stripe_emulator.resources.refunds import refund_charge

AUTHORIZATION_LIFETIME_S = 7 * 24 * 3600
EXPIRES_AT = "authorization_expires_at"
BATCH = 100


def expires_at(charge: dict[str, Any]) -> int | None:
    """When an authorized, uncaptured charge is released; None for any other charge."""
    held = charge.get("status") == "succeeded" and not charge.get("captured") and not charge.get("refunded")
    return int(charge["created"]) + AUTHORIZATION_LIFETIME_S if held else None


store.DERIVED.setdefault("charges", {})[EXPIRES_AT] = expires_at


def expire_due(ctx: Context) -> int:
    """Release every authorization due by the request's time; returns how many were released."""
    released = 0
    while due := ctx.store.select("charges", [(f"{EXPIRES_AT} <= ?", [ctx.now])], limit=BATCH, order_by=EXPIRES_AT):
        for charge in due:
            _expire(ctx, charge)
        released += len(due)
    return released


def _expire(ctx: Context, charge: dict[str, Any]) -> None:
    refund_charge(ctx, charge, None, "expired_uncaptured_charge", {})
    ctx.emit("charge.expired", charge)
    intent = ctx.store.get("payment_intents", charge["payment_intent"]) if charge.get("payment_intent") else None
    if intent is not None and intent["status"] == "requires_capture":
        intent.update(
            status="canceled",
            canceled_at=ctx.now,
            cancellation_reason="automatic",
            amount_capturable=0,
            next_action=None,
        )
        ctx.store.update("payment_intents", intent)
        ctx.emit("payment_intent.canceled", intent)
