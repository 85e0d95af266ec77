"""Refunds: `/v1/refunds` — never more than was captured; an uncaptured charge is released whole.

A refund of a charge on the test card 4000 0000 0000 5126 fails asynchronously (docs.stripe.com/testing#refunds):
it is created succeeded, and REFUND_FAILURE_DELAY_S later turns failed — the money goes back to the charge
(`amount_refunded` down again, docs.stripe.com/refunds#failed-refunds) and `charge.refund.updated` is sent. The
turn is a timer of the running emulator: a restart before it fires leaves the refund succeeded.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from stripe_emulator import cards, money
from stripe_emulator import params as p
from stripe_emulator.core import (
    Clock,
    Context,
    changes,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
    retrieve,
)
from stripe_emulator.errors import invalid
from stripe_emulator.resources import balance_transactions, disputes
from stripe_emulator.store import Store

REFUND_FAILURE_DELAY_S = 1.0  # "some time afterward": long enough for a client to see the refund succeeded first


def refund_object(
    ctx: Context,
    charge: dict[str, Any],
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
    balance_transaction: str | None,
) -> dict[str, Any]:
    """The refund object for `amount` of `charge` (a release of an authorization has no balance transaction)."""
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge["id"],
        "created": ctx.now,
        "currency": charge["currency"],
        "destination_details": {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def create_refund(ctx: Context) -> dict[str, Any]:
    """POST /v1/refunds: refund what was captured (never more), or release an uncaptured charge."""
    params = p.check(
        ctx.params,
        {
            "charge": (p.string(), False),
            "payment_intent": (p.string(), False),
            "amount": (p.integer(minimum=1), False),
            "reason": (p.enum("duplicate", "fraudulent", "requested_by_customer"), False),
            "metadata": (p.metadata, False),
            "instructions_email": (p.email, False),
            "expand": (p.string_list, False),
        },
    )
    if not params.get("charge") and not params.get("payment_intent"):
        raise invalid("One of the following params should be provided for this request: charge or payment_intent.")
    with ctx.store.transaction():
        if params.get("charge"):
            charge = get_object(ctx, "charges", "charge", params["charge"], "charge")
        else:
            charge = _charge_of_intent(ctx, params["payment_intent"])
        refund = refund_charge(
            ctx, charge, params.get("amount"), params.get("reason"), merge_metadata({}, params.get("metadata") or {})
        )
    return expand(ctx, refund, params.get("expand", []))


def _charge_of_intent(ctx: Context, payment_intent_id: str) -> dict[str, Any]:
    intent = get_object(ctx, "payment_intents", "payment_intent", payment_intent_id, "payment_intent")
    charge = ctx.store.get("charges", intent["latest_charge"]) if intent.get("latest_charge") else None
    if charge is None or charge["status"] != "succeeded":
        raise invalid(
            f"This PaymentIntent ({payment_intent_id}) does not have a successful charge to refund.",
            param="payment_intent",
            code="charge_not_refundable",
        )
    return charge


def refund_charge(
    ctx: Context, charge: dict[str, Any], amount: int | None, reason: str | None, metadata: dict[str, str]
) -> dict[str, Any]:
    """Refund `amount` (default: what remains) of `charge` in place; store both, emit the events, return the refund."""
    charge_id = charge["id"]
    if charge["status"] == "failed":
        raise invalid(
            f"Charge {charge_id} has failed; there is nothing to refund.",
            param="charge",
            code="charge_not_refundable",
        )
    if charge["refunded"]:
        raise invalid(f"Charge {charge_id} has already been refunded.", code="charge_already_refunded", param="charge")
    if disputes.is_charged_back(ctx, charge):
        # docs.stripe.com/disputes/how-disputes-work: a disputed payment can no longer be refunded.
        raise invalid(f"Charge {charge_id} has been charged back; cannot issue a refund.", code="charge_disputed")
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = remaining if amount is None else amount
    if not charge["captured"] and amount != charge["amount"]:
        raise invalid(
            "You cannot partially refund an uncaptured charge. Instead, capture the charge for an amount "
            "less than the original amount",
            param="amount",
        )
    if amount > remaining:
        raise invalid(
            f"Refund amount ({money.display(amount, charge['currency'])}) is greater than unrefunded amount "
            f"on charge ({money.display(remaining, charge['currency'])})",
            param="amount",
            code="amount_too_large",
        )
    refund = refund_object(ctx, charge, amount, reason, metadata, balance_transaction=None)
    if charge["captured"]:
        refund["balance_transaction"] = balance_transactions.for_refund(ctx, refund)
    before = copy.deepcopy(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    if reason == "fraudulent":
        charge["fraud_details"] = {**charge["fraud_details"], "user_report": "fraudulent"}
    ctx.store.insert("refunds", refund)
    ctx.store.update("charges", charge)
    ctx.emit("refund.created", refund)
    ctx.emit("charge.refunded", charge, changes(before, charge, ["amount_refunded", "refunded", "fraud_details"]))
    if cards.refund_fails(_card_fingerprint(charge)):
        timer = threading.Timer(REFUND_FAILURE_DELAY_S, fail_refund, args=(ctx.store, ctx.clock, refund["id"]))
        timer.daemon = True
        timer.start()  # fires after this request's transaction has committed (it needs the store's lock)
    return refund


def _card_fingerprint(charge: dict[str, Any]) -> str | None:
    card = (charge.get("payment_method_details") or {}).get("card") or charge.get("source") or {}
    return card.get("fingerprint")


def fail_refund(store: Store, clock: Clock, refund_id: str) -> dict[str, Any] | None:
    """Turn a succeeded refund failed, as a card that cannot take it back makes Stripe do; None if it is gone.

    The amount goes back to the charge (`amount_refunded`, `refunded`) and `charge.refund.updated` (with
    `refund.updated` and `refund.failed`) carries the refund with its previous status.
    """
    # No request made this change: Stripe sends such events with a null request id.
    ctx = Context(store=store, clock=clock, params={}, request_id=None, base_url="", now=clock.now())  # type: ignore[arg-type]
    with store.transaction():
        refund = store.get("refunds", refund_id)
        charge = store.get("charges", refund["charge"]) if refund else None
        if refund is None or charge is None or refund["status"] != "succeeded":
            return None
        before = copy.deepcopy(refund)
        refund.update(
            status="failed",
            failure_reason="expired_or_canceled_card",
            failure_balance_transaction=(
                balance_transactions.for_refund_failure(ctx, refund) if refund["balance_transaction"] else None
            ),
        )
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
        store.update("refunds", refund)
        store.update("charges", charge)
        previous = changes(before, refund, ["status", "failure_reason", "failure_balance_transaction"])
        ctx.emit("charge.refund.updated", refund, previous)
        ctx.emit("refund.updated", refund, previous)
        ctx.emit("refund.failed", refund)
    return refund


def retrieve_refund(ctx: Context, refund_id: str) -> dict[str, Any]:
    """GET /v1/refunds/{id}."""
    return retrieve(ctx, "refunds", "refund", refund_id)


def update_refund(ctx: Context, refund_id: str) -> dict[str, Any]:
    """POST /v1/refunds/{id}: metadata."""
    params = p.check(ctx.params, {"metadata": (p.metadata, False), "expand": (p.string_list, False)})
    with ctx.store.transaction():
        refund = get_object(ctx, "refunds", "refund", refund_id)
        before = copy.deepcopy(refund)
        if "metadata" in params:
            refund["metadata"] = merge_metadata(refund["metadata"], params["metadata"])
        previous = changes(before, refund, ["metadata"])
        if previous:
            ctx.store.update("refunds", refund)
            ctx.emit("refund.updated", refund, previous)
            ctx.emit("charge.refund.updated", refund, previous)
    return expand(ctx, refund, params.get("expand", []))


def list_refunds(ctx: Context) -> dict[str, Any]:
    """GET /v1/refunds: newest first, charge / payment_intent / created filters."""
    filters = {"charge": p.string(), "payment_intent": p.string()}
    return list_objects(ctx, "refunds", "refund", "/v1/refunds", filters, ("charge", "payment_intent"))
