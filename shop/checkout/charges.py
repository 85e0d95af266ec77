"""Checkout on the Charges API (CHECKOUT_API=charges, the seed's flow): a Stripe.js token charged on the server.

Each click on Pay is one attempt of the order, with an idempotency key per attempt, so a double click, a rerun or a
concurrent request replays the first charge instead of making another. Amounts come from the order store (priced
from the catalog), never from the browser.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from shop import attempts, catalog, decline_codes, order_checks, orders
from shop.checkout.opening import configured_client, new_capture_method, open_checkout, order_terms
from shop.checkout.results import (
    NOT_CONFIGURED_MESSAGE,
    TOKEN_PROBLEM_MESSAGE,
    UNREACHABLE_MESSAGE,
    ChargeResult,
    PaymentError,
    ReconcileResult,
    paid_message,
    unanswered_message,
)
from shop.checkout.unwanted_charges import refund_unpaid_charge
from shop.config import longest_call_s
from shop.money import format_amount
from shop.order_rules import OrderStateError
from shop.orders import Order
from shop.stripe_io import TRANSIENT_ERRORS, client_or_default, error_details, field


def charge_params(order: Order, token: str, attempt: attempts.Attempt) -> dict[str, Any]:
    """The Charges API parameters for one attempt of `order`: its terms, the token, and the attempt's number."""
    terms = order_terms(order)
    params = {**terms, "source": token, "metadata": {**terms["metadata"], "attempt": str(attempt.id)}}
    if order.capture_method == "manual":
        # Authorize only; "Mark shipped" captures (docs.stripe.com/api/charges/create#create_charge-capture).
        params["capture"] = False
    return params


def _already_paid(order: Order, stripe_seconds: float = 0.0) -> ChargeResult:
    message = f"Order {order.id} is paid: {format_amount(order.amount, order.currency)} charged."
    return ChargeResult.of_order(order, "succeeded", order.charge_id, message, stripe_seconds=stripe_seconds)


def pay_order(
    order_id: str,
    token: str,
    nonce: str,
    *,
    card_brand: str | None = None,
    card_last4: str | None = None,
    client: stripe.StripeClient | None = None,
) -> ChargeResult:
    """Charge `order_id` with a Stripe.js card token, once per `nonce`.

    The same nonce maps to the same order attempt and so to the same idempotency key: a double click, a rerun or
    a concurrent request replays the first charge instead of creating another. An order that is already paid
    returns its existing charge. Raises PaymentError for an unknown order or one that can no longer be paid.
    """
    order = orders.get_order(order_id)
    if order is None:
        raise PaymentError(f"Order {order_id} does not exist; start a new checkout.")
    return _pay(order, token, nonce, card_brand, card_last4, client_or_default(client))


def _pay(
    order: Order,
    token: str,
    nonce: str,
    card_brand: str | None,
    card_last4: str | None,
    client: stripe.StripeClient,
) -> ChargeResult:
    """`pay_order` of `order` as just read or written (checkout has it in hand: no second read)."""
    order_id = order.id
    if order.paid_at and order.charge_id:
        return _already_paid(order)
    if order.last_error and any(a.order_id == order.id and a.outcome == "error" for a in attempts.unsettled_attempts()):
        # An earlier attempt's result is unknown (e.g. the network failed after Stripe charged): settle it from
        # Stripe first, so that paying again with a new card can never charge the customer twice.
        try:
            settle_open_attempts(client, order_id=order.id)
        except stripe.StripeError as exc:
            raise PaymentError(UNREACHABLE_MESSAGE) from exc
        order = orders.get_order(order.id) or order
        if order.paid_at and order.charge_id:
            return _already_paid(order)
    try:
        attempt = attempts.start_attempt(order_id, nonce, card_brand=card_brand, card_last4=card_last4)
    except OrderStateError as exc:
        current = orders.get_order(order_id)
        if current is not None and current.paid_at and current.charge_id:
            return _already_paid(current)
        raise PaymentError(str(exc)) from exc

    params = charge_params(order, token, attempt)
    started = time.perf_counter()
    try:
        charge = client.v1.charges.create(params=params, options={"idempotency_key": attempt.idempotency_key})
    except stripe.StripeError as exc:
        return _refused(order_id, attempt, exc, time.perf_counter() - started)
    stripe_seconds = time.perf_counter() - started
    return settle_from_charge(order_id, attempt, charge, client, "late_answer", stripe_seconds)


def _refused(order_id: str, attempt: attempts.Attempt, exc: stripe.StripeError, stripe_seconds: float) -> ChargeResult:
    """Record on its attempt a charge Stripe declined, refused or did not answer, and say so to the customer.

    A decline is the card's (the customer's message from shop.decline_codes). A lost answer or a server error may
    have charged: the attempt stays open ("error") for reconciliation. A refused token is the card form's to enter
    again; anything else (key, permission) is a configuration problem, not the customer's.
    """
    details = error_details(exc)
    if isinstance(exc, stripe.CardError):
        attempts.finish_attempt(
            attempt.id,
            "failed",
            charge_id=details["charge"],
            code=details["code"],
            decline_code=details["decline_code"],
            message=details["message"],
        )
        message = decline_codes.customer_message(details["code"], details["decline_code"])
        return _result(order_id, "declined", details["charge"], message, details, attempt, stripe_seconds)
    if isinstance(exc, TRANSIENT_ERRORS):
        outcome, code = "error", details["code"] or type(exc).__name__
        kept, message = details["message"] or "The payment processor could not be reached.", unanswered_message(exc)
    elif isinstance(exc, (stripe.InvalidRequestError, stripe.IdempotencyError)):
        outcome, code = "failed", details["code"] or "invalid_request_error"
        kept, message = details["message"], TOKEN_PROBLEM_MESSAGE
    else:
        outcome, code = "error", type(exc).__name__
        kept, message = details["message"], NOT_CONFIGURED_MESSAGE
    attempts.finish_attempt(attempt.id, outcome, code=code, message=kept)
    return _result(order_id, "error", None, message, details, attempt, stripe_seconds)


def settle_from_charge(
    order_id: str,
    attempt: attempts.Attempt,
    charge: Any,
    client: stripe.StripeClient,
    found_by: str,
    stripe_seconds: float = 0.0,
) -> ChargeResult:
    """Record a charge object on its attempt and say what happened.

    A success the order cannot take (it is paid with another charge, or cancelled) is refunded at once and kept
    for staff (`refund_second_charge`, found by `found_by`); the customer reads that it was given back.
    """
    status = field(charge, "status")
    charge_id = field(charge, "id")
    if status == "failed":
        outcome = field(charge, "outcome") or {}
        details = {
            "code": field(charge, "failure_code"),
            "decline_code": field(outcome, "reason"),
            "message": field(charge, "failure_message"),
        }
        attempts.finish_attempt(
            attempt.id,
            "failed",
            charge_id=charge_id,
            code=details["code"],
            decline_code=details["decline_code"],
            message=details["message"],
        )
        message = decline_codes.customer_message(details["code"], details["decline_code"])
        return _result(order_id, "declined", charge_id, message, details, attempt, stripe_seconds)
    amount, currency = int(field(charge, "amount", default=0)), str(field(charge, "currency", default=""))
    order = attempts.finish_attempt(
        attempt.id, "succeeded", charge_id=charge_id, amount=amount, currency=currency
    ).order
    if order.charge_id != charge_id or not order.paid_at:
        message = refund_unpaid_charge(order, charge_id, amount, currency, client, found_by)
        if message is not None:
            return _refused_charge_result(order, message, attempt, stripe_seconds)
        return _second_charge_result(order, charge_id, amount, attempt, stripe_seconds)
    message = paid_message(order)
    card = field(field(charge, "payment_method_details"), "card") or field(charge, "source")
    return ChargeResult.of_order(
        order,
        "succeeded",
        charge_id,
        message,
        card_brand=field(card, "brand"),
        card_last4=field(card, "last4"),
        attempt_id=attempt.id,
        stripe_seconds=stripe_seconds,
    )


def _second_charge_result(
    order: Order, charge_id: str, amount: int, attempt: attempts.Attempt, stripe_seconds: float
) -> ChargeResult:
    given_back = f"the second payment of {format_amount(amount, order.currency)} ({charge_id}) is being refunded"
    of_attempt = {"attempt_id": attempt.id, "stripe_seconds": stripe_seconds}
    if order.paid_at and order.charge_id:
        message = f"Order {order.id} was already paid (charge {order.charge_id}); {given_back} to your card."
        return ChargeResult.of_order(order, "succeeded", order.charge_id, message, **of_attempt)
    message = f"Order {order.id} is cancelled, so {given_back} to your card."
    return ChargeResult.of_order(order, "error", None, message, **of_attempt)


def _refused_charge_result(
    order: Order, message: str, attempt: attempts.Attempt, stripe_seconds: float
) -> ChargeResult:
    closed = orders.get_order(order.id) or order
    return ChargeResult.of_order(closed, "error", None, message, attempt_id=attempt.id, stripe_seconds=stripe_seconds)


def _result(
    order_id: str,
    outcome: str,
    charge_id: str | None,
    message: str,
    details: dict[str, Any],
    attempt: attempts.Attempt,
    stripe_seconds: float,
) -> ChargeResult:
    order = orders.get_order(order_id)
    assert order is not None
    return ChargeResult.of_order(
        order,
        outcome,
        charge_id,
        message,
        code=details.get("code"),
        decline_code=details.get("decline_code"),
        attempt_id=attempt.id,
        stripe_seconds=stripe_seconds,
    )


def find_attempt_charge(attempt: attempts.Attempt, client: stripe.StripeClient | None = None) -> Any | None:
    """The charge Stripe made for `attempt`, found by its metadata, or None if Stripe never made one.

    Lists charges created since shortly before the attempt (newest first) and matches metadata order_id and
    attempt; works alike on Stripe and the emulator (no search API needed).
    """
    client = client_or_default(client)
    since = int(attempt.created) - 300  # clocks of this machine and Stripe's may differ by minutes
    charges = client.v1.charges.list(params={"limit": 100, "created": {"gte": since}})
    for charge in charges.auto_paging_iter():
        metadata = field(charge, "metadata") or {}
        if field(metadata, "order_id") == attempt.order_id and field(metadata, "attempt") == str(attempt.id):
            return charge
    return None


def settle_open_attempts(
    client: stripe.StripeClient,
    *,
    order_id: str | None = None,
    min_age_s: float | None = None,
    now: float | None = None,
    by_intent: Callable[[attempts.Attempt], ReconcileResult | None] = lambda _attempt: None,
) -> list[ReconcileResult]:
    """Settle attempts left pending or in error (network failure, crash) from the charge Stripe made for each.

    An attempt whose charge exists in Stripe (found by metadata) is settled from that charge: paid or failed (a
    success for an order paid meanwhile with another charge is refunded, see `refund_unpaid_charge`). An attempt in
    "error" with no charge was never charged (its call has ended), so it is closed as failed and the customer may
    pay again. An attempt still "pending" may be in flight for as long as one SDK call can run
    (`shop.config.longest_call_s`, the default `min_age_s`): it is left alone until then, and only afterwards, its
    call over for certain, closed as not charged when Stripe has no charge for it. Never creates a charge, so
    nothing can be charged twice. `order_id` limits the work to one order. `by_intent` settles an attempt of a
    PaymentIntent order instead (its charges carry no attempt metadata) and returns None for any other attempt.
    """
    now = time.time() if now is None else now
    in_flight_s = longest_call_s() if min_age_s is None else min_age_s
    results: list[ReconcileResult] = []
    for attempt in attempts.unsettled_attempts():
        if order_id is not None and attempt.order_id != order_id:
            continue
        if order_checks.in_flight(attempt, now, in_flight_s):
            results.append(ReconcileResult(attempt.order_id, attempt.id, "still_pending", None))
            continue
        results.append(by_intent(attempt) or _settle_attempt(attempt, client))
    return results


def _settle_attempt(attempt: attempts.Attempt, client: stripe.StripeClient) -> ReconcileResult:
    """Settle one attempt whose call is over from its charge in Stripe, or close it as not charged."""
    charge = find_attempt_charge(attempt, client)
    if charge is not None:
        settled = settle_from_charge(attempt.order_id, attempt, charge, client, "reconcile")
        outcome = "succeeded" if settled.succeeded else "failed"
        return ReconcileResult(attempt.order_id, attempt.id, outcome, settled.charge_id)
    attempts.finish_attempt(
        attempt.id,
        "failed",
        code=attempts.NOT_CHARGED,
        message="Stripe has no charge for this attempt; the card was not charged.",
    )
    return ReconcileResult(attempt.order_id, attempt.id, "not_charged", None)


@dataclass(frozen=True)
class CheckoutOutcome:
    """The result of one click on Pay: field errors (nothing charged), or the order and its ChargeResult."""

    errors: dict[str, str]
    order_id: str | None = None
    result: ChargeResult | None = None
    message: str | None = None  # a refusal that is not about one field (e.g. a payment already in progress)
    duplicate_of: Order | None = None  # the same email, book and amount paid minutes ago or being paid: ask


def _matches(order: Order, line: catalog.PricedLine, customer: orders.Customer) -> bool:
    return (order.book_id, order.quantity, order.customer) == (line.book.id, line.quantity, customer)


def checkout(
    details: Mapping[str, Any],
    book_id: str,
    quantity: int,
    payment: Mapping[str, Any],
    *,
    order_id: str | None = None,
    allow_duplicate: bool = False,
    client: stripe.StripeClient | None = None,
) -> CheckoutOutcome:
    """Validate the customer's details, write the order (pending) and charge it with the card token.

    `payment` is what the card component sent: token, brand, last4, nonce. `order_id` is the order of an earlier
    declined attempt in the same checkout: it is charged again when book, quantity and details are unchanged, so
    a later success marks that same order paid; otherwise a new order is written. The amount always comes from
    the catalog. A paid order of the same email, book and amount in the last 10 minutes, or one still being paid
    (another tab), is returned as `duplicate_of` (nothing written or charged) unless `allow_duplicate`.
    """
    opening = open_checkout(details, book_id, quantity)
    if opening.customer is None or opening.line is None:
        return CheckoutOutcome(errors=opening.errors, message=opening.message)
    customer, line = opening.customer, opening.line
    token, nonce = str(payment.get("token") or ""), str(payment.get("nonce") or "")
    if not token.startswith(("tok_", "card_", "src_")) or not nonce:
        return CheckoutOutcome(errors={}, message="The card form sent no usable card; enter your card again.")
    client = configured_client(client)
    if client is None:
        return CheckoutOutcome(errors={}, message=NOT_CONFIGURED_MESSAGE)
    if not allow_duplicate:
        duplicate = order_checks.possible_duplicate(customer.email, line, exclude=order_id)
        if duplicate is not None:
            return CheckoutOutcome(errors={}, duplicate_of=duplicate)
    order = orders.get_order(order_id) if order_id else None
    if order is None or order.status not in ("pending", "failed") or not _matches(order, line, customer):
        order = orders.create_order(customer, line, capture_method=new_capture_method())
    try:
        brand, last4 = str(payment.get("brand") or "") or None, str(payment.get("last4") or "")[-4:] or None
        result = _pay(order, token, nonce, brand, last4, client)
    except PaymentError as exc:
        return CheckoutOutcome(errors={}, order_id=order.id, message=exc.message)
    return CheckoutOutcome(errors={}, order_id=order.id, result=result)
