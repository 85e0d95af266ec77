"""Disputes: `/v1/disputes` (+ close) — opened by Stripe's dispute test cards, answered with evidence.

docs.stripe.com/testing#disputes: a charge on 4000 0000 0000 0259 (fraudulent), 2685 (product not received) or
1976 (an inquiry) succeeds, then is disputed. Here the dispute opens in the same request, just after the charge is
captured (`charge.dispute.created`). A chargeback withdraws the amount and the $15.00 dispute fee
(stripe.com/pricing, "Disputes") in one balance transaction (type `adjustment`, reporting category `dispute`) with
`charge.dispute.funds_withdrawn`; an inquiry withdraws nothing and has status `warning_needs_response`.
`evidence_details.due_by` is 23:59:59 UTC seven days after the dispute opened.

Responding (docs.stripe.com/api/disputes/update): `evidence[...]` is saved, and with `submit` (default true) the
dispute goes `under_review` (`warning_under_review`). docs.stripe.com/testing#evidence: evidence text
`winning_evidence` wins the dispute (closed `won`, the amount and fee reinstated by a second transaction, reporting
category `dispute_reversal`, with `charge.dispute.funds_reinstated`), `losing_evidence` loses it (`lost`). Stripe
decides a few moments after the submission: here DECISION_DELAY_S later, on a timer of the running emulator (a
restart before it fires leaves the dispute under review). An inquiry won is `warning_closed`; one lost becomes a
chargeback (`needs_response`, funds withdrawn). `POST /v1/disputes/{id}/close` accepts the dispute: `lost`
(`warning_closed` for an inquiry). Every change sends `charge.dispute.updated`, the end `charge.dispute.closed`.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from stripe_emulator import cards
from stripe_emulator import params as p
from stripe_emulator.core import (
    EXPANDABLE,
    Clock,
    Context,
    changes,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
)
from stripe_emulator.core import retrieve as retrieve_object
from stripe_emulator.errors import invalid
from stripe_emulator.resources import balance_transactions as txns
from stripe_emulator.resources import files
from stripe_emulator.store import Store

DISPUTE_FEE = 1500  # US, in cents
RESPONSE_DAYS = 7
DECISION_DELAY_S = 1.0
WINNING, LOSING = "winning_evidence", "losing_evidence"

# docs.stripe.com/api/disputes/object#dispute_object-evidence: text fields and file fields (file ids)
TEXT_EVIDENCE = (
    "access_activity_log", "billing_address", "cancellation_policy_disclosure", "cancellation_rebuttal",
    "customer_email_address", "customer_name", "customer_purchase_ip", "duplicate_charge_explanation",
    "duplicate_charge_id", "product_description", "refund_policy_disclosure", "refund_refusal_explanation",
    "service_date", "shipping_address", "shipping_carrier", "shipping_date", "shipping_tracking_number",
    "uncategorized_text",
)  # fmt: skip
FILE_EVIDENCE = (
    "cancellation_policy", "customer_communication", "customer_signature", "duplicate_charge_documentation",
    "receipt", "refund_policy", "service_documentation", "shipping_documentation", "uncategorized_file",
)  # fmt: skip
EVIDENCE = {name: (p.string(20000), False) for name in TEXT_EVIDENCE} | {
    name: (p.string(), False) for name in FILE_EVIDENCE
}
EXPANDABLE[("dispute", "charge")] = "charges"
EXPANDABLE[("dispute", "payment_intent")] = "payment_intents"
EXPANDABLE[("charge", "dispute")] = "disputes"
OPEN = ("needs_response", "warning_needs_response")
REVIEW = ("under_review", "warning_under_review")


def _card_fingerprint(charge: dict[str, Any]) -> str | None:
    card = (charge.get("payment_method_details") or {}).get("card") or charge.get("source") or {}
    return card.get("fingerprint")


def dispute_object(ctx: Context, charge: dict[str, Any], reason: str, inquiry: bool) -> dict[str, Any]:
    """The dispute object for `charge`, just opened (`inquiry`: a warning, no funds withdrawn)."""
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    due_by = txns.midnight(ctx.now) + (RESPONSE_DAYS + 1) * txns.DAY - 1
    return {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": charge["amount_captured"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": ctx.now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {name: None for name in (*TEXT_EVIDENCE, *FILE_EVIDENCE)} | {"enhanced_evidence": {}},
        "evidence_details": {
            "due_by": due_by,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            # Stripe's OpenAPI spec marks it required: not_submitted until evidence goes in (then manual)
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
        "payment_intent": charge.get("payment_intent"),
        "payment_method_details": {
            "card": {
                "brand": card.get("brand"),
                "case_type": "inquiry" if inquiry else "chargeback",
                "network": card.get("network") or card.get("brand") or "unknown",  # required in the OpenAPI spec
                "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
            },
            "type": "card",
        },
        "reason": reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
    }


def _withdraw(ctx: Context, dispute: dict[str, Any]) -> None:
    fee = txns.fee_detail(DISPUTE_FEE, dispute["currency"], "Dispute fee")
    txn = txns.transaction_object(
        ctx,
        type_="adjustment",
        amount=-dispute["amount"],
        currency=dispute["currency"],
        source=dispute["id"],
        fee_details=[fee],
        description=f"Chargeback withdrawal for {dispute['charge']}",
        reporting_category="dispute",
    )
    txns.record(ctx, txn)
    dispute["balance_transactions"].append(txn)  # available at once: the copy in the dispute stays true
    dispute["is_charge_refundable"] = False


def _reinstate(ctx: Context, dispute: dict[str, Any]) -> None:
    fee = txns.fee_detail(-DISPUTE_FEE, dispute["currency"], "Dispute fee refund")
    txn = txns.transaction_object(
        ctx,
        type_="adjustment",
        amount=dispute["amount"],
        currency=dispute["currency"],
        source=dispute["id"],
        fee_details=[fee],
        description=f"Chargeback reversal for {dispute['charge']}",
        reporting_category="dispute_reversal",
    )
    txns.record(ctx, txn)
    dispute["balance_transactions"].append(txn)


def open_if_disputed(ctx: Context, charge: dict[str, Any]) -> None:
    """Open the dispute a dispute test card brings on a charge just captured (stored and its events sent)."""
    found = cards.dispute_of(_card_fingerprint(charge))
    if found is None or not charge["captured"]:
        return
    reason, inquiry = found
    dispute = dispute_object(ctx, charge, reason, inquiry)
    if not inquiry:
        _withdraw(ctx, dispute)
    ctx.store.insert("disputes", dispute)
    charge.update(disputed=True, dispute=dispute["id"])
    ctx.store.update("charges", charge)
    ctx.emit("charge.dispute.created", dispute)
    if not inquiry:
        ctx.emit("charge.dispute.funds_withdrawn", dispute)


def is_charged_back(ctx: Context, charge: dict[str, Any]) -> bool:
    """Whether the charge has a chargeback (not an inquiry) that is not won: it can no longer be refunded."""
    dispute = ctx.store.get("disputes", charge["dispute"]) if charge.get("dispute") else None
    return dispute is not None and not dispute["is_charge_refundable"] and dispute["status"] != "won"


def _save(ctx: Context, dispute: dict[str, Any], before: dict[str, Any], keys: list[str]) -> None:
    ctx.store.update("disputes", dispute)
    previous = changes(before, dispute, keys)
    if previous:
        ctx.emit("charge.dispute.updated", dispute, previous)


def _decision(evidence: dict[str, Any]) -> bool | None:
    """True for winning evidence text, False for losing, None for neither (Stripe's test-mode rule)."""
    texts = [str(evidence.get(name) or "") for name in TEXT_EVIDENCE]
    if any(WINNING in text for text in texts):
        return True
    if any(LOSING in text for text in texts):
        return False
    return None


def update_dispute(ctx: Context, dispute_id: str) -> dict[str, Any]:
    """POST /v1/disputes/{id}: save evidence and metadata; submit (default true) sends it to the bank."""
    params = p.check(
        ctx.params,
        {
            "evidence": (p.hash_of(EVIDENCE), False),
            "metadata": (p.metadata, False),
            "submit": (p.boolean, False),
            "expand": (p.string_list, False),
        },
    )
    decision = None
    with ctx.store.transaction():
        dispute = get_object(ctx, "disputes", "dispute", dispute_id)
        before = copy.deepcopy(dispute)
        if "metadata" in params:
            dispute["metadata"] = merge_metadata(dispute["metadata"], params["metadata"])
        # `submit` defaults to true for an evidence update; a metadata-only update submits nothing.
        submit = params.get("submit", "evidence" in params)
        if ("evidence" in params or submit) and dispute["status"] not in OPEN:
            raise invalid(
                f"This dispute is {dispute['status']}: its evidence can no longer be changed or submitted.",
                param="evidence",
            )
        for name, value in (params.get("evidence") or {}).items():
            if value and name in FILE_EVIDENCE:  # the id of a dispute_evidence upload (POST /v1/files)
                files.check_evidence_file(ctx, value, f"evidence[{name}]")
            dispute["evidence"][name] = value or None
        details = dispute["evidence_details"]
        details["has_evidence"] = any(v for k, v in dispute["evidence"].items() if k != "enhanced_evidence")
        if submit:
            details["submission_count"] += 1
            details["submission_method"] = "manual"
            dispute["status"] = "under_review" if dispute["status"] == "needs_response" else "warning_under_review"
            decision = _decision(dispute["evidence"])
        _save(ctx, dispute, before, ["evidence", "evidence_details", "metadata", "status"])
    if decision is not None:
        timer = threading.Timer(DECISION_DELAY_S, decide, args=(ctx.store, ctx.clock, dispute_id, decision))
        timer.daemon = True
        timer.start()  # fires after this request's transaction has committed (it needs the store's lock)
    return expand(ctx, dispute, params.get("expand", []))


def decide(store: Store, clock: Clock, dispute_id: str, won: bool) -> dict[str, Any] | None:
    """The bank's decision on a dispute under review; None if it is not under review any more."""
    # No request made this change: Stripe sends such events with a null request id.
    ctx = Context(store=store, clock=clock, params={}, request_id=None, base_url="", now=clock.now())  # type: ignore[arg-type]
    with store.transaction():
        dispute = store.get("disputes", dispute_id)
        if dispute is None or dispute["status"] not in REVIEW:
            return None
        before = copy.deepcopy(dispute)
        inquiry = dispute["status"] == "warning_under_review"
        if inquiry and not won:  # the inquiry becomes a chargeback, to be answered again
            dispute["status"] = "needs_response"
            dispute["evidence_details"]["due_by"] = txns.midnight(ctx.now) + (RESPONSE_DAYS + 1) * txns.DAY - 1
            _withdraw(ctx, dispute)
            _save(ctx, dispute, before, ["status", "evidence_details", "balance_transactions", "is_charge_refundable"])
            ctx.emit("charge.dispute.funds_withdrawn", dispute)
            return dispute
        dispute["status"] = "warning_closed" if inquiry else ("won" if won else "lost")
        if won and not inquiry:
            _reinstate(ctx, dispute)
        _save(ctx, dispute, before, ["status", "balance_transactions"])
        if won and not inquiry:
            ctx.emit("charge.dispute.funds_reinstated", dispute)
        ctx.emit("charge.dispute.closed", dispute)
    return dispute


def close_dispute(ctx: Context, dispute_id: str) -> dict[str, Any]:
    """POST /v1/disputes/{id}/close: accept the dispute (lost; an inquiry is closed as warning_closed)."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    with ctx.store.transaction():
        dispute = get_object(ctx, "disputes", "dispute", dispute_id)
        if dispute["status"] not in OPEN:
            raise invalid(f"This dispute is already {dispute['status']} and cannot be closed.")
        before = copy.deepcopy(dispute)
        dispute["status"] = "lost" if dispute["status"] == "needs_response" else "warning_closed"
        ctx.store.update("disputes", dispute)
        ctx.emit("charge.dispute.closed", dispute, changes(before, dispute, ["status"]))
    return expand(ctx, dispute, params.get("expand", []))


def retrieve_dispute(ctx: Context, dispute_id: str) -> dict[str, Any]:
    """GET /v1/disputes/{id}."""
    return retrieve_object(ctx, "disputes", "dispute", dispute_id)


def list_disputes(ctx: Context) -> Any:
    """GET /v1/disputes: newest first; charge, payment_intent and created filters."""
    filters = {"charge": p.string(), "payment_intent": p.string()}
    return list_objects(ctx, "disputes", "dispute", "/v1/disputes", filters, ("charge", "payment_intent"))
