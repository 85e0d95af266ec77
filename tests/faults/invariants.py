"""The money invariants of the order store against Stripe's own state, read through the SDK.

`check_invariants` is the one judge of every fault test: it lists what Stripe holds (charges, their refunds, the
orders' PaymentIntents) and compares every order of the store with it. `settled=False` checks only what must hold
at every moment, even while a step is interrupted half way; `settled=True` (after the shop's own recovery) also
requires the store to say exactly what Stripe says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import stripe

from shop import attempts, orders, refund_requests


def _plain(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj or {})


def _id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


@dataclass
class Ledger:
    """What the store held before a step: every order, attempt and refund request must still be there after it."""

    order_ids: set[str] = field(default_factory=set)
    attempt_ids: set[int] = field(default_factory=set)
    request_ids: set[int] = field(default_factory=set)

    def note(self) -> Ledger:
        """Add everything the store holds now; returns self."""
        self.order_ids |= {order.id for order in orders.list_orders()}
        self.attempt_ids |= {attempt.id for attempt in attempts.list_attempts()}
        self.request_ids |= {request.id for request in refund_requests.list_refund_requests()}
        return self


@dataclass(frozen=True)
class StripeView:
    """Stripe's state as the invariants read it: the charges naming each order, with their refunds."""

    charges_by_order: dict[str, list[dict]]
    refunds_by_charge: dict[str, list[dict]]
    intents_by_order: dict[str, list[dict]]

    @classmethod
    def read(cls, client: stripe.StripeClient) -> StripeView:
        """List every charge, refund and PaymentIntent of the account (a test account: small)."""
        charges_by_order: dict[str, list[dict]] = defaultdict(list)
        for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter():
            data = _plain(charge)
            order_id = (data.get("metadata") or {}).get("order_id")
            if order_id:
                charges_by_order[order_id].append(data)
        refunds_by_charge: dict[str, list[dict]] = defaultdict(list)
        for refund in client.v1.refunds.list(params={"limit": 100}).auto_paging_iter():
            data = _plain(refund)
            refunds_by_charge[_id(data.get("charge"))].append(data)
        intents_by_order: dict[str, list[dict]] = defaultdict(list)
        for intent in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
            data = _plain(intent)
            order_id = (data.get("metadata") or {}).get("order_id")
            if order_id:
                intents_by_order[order_id].append(data)
        return cls(dict(charges_by_order), dict(refunds_by_charge), dict(intents_by_order))


def _holds_money(charge: dict) -> bool:
    """A succeeded charge not refunded in full: money taken from the customer (authorized or captured)."""
    if charge["status"] != "succeeded":
        return False
    held = charge["amount_captured"] if charge.get("captured") else charge["amount"]
    return charge["amount_refunded"] < held


def check_invariants(client: stripe.StripeClient, *, settled: bool = True, ledger: Ledger | None = None) -> None:
    """Assert the money invariants of every order in the store against Stripe; messages name the order.

    Always: at most one succeeded, unrefunded charge per order; refunded <= captured on every charge and order,
    and a charge's refunds add up to its `amount_refunded`; an order the store calls paid has that succeeded
    charge in Stripe, and never more refunded than Stripe has; every charge or intent naming an order, and every
    order, attempt and refund request of `ledger`, is still in the store. With `settled`: each order's state equals
    Stripe's (paid exactly when Stripe has its succeeded charge, refunded amount equal, intent status matching,
    a cancelled order refunded in full) and no cancellation or approval is left half way.
    """
    view = StripeView.read(client)
    problems: list[str] = []
    store = {order.id: order for order in orders.list_orders()}
    stored_attempts = {attempt.id: attempt for attempt in attempts.list_attempts()}
    requests = refund_requests.list_refund_requests()

    for order_id in sorted(set(view.charges_by_order) | set(view.intents_by_order)):
        if order_id not in store:
            problems.append(f"order {order_id}: Stripe has its charge or intent, the store has no such order")
    if ledger is not None:
        problems += [f"order {oid}: written before the step, gone after it" for oid in ledger.order_ids - set(store)]
        problems += [
            f"attempt {aid}: written before the step, gone after it"
            for aid in ledger.attempt_ids - stored_attempts.keys()
        ]
        gone = ledger.request_ids - {request.id for request in requests}
        problems += [f"refund request {rid}: written before the step, gone after it" for rid in sorted(gone)]

    for charges in view.charges_by_order.values():
        for charge in charges:
            attempt = (charge.get("metadata") or {}).get("attempt")
            if attempt and int(attempt) not in stored_attempts:
                problems.append(
                    f"order {charge['metadata']['order_id']}: charge {charge['id']} names attempt "
                    f"{attempt}, which the store lost"
                )
            captured = charge["amount_captured"] if charge.get("captured") else charge["amount"]
            if charge["amount_refunded"] > captured:
                problems.append(f"charge {charge['id']}: refunded {charge['amount_refunded']} > captured {captured}")
            refunded = sum(
                r["amount"] for r in view.refunds_by_charge.get(charge["id"], []) if r["status"] == "succeeded"
            )
            if refunded != charge["amount_refunded"]:
                problems.append(
                    f"charge {charge['id']}: refunds add up to {refunded}, amount_refunded says "
                    f"{charge['amount_refunded']}"
                )

    for order in store.values():
        problems += _order_problems(order, view, settled)

    if settled:
        for request in requests:
            if request.status == "approving":
                problems.append(f"order {request.order_id}: refund request {request.id} left approving")
            if request.status == "approved":
                order = store.get(request.order_id)
                refund_ids = {r["id"] for r in view.refunds_by_charge.get(order.charge_id if order else None, [])}
                if request.refund_id not in refund_ids:
                    problems.append(
                        f"order {request.order_id}: approved request {request.id} names refund "
                        f"{request.refund_id}, which is not on the order's charge in Stripe"
                    )
    assert not problems, "money invariants broken:\n  " + "\n  ".join(problems)


def _order_problems(order: orders.Order, view: StripeView, settled: bool) -> list[str]:
    name = f"order {order.id} ({order.status})"
    problems: list[str] = []
    charges = view.charges_by_order.get(order.id, [])
    succeeded = [charge for charge in charges if charge["status"] == "succeeded"]
    holding = [charge["id"] for charge in charges if _holds_money(charge)]
    if len(holding) > 1:
        problems.append(f"{name}: {len(holding)} succeeded, unrefunded charges in Stripe: {holding}")
    if order.amount_refunded > order.amount:
        problems.append(f"{name}: refunded {order.amount_refunded} > amount {order.amount}")
    if order.shipped_at and not order.paid_at:
        problems.append(f"{name}: shipped but not paid")
    own = next((charge for charge in charges if charge["id"] == order.charge_id), None)
    if order.paid_at:
        if own is None or own["status"] != "succeeded":
            problems.append(f"{name}: paid with {order.charge_id}, but Stripe has no succeeded charge of it by that id")
        elif order.amount_refunded > own["amount_refunded"]:
            problems.append(f"{name}: refunded {order.amount_refunded}, Stripe only {own['amount_refunded']}")
    intents = view.intents_by_order.get(order.id, [])
    if len(intents) > 1:
        problems.append(f"{name}: {len(intents)} PaymentIntents in Stripe: {[i['id'] for i in intents]}")
    if not settled:
        return problems

    if bool(order.paid_at) != bool(succeeded):
        problems.append(
            f"{name}: paid={bool(order.paid_at)}, Stripe's succeeded charges {[c['id'] for c in succeeded]}"
        )
    if order.paid_at and own is not None and order.amount_refunded != own["amount_refunded"]:
        problems.append(f"{name}: refunded {order.amount_refunded}, Stripe's amount_refunded {own['amount_refunded']}")
    if order.payment_intent_id:
        intent = next((i for i in intents if i["id"] == order.payment_intent_id), None)
        if intent is None:
            problems.append(f"{name}: its PaymentIntent {order.payment_intent_id} is not in Stripe for this order")
        elif (intent["status"] == "succeeded") != bool(order.paid_at):
            problems.append(f"{name}: intent {intent['id']} is {intent['status']}, paid={bool(order.paid_at)}")
        elif order.paid_at and _id(intent.get("latest_charge")) != order.charge_id:
            problems.append(f"{name}: charge {order.charge_id}, intent's latest_charge {intent.get('latest_charge')}")
    if order.status == "cancelling":
        problems.append(f"{name}: a cancellation was left half way")
    if order.status == "cancelled" and own is not None and _holds_money(own):
        problems.append(f"{name}: cancelled, but Stripe still holds {own['amount'] - own['amount_refunded']}")
    return problems
