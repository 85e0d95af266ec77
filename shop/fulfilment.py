"""The Stripe calls that move money: charge an order, reconcile, refund, capture, cancel.

Every call goes through one `stripe.StripeClient` (`shop.config.stripe_client`) and every POST that moves money
carries an idempotency key, so a retried request, a rerun or a second tab never charges or refunds twice.
Amounts always come from the order store (which priced the order from the catalog), never from the browser.
Errors are caught by type and turned into messages that say what happened and what to do next.
"""

from __future__ import annotations

import logging
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from shop import audit, catalog, decline_codes, order_checks, orders
from shop.config import ConfigError, get_settings, longest_call_s
from shop.money import format_amount
from shop.order_rules import (
    OrderStateError,
    may_approve_refund_request,
    may_be_paid_with,
    may_cancel,
    may_capture_for_shipment,
)
from shop.orders import Order
from shop.stripe_io import TRANSIENT_ERRORS, client_or_default, error_details, field
from shop.validation import validate_customer
from shop.words import code_words

log = logging.getLogger(__name__)
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")
# The metadata key a refund of the rest (cancel, approved request) carries its idempotency key under.
REFUND_KEY_METADATA = "idempotency_key"

UNREACHABLE_MESSAGE = (
    "We could not reach the payment processor. Your card was not charged twice; please try again in a moment."
)
UNEXPECTED_MESSAGE = (
    "The payment processor reported an unexpected error. Your card was not charged twice; please try again in a moment."
)
TOKEN_PROBLEM_MESSAGE = "This card entry can no longer be used. Please enter your card again and pay."
# Keys, permissions, settings: the operator's to fix (the details go to the log), never the customer's.
NOT_CONFIGURED_MESSAGE = "Payments are not configured correctly, so your card was not charged. Please try again later."


class PaymentError(Exception):
    """A money operation was refused; `message` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RefundError(PaymentError):
    """A refund (or the refund of a cancellation) was refused; `message` says what to fix."""


class CaptureError(PaymentError):
    """A capture was refused; `message` says what to fix."""


@dataclass(frozen=True)
class ChargeResult:
    """What happened to one payment attempt, with the message to show the customer.

    `stripe_seconds` is the time spent waiting on Stripe, so the shop's own overhead can be measured apart.
    """

    outcome: str  # "succeeded" | "declined" | "error"
    order: Order
    charge_id: str | None
    amount: int
    currency: str
    message: str
    code: str | None = None
    decline_code: str | None = None
    attempt_id: int | str | None = None
    stripe_seconds: float = 0.0
    # The card as Stripe reports it on the charge (never the browser's word); None when not known.
    card_brand: str | None = None
    card_last4: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when the order is paid."""
        return self.outcome == "succeeded"


@dataclass(frozen=True)
class ChargeAmounts:
    """The facts of one charge that decide what can still be refunded; money in minor units."""

    id: str
    status: str
    currency: str
    amount: int
    amount_captured: int
    amount_refunded: int
    captured: bool
    refunded: bool

    @classmethod
    def of(cls, charge: Any) -> ChargeAmounts:
        """From a Stripe Charge (or a dict of a Charge's fields); a missing `amount_captured` counts as all."""
        amount = int(field(charge, "amount", default=0))
        captured = bool(field(charge, "captured", default=True))
        amount_captured = field(charge, "amount_captured")
        return cls(
            id=str(field(charge, "id", default="")),
            status=str(field(charge, "status", default="")),
            currency=str(field(charge, "currency", default="usd")),
            amount=amount,
            amount_captured=amount if amount_captured is None else int(amount_captured),
            amount_refunded=int(field(charge, "amount_refunded", default=0)),
            captured=captured,
            refunded=bool(field(charge, "refunded", default=False)),
        )


def order_terms(order: Order) -> dict[str, Any]:
    """What Stripe is told of `order` in either checkout flow: amount (from the order, priced from the catalog,
    never the browser), currency, description, receipt email, shipping and metadata."""
    book = catalog.get_book(order.book_id)
    customer = order.customer
    address = {
        "line1": customer.line1,
        "city": customer.city,
        "state": customer.state,
        "postal_code": customer.postal_code,
        "country": customer.country,
    }
    if customer.line2:
        address["line2"] = customer.line2
    return {
        "amount": order.amount,
        "currency": order.currency,
        "description": f"{book.title} × {order.quantity}",
        "receipt_email": customer.email,
        "shipping": {"name": customer.name, "phone": customer.phone, "address": address},
        "metadata": {"order_id": order.id, "book_id": order.book_id, "quantity": str(order.quantity)},
    }


def charge_params(order: Order, token: str, attempt: orders.Attempt) -> dict[str, Any]:
    """The Charges API parameters for one attempt of `order`: its terms, the token, and the attempt's number."""
    terms = order_terms(order)
    params = {**terms, "source": token, "metadata": {**terms["metadata"], "attempt": str(attempt.id)}}
    if order.capture_method == "manual":
        # Authorize only; "Mark shipped" captures (docs.stripe.com/api/charges/create#create_charge-capture).
        params["capture"] = False
    return params


def new_capture_method() -> orders.CaptureMethod:
    """How a new order is paid under the CAPTURE setting: "manual" (authorize now, capture at shipment) or
    "automatic"."""
    return "manual" if get_settings().capture_at_shipment else "automatic"


def _already_paid(order: Order, stripe_seconds: float = 0.0) -> ChargeResult:
    return ChargeResult(
        outcome="succeeded",
        order=order,
        charge_id=order.charge_id,
        amount=order.amount,
        currency=order.currency,
        message=f"Order {order.id} is paid: {format_amount(order.amount, order.currency)} charged.",
        stripe_seconds=stripe_seconds,
    )


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
    if order.paid_at and order.charge_id:
        return _already_paid(order)
    client = client_or_default(client)
    if order.last_error and any(a.order_id == order.id and a.outcome == "error" for a in orders.unsettled_attempts()):
        # An earlier attempt's result is unknown (e.g. the network failed after Stripe charged): settle it from
        # Stripe first, so that paying again with a new card can never charge the customer twice.
        try:
            reconcile_pending(client, order_id=order.id)
        except stripe.StripeError as exc:
            raise PaymentError(UNREACHABLE_MESSAGE) from exc
        order = orders.get_order(order.id) or order
        if order.paid_at and order.charge_id:
            return _already_paid(order)
    try:
        attempt = orders.start_attempt(order_id, nonce, card_brand=card_brand, card_last4=card_last4)
    except OrderStateError as exc:
        current = orders.get_order(order_id)
        if current is not None and current.paid_at and current.charge_id:
            return _already_paid(current)
        raise PaymentError(str(exc)) from exc

    params = charge_params(order, token, attempt)
    started = time.perf_counter()
    try:
        charge = client.v1.charges.create(params=params, options={"idempotency_key": attempt.idempotency_key})
    except stripe.CardError as exc:
        stripe_seconds = time.perf_counter() - started
        details = error_details(exc)
        message = decline_codes.customer_message(details["code"], details["decline_code"])
        orders.finish_attempt(
            attempt.id,
            "failed",
            charge_id=details["charge"],
            code=details["code"],
            decline_code=details["decline_code"],
            message=details["message"],
        )
        return _result(order_id, "declined", details["charge"], message, details, attempt, stripe_seconds)
    except TRANSIENT_ERRORS as exc:
        stripe_seconds = time.perf_counter() - started
        details = error_details(exc)
        orders.finish_attempt(
            attempt.id,
            "error",
            code=details["code"] or type(exc).__name__,
            message=details["message"] or "The payment processor could not be reached.",
        )
        message = UNREACHABLE_MESSAGE if isinstance(exc, stripe.APIConnectionError) else UNEXPECTED_MESSAGE
        return _result(order_id, "error", None, message, details, attempt, stripe_seconds)
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
        stripe_seconds = time.perf_counter() - started
        details = error_details(exc)
        orders.finish_attempt(
            attempt.id,
            "failed",
            code=details["code"] or "invalid_request_error",
            message=details["message"],
        )
        return _result(order_id, "error", None, TOKEN_PROBLEM_MESSAGE, details, attempt, stripe_seconds)
    except stripe.StripeError as exc:  # authentication, permission: a configuration problem, not the customer's
        stripe_seconds = time.perf_counter() - started
        details = error_details(exc)
        orders.finish_attempt(attempt.id, "error", code=type(exc).__name__, message=details["message"])
        return _result(order_id, "error", None, NOT_CONFIGURED_MESSAGE, details, attempt, stripe_seconds)

    stripe_seconds = time.perf_counter() - started
    return _settle_from_charge(order_id, attempt, charge, client, "late_answer", stripe_seconds)


def _settle_from_charge(
    order_id: str,
    attempt: orders.Attempt,
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
        orders.finish_attempt(
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
    orders.finish_attempt(attempt.id, "succeeded", charge_id=charge_id, amount=amount, currency=currency)
    order = orders.get_order(order_id)
    assert order is not None
    if order.charge_id != charge_id or not order.paid_at:
        message = refund_unpaid_charge(order, charge_id, amount, currency, client, found_by)
        if message is not None:
            return _refused_charge_result(order, message, attempt, stripe_seconds)
        return _second_charge_result(order, charge_id, amount, attempt, stripe_seconds)
    message = paid_message(order)
    card = field(field(charge, "payment_method_details"), "card") or field(charge, "source")
    return ChargeResult(
        card_brand=field(card, "brand"),
        card_last4=field(card, "last4"),
        outcome="succeeded",
        order=order,
        charge_id=charge_id,
        amount=order.amount,
        currency=order.currency,
        message=message,
        attempt_id=attempt.id,
        stripe_seconds=stripe_seconds,
    )


def paid_message(order: Order) -> str:
    """What the customer reads once the order is paid: charged, or only authorized until it ships."""
    amount = format_amount(order.amount, order.currency)
    if order.awaiting_capture:
        return f"Thank you! {amount} is authorized on your card; it is charged when your order ships."
    return f"Thank you! {amount} was charged to your card."


def refund_second_charge(
    order: Order, charge_id: str, amount: int, currency: str, client: stripe.StripeClient, found_by: str
) -> orders.SecondCharge:
    """Give back a charge Stripe made for `order` that the order cannot take, and keep it for staff.

    The record is written first, so a refund that cannot be made now (Stripe unreachable) is tried again by the
    next reconciliation or sync. Whether it happened is Stripe's idempotent answer (key from the charge id, reason
    duplicate: docs.stripe.com/api/refunds/create), never a local check: a charge already refunded in full (by staff,
    say) counts as given back.
    """
    record = orders.record_second_charge(order.id, charge_id, amount, currency, found_by)
    if record.refunded_at:
        return record
    log.warning("order %s: second charge %s of %s, refunding it", order.id, charge_id, amount)
    try:
        refund = client.v1.refunds.create(
            params={"charge": charge_id, "reason": "duplicate", "metadata": {"order_id": order.id}},
            options={"idempotency_key": f"second-charge-{charge_id}"},
        )
    except stripe.InvalidRequestError as exc:
        if exc.code != "charge_already_refunded":
            log.error("order %s: Stripe refused the refund of second charge %s: %s", order.id, charge_id, exc)
            return record
        return orders.second_charge_refunded(charge_id, None)
    except stripe.StripeError as exc:
        log.error("order %s: second charge %s not refunded yet (%s); retried later", order.id, charge_id, exc)
        return record
    return orders.second_charge_refunded(charge_id, refund.id)


MISMATCH = "mismatch"  # how a charge whose amount or currency was not its order's is kept (`SecondCharge.found_by`)


def refund_unpaid_charge(
    order: Order, charge_id: str, amount: int, currency: str, client: stripe.StripeClient, found_by: str
) -> str | None:
    """Give back a succeeded charge that did not pay `order`, keep it for staff, and say why when it is a mismatch.

    A charge whose amount or currency is not the order's (`order_rules.may_be_paid_with`) is refunded in full and
    kept as a second charge found by MISMATCH; the order, which can no longer be paid through that charge's intent,
    is closed (cancelled, nothing kept) and the customer's message returned: they check the order and pay again.
    Any other charge the order could not take (it is paid already, or cancelled) is refunded as a second charge
    found by `found_by`; None is returned then.
    """
    if order.paid_at or order.status in ("cancelling", "cancelled") or may_be_paid_with(order, amount, currency):
        refund_second_charge(order, charge_id, amount, currency, client, found_by)
        return None
    log.warning("order %s: charge %s of %s %s is not the order's; refunding it", order.id, charge_id, amount, currency)
    refund_second_charge(order, charge_id, amount, currency, client, MISMATCH)
    charged, priced = format_amount(amount, currency), format_amount(order.amount, order.currency)
    try:
        orders.mark_cancelled(
            order.id, detail=f"Stripe charged {charged} ({charge_id}), not the order's {priced}: refunded"
        )
    except OrderStateError:
        log.warning("order %s could not be closed after its mismatched charge %s", order.id, charge_id)
    return (
        f"Your card was charged {charged}, which is not order {order.id}'s {priced} (the order changed while it "
        f"was being paid), so the {charged} is being refunded to your card and this order is closed. Check your "
        "order and pay again."
    )


def settle_found_charge(order: Order, charge: Any, client: stripe.StripeClient) -> ChargeResult | None:
    """Settle an unpaid order from a succeeded charge found in Stripe (by the sync) naming it and one of its attempts.

    The attempt may have been closed as not charged when Stripe made the charge afterwards: the order is paid with
    it now (or, if the order cannot take it, it is refunded as a second charge). None when the charge names no
    attempt of this order.
    """
    attempt_id = str(field(field(charge, "metadata") or {}, "attempt") or "")
    attempt = next((a for a in orders.list_attempts(order.id) if str(a.id) == attempt_id), None)
    if attempt is None:
        return None
    return _settle_from_charge(order.id, attempt, charge, client, "sync")


def refund_open_second_charges(client: stripe.StripeClient | None = None) -> list[orders.SecondCharge]:
    """Try again the refunds of second charges Stripe has not confirmed yet; returns those still open."""
    open_ones = orders.list_second_charges(refunded=False)
    if not open_ones:
        return []
    client = client_or_default(client)
    still_open = []
    for record in open_ones:
        order = orders.get_order(record.order_id)
        if order is None:
            continue
        done = refund_second_charge(order, record.charge_id, record.amount, record.currency, client, record.found_by)
        if not done.refunded_at:
            still_open.append(done)
    return still_open


def _second_charge_result(
    order: Order, charge_id: str, amount: int, attempt: orders.Attempt, stripe_seconds: float
) -> ChargeResult:
    given_back = f"the second payment of {format_amount(amount, order.currency)} ({charge_id}) is being refunded"
    if order.paid_at and order.charge_id:
        return ChargeResult(
            outcome="succeeded",
            order=order,
            charge_id=order.charge_id,
            amount=order.amount,
            currency=order.currency,
            message=f"Order {order.id} was already paid (charge {order.charge_id}); {given_back} to your card.",
            attempt_id=attempt.id,
            stripe_seconds=stripe_seconds,
        )
    return ChargeResult(
        outcome="error",
        order=order,
        charge_id=None,
        amount=order.amount,
        currency=order.currency,
        message=f"Order {order.id} is cancelled, so {given_back} to your card.",
        attempt_id=attempt.id,
        stripe_seconds=stripe_seconds,
    )


def _refused_charge_result(order: Order, message: str, attempt: orders.Attempt, stripe_seconds: float) -> ChargeResult:
    closed = orders.get_order(order.id) or order
    return ChargeResult(
        outcome="error",
        order=closed,
        charge_id=None,
        amount=closed.amount,
        currency=closed.currency,
        message=message,
        attempt_id=attempt.id,
        stripe_seconds=stripe_seconds,
    )


def _result(
    order_id: str,
    outcome: str,
    charge_id: str | None,
    message: str,
    details: dict[str, Any],
    attempt: orders.Attempt,
    stripe_seconds: float,
) -> ChargeResult:
    order = orders.get_order(order_id)
    assert order is not None
    return ChargeResult(
        outcome=outcome,
        order=order,
        charge_id=charge_id,
        amount=order.amount,
        currency=order.currency,
        message=message,
        code=details.get("code"),
        decline_code=details.get("decline_code"),
        attempt_id=attempt.id,
        stripe_seconds=stripe_seconds,
    )


def find_attempt_charge(attempt: orders.Attempt, client: stripe.StripeClient | None = None) -> Any | None:
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


@dataclass(frozen=True)
class ReconcileResult:
    """What reconciliation decided for one unsettled attempt."""

    order_id: str
    attempt_id: int | str
    outcome: str  # succeeded | failed | not_charged | still_pending
    charge_id: str | None


def reconcile_pending(
    client: stripe.StripeClient | None = None,
    *,
    min_age_s: float | None = None,
    now: float | None = None,
    order_id: str | None = None,
) -> list[ReconcileResult]:
    """Settle attempts left pending or in error (network failure, crash) from what Stripe actually did.

    An attempt whose charge exists in Stripe (found by metadata) is settled from that charge: paid or failed (a
    success for an order paid meanwhile with another charge is refunded, see `refund_second_charge`). An attempt in
    "error" with no charge was never charged (its call has ended), so it is closed as failed and the customer may
    pay again. An attempt still "pending" may be in flight for as long as one SDK call can run
    (`shop.config.longest_call_s`, the default `min_age_s`): it is left alone until then, and only afterwards, its
    call over for certain, closed as not charged when Stripe has no charge for it. Never creates a charge, so
    nothing can be charged twice. `order_id` limits the work to one order. Second charges whose refund did not go
    through before are tried again.
    """
    client = client_or_default(client)
    now = time.time() if now is None else now
    in_flight_s = longest_call_s() if min_age_s is None else min_age_s
    results: list[ReconcileResult] = []
    for attempt in orders.unsettled_attempts():
        if order_id is not None and attempt.order_id != order_id:
            continue
        if order_checks.in_flight(attempt, now, in_flight_s):
            results.append(ReconcileResult(attempt.order_id, attempt.id, "still_pending", None))
            continue
        if _settled_from_intent(attempt, client, results):
            continue
        charge = find_attempt_charge(attempt, client)
        if charge is not None:
            settled = _settle_from_charge(attempt.order_id, attempt, charge, client, "reconcile")
            outcome = "succeeded" if settled.succeeded else "failed"
            results.append(ReconcileResult(attempt.order_id, attempt.id, outcome, settled.charge_id))
            continue
        orders.finish_attempt(
            attempt.id,
            "failed",
            code=orders.NOT_CHARGED,
            message="Stripe has no charge for this attempt; the card was not charged.",
        )
        results.append(ReconcileResult(attempt.order_id, attempt.id, "not_charged", None))
    if order_id is None:
        refund_open_second_charges(client)
    return results


def _settled_from_intent(attempt: orders.Attempt, client: stripe.StripeClient, results: list) -> bool:
    """Settle an attempt of a PaymentIntent order from its intent (its charges carry no attempt metadata)."""
    order = orders.get_order(attempt.order_id)
    if order is None or not order.payment_intent_id:
        return False
    from shop.checkout import intents  # imported here: shop.checkout.intents builds on this module

    try:
        settled = intents.settle_order(order.id, client=client)
    except intents.IntentUnavailable:
        settled = None  # Stripe did not answer: left for the next reconciliation
    outcome = {"succeeded": "succeeded", "declined": "failed"}.get(settled.outcome if settled else "", "still_pending")
    results.append(ReconcileResult(order.id, attempt.id, outcome, settled.charge_id if settled else None))
    return True


def refundable_amount(charge: ChargeAmounts) -> int:
    """Minor units that can still be refunded on `charge`.

    A failed charge has nothing to refund. An uncaptured charge can be released for its full remaining amount.
    A partial capture counts the released remainder in `amount_refunded` (as Stripe does), so what remains is
    the amount minus everything refunded, never more than was captured.
    """
    if charge.status == "failed" or charge.refunded:
        return 0
    remaining = charge.amount - charge.amount_refunded
    if charge.captured:
        remaining = min(remaining, charge.amount_captured)
    return max(remaining, 0)


def check_refund(charge: ChargeAmounts, amount: int | None, reason: str | None) -> int:
    """The amount a refund of `charge` would move; raises RefundError saying what to fix when it can't."""
    currency = charge.currency
    if charge.status == "failed":
        raise RefundError("This charge failed, so no money was taken: there is nothing to refund.")
    if charge.refunded:
        raise RefundError("This charge is already fully refunded.")
    remaining = refundable_amount(charge)
    if remaining <= 0:
        raise RefundError("Nothing is left to refund on this charge.")
    if reason is not None and reason not in REFUND_REASONS:
        raise RefundError(f"Choose a refund reason among {', '.join(REFUND_REASONS)} (not {reason!r}).")
    if amount is None:
        return remaining
    if isinstance(amount, bool) or not isinstance(amount, numbers.Integral):
        raise RefundError("Enter the refund amount as a whole number of minor units (cents).")
    amount = int(amount)
    if amount <= 0:
        raise RefundError("Enter a refund amount above zero.")
    if amount > remaining:
        raise RefundError(
            f"At most {format_amount(remaining, currency)} can still be refunded on this charge; "
            f"enter {format_amount(remaining, currency)} or less."
        )
    return amount


def refund_charge(
    charge_id: str,
    *,
    amount: int | None = None,
    reason: str | None = None,
    idempotency_key: str,
    client: stripe.StripeClient | None = None,
    record_on_order: bool = True,
    actor: str = audit.SYSTEM,
) -> Any:
    """Refund `amount` (default: all that remains) of `charge_id`; returns the Stripe Refund.

    Checks first (positive, not above `refundable_amount`, charge not failed or fully refunded) and raises
    RefundError with what to fix. The idempotency key makes a retried click refund once. When the charge
    belongs to an order, the order's refunded total and status follow. The refund, by `actor`, goes into the
    audit log.
    """
    if not idempotency_key:
        raise RefundError("A refund needs an idempotency key so that a retry never refunds twice.")
    client = client_or_default(client)
    try:
        charge = client.v1.charges.retrieve(charge_id)
    except stripe.InvalidRequestError as exc:
        raise RefundError(f"No charge {charge_id} was found in Stripe; check the charge ID.") from exc
    except TRANSIENT_ERRORS as exc:
        raise RefundError("We could not reach Stripe; nothing was refunded. Try again in a moment.") from exc
    refund_amount = check_refund(ChargeAmounts.of(charge), amount, reason)
    params: dict[str, Any] = {"charge": charge_id, "amount": refund_amount}
    if reason:
        params["reason"] = reason
    try:
        refund = client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
        raise RefundError(f"Stripe refused the refund: {error_details(exc)['message']}") from exc
    except TRANSIENT_ERRORS as exc:
        raise RefundError(
            "We could not reach Stripe, so the refund is not confirmed. Try again: the same request will not "
            "refund twice."
        ) from exc
    order_id = field(field(charge, "metadata") or {}, "order_id")
    if record_on_order:
        _record_refund_on_order(order_id, charge_id, client)
    audit.record(
        None,
        actor=actor,
        action="refund",
        order_id=order_id if order_id and orders.get_order(order_id) else None,
        charge_id=charge_id,
        detail=_refund_words(refund, reason),
        refund_id=field(refund, "id"),
    )
    return refund


def _refund_words(refund: Any, reason: str | None) -> str:
    """What a refund amounted to, for the audit log: "$12.00, requested by customer, refund re_…"."""
    amount = format_amount(int(field(refund, "amount", default=0)), str(field(refund, "currency", default="usd")))
    return ", ".join(word for word in (amount, code_words(reason), f"refund {field(refund, 'id')}") if word)


def _record_refund_on_order(order_id: str | None, charge_id: str, client: stripe.StripeClient) -> None:
    """Copy the charge's refunded total onto its order, if it has one."""
    if not order_id or orders.get_order(order_id) is None:
        return
    try:
        fresh = client.v1.charges.retrieve(charge_id)
    except stripe.StripeError:
        return  # the refund is made; the next sync copies the total onto the order
    orders.record_refund(order_id, int(field(fresh, "amount_refunded", default=0)))


def capture_charge(
    charge_id: str,
    amount: int | None = None,
    *,
    idempotency_key: str,
    client: stripe.StripeClient | None = None,
    actor: str = audit.SYSTEM,
) -> Any:
    """Capture an authorized (uncaptured) charge, optionally for less than authorized; returns the Charge.

    The capture, by `actor`, goes into the audit log.
    """
    client = client_or_default(client)
    params: dict[str, Any] = {}
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise CaptureError("Enter a capture amount above zero, in minor units (cents).")
        params["amount"] = amount
    try:
        charge = client.v1.charges.capture(charge_id, params=params, options={"idempotency_key": idempotency_key})
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
        raise CaptureError(f"Stripe refused the capture: {error_details(exc)['message']}") from exc
    except TRANSIENT_ERRORS as exc:
        raise CaptureError("We could not reach Stripe; try the capture again in a moment.") from exc
    order_id = field(field(charge, "metadata") or {}, "order_id")
    captured = format_amount(
        int(field(charge, "amount_captured", default=0)), str(field(charge, "currency", default="usd"))
    )
    audit.record(
        None,
        actor=actor,
        action="capture",
        order_id=order_id if order_id and orders.get_order(order_id) else None,
        charge_id=charge_id,
        detail=captured,
    )
    return charge


def capture_key(order: Order) -> str:
    """The idempotency key of the capture at shipment: one per order, so a retried click captures once."""
    return f"capture-{order.id}"


def ship_order(
    order_id: str,
    *,
    actor: str = audit.SYSTEM,
    carrier: str = "",
    tracking_number: str = "",
    client: stripe.StripeClient | None = None,
) -> Order:
    """Mark the order shipped; an order only authorized at checkout is captured first and ships only if that worked.

    The capture (the PaymentIntent's, or the charge's in the Charges flow) carries a key from the order, so a
    retry after a lost answer captures once; an authorization Stripe already captured counts as captured.
    Raises OrderStateError when the order may not ship, CaptureError (nothing shipped) when the capture failed.
    `actor` (who shipped it) goes into the audit log, for the capture and for the shipment; `carrier` and
    `tracking_number` (optional) onto the order and into the customer's shipped email.
    """
    order = orders.get_order(order_id)
    if order is None:
        raise OrderStateError(f"Order {order_id} does not exist; check the order number.")
    may_capture_for_shipment(order).require()
    if order.awaiting_capture:
        _capture_for_shipment(order, client_or_default(client), actor)
    return orders.mark_shipped(order.id, actor=actor, carrier=carrier, tracking_number=tracking_number)


def _capture_for_shipment(order: Order, client: stripe.StripeClient, actor: str) -> None:
    key = capture_key(order)
    try:
        if order.payment_intent_id:
            # docs.stripe.com/api/payment_intents/capture: a requires_capture intent captures its whole amount.
            intent = client.v1.payment_intents.retrieve(order.payment_intent_id)
            if field(intent, "status") == "requires_capture":
                intent = client.v1.payment_intents.capture(order.payment_intent_id, options={"idempotency_key": key})
            captured = field(intent, "status") == "succeeded"
        else:
            # docs.stripe.com/api/charges/capture
            charge = client.v1.charges.retrieve(str(order.charge_id))
            if not field(charge, "captured", default=False) and not field(charge, "refunded", default=False):
                charge = client.v1.charges.capture(str(order.charge_id), options={"idempotency_key": key})
            captured = bool(field(charge, "captured", default=False))
    except (stripe.InvalidRequestError, stripe.IdempotencyError, stripe.CardError) as exc:
        raise CaptureError(
            f"Stripe refused to capture order {order.id}'s payment, so it was not shipped: "
            f"{error_details(exc)['message']}"
        ) from exc
    except stripe.StripeError as exc:
        raise CaptureError(
            f"We could not reach Stripe to capture order {order.id}'s payment, so it was not shipped. Try again: "
            "it will not capture twice."
        ) from exc
    if not captured:
        raise CaptureError(
            f"Order {order.id}'s authorization can no longer be captured (it was released or expired), so it was "
            "not shipped."
        )
    if not orders.get_order(order.id).captured_at:
        audit.record(
            None,
            actor=actor,
            action="capture",
            order_id=order.id,
            charge_id=order.charge_id,
            detail=f"{format_amount(order.amount, order.currency)} at shipment",
        )
    orders.record_capture(order.id)


def release_authorization(order: Order, client: stripe.StripeClient, idempotency_key: str) -> bool:
    """Give back an uncaptured authorization instead of refunding: cancel the PaymentIntent
    (docs.stripe.com/api/payment_intents/cancel) or refund the uncaptured charge, which releases it
    (docs.stripe.com/api/refunds/create: "refunding an uncaptured charge releases it"). Raises RefundError.

    Returns False, releasing nothing, when Stripe says the payment was captured after all (a shipment that
    captured it and then lost its answer or its race): that money must be refunded, not called released."""
    try:
        if order.payment_intent_id:
            intent = client.v1.payment_intents.retrieve(order.payment_intent_id)
            if field(intent, "status") == "succeeded":
                return False
            if field(intent, "status") == "requires_capture":
                client.v1.payment_intents.cancel(
                    order.payment_intent_id,
                    params={"cancellation_reason": "requested_by_customer"},
                    options={"idempotency_key": idempotency_key},
                )
        else:
            charge = client.v1.charges.retrieve(str(order.charge_id))
            if field(charge, "captured", default=False):
                return False
            if not field(charge, "refunded", default=False):
                client.v1.refunds.create(
                    params={"charge": order.charge_id, "reason": "requested_by_customer"},
                    options={"idempotency_key": idempotency_key},
                )
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
        orders.abandon_cancel(order.id)
        raise RefundError(f"Stripe refused to release the authorization: {error_details(exc)['message']}") from exc
    except stripe.StripeError as exc:
        raise RefundError(
            "We could not reach Stripe, so the order is not cancelled yet. Try again in a moment."
        ) from exc
    orders.record_release(order.id)
    return True


def cancel_order(
    order_id: str,
    *,
    idempotency_key: str | None = None,
    client: stripe.StripeClient | None = None,
    actor: str = audit.SYSTEM,
) -> Order:
    """Cancel an order that has not shipped: refund what was charged (requested_by_customer), then cancel.

    An order only authorized (capture at shipment) is released instead of refunded: no money moved.
    `actor` ("staff", an email, "customer") is who cancelled, for the audit log (one entry, with the refund).

    The order is claimed first (status cancelling, see `orders.begin_cancel`), so staff shipping it meanwhile
    are refused instead of shipping a refunded order; a cancellation interrupted half way is finished by calling
    this again. Idempotent: cancelling a cancelled order returns it unchanged, and the refund uses a key derived
    from the order unless one is given. Raises OrderStateError (e.g. shipped: "refund it instead") or RefundError.
    """
    order = orders.get_order(order_id)
    if order is None:
        raise OrderStateError(f"Order {order_id} does not exist; check the order number.")
    if order.status == "cancelled":
        return order
    may_cancel(order, any_unshipped=True).require()
    client = client_or_default(client)
    if not order.paid_at and order.status != "cancelling":
        # An attempt may have charged the card without the order knowing: settle it before deciding.
        try:
            settled = reconcile_pending(client, order_id=order.id)
        except stripe.StripeError as exc:
            raise RefundError(
                "We could not reach Stripe, so the order is not cancelled yet. Try again in a moment."
            ) from exc
        if any(result.outcome == "still_pending" for result in settled):
            raise OrderStateError("A payment for this order is in progress; try cancelling again in a minute.")
    order = orders.begin_cancel(order.id)
    if order.status == "cancelled":
        return order
    detail, refund_id = "nothing was charged", None
    held = order.charge_id and order.paid_at and order.capture_method == "manual" and not order.captured_at
    if held and release_authorization(order, client, idempotency_key or f"cancel-{order.id}"):
        detail = "authorization released uncaptured"
    elif order.charge_id and order.paid_at:
        if held:
            order = orders.record_capture(order.id)  # Stripe captured it meanwhile: refund it below
        try:
            charge = client.v1.charges.retrieve(order.charge_id)
        except stripe.StripeError as exc:
            orders.abandon_cancel(order.id)  # nothing was refunded: the order is as it was
            raise RefundError(
                "We could not reach Stripe, so the order is not cancelled yet. Try again in a moment."
            ) from exc
        if refundable_amount(ChargeAmounts.of(charge)) > 0:
            # No amount: Stripe refunds what remains at that moment, so a partial refund made meanwhile by staff
            # cannot make this one too large, and a retry with the same key replays the same refund.
            refund = _refund_the_rest(
                order,
                idempotency_key or f"cancel-{order.id}",
                client,
                on_refusal=lambda: orders.abandon_cancel(order.id),
                unknown_message="We could not reach Stripe, so the order is not cancelled yet. Try again in a moment.",
            )
            detail, refund_id = _refund_words(refund, "requested_by_customer"), field(refund, "id")
        else:
            detail = "nothing left to refund"
    return orders.mark_cancelled(order.id, actor=actor, detail=detail, refund_id=refund_id)


def _refund_the_rest(
    order: Order,
    idempotency_key: str,
    client: stripe.StripeClient,
    *,
    on_refusal: Callable[[], object],
    unknown_message: str,
) -> Any:
    """Refund what remains on the order's charge (requested_by_customer) and copy the new total onto the order.

    When Stripe refuses, nothing was refunded: `on_refusal` gives back the caller's claim. When the answer is
    lost, the refund may have been made: the claim stays, and a retry with the same key gets the same refund. A 500
    may come from a refund that was made, and Stripe then answers every retry with that key the same 500
    (docs.stripe.com/api/idempotent_requests: "including 500 errors"), so the refund carries its key in its
    metadata and, after an error, is looked for among the charge's refunds.
    """
    try:
        refund = client.v1.refunds.create(
            params={
                "charge": order.charge_id,
                "reason": "requested_by_customer",
                "metadata": {REFUND_KEY_METADATA: idempotency_key},
            },
            options={"idempotency_key": idempotency_key},
        )
    except (stripe.InvalidRequestError, stripe.IdempotencyError, stripe.CardError) as exc:
        on_refusal()
        raise RefundError(f"Stripe refused the refund: {error_details(exc)['message']}") from exc
    except stripe.StripeError as exc:
        refund = _refund_made_with_key(client, order.charge_id, idempotency_key)
        if refund is None:
            raise RefundError(unknown_message) from exc
    _record_refund_on_order(order.id, order.charge_id, client)
    return refund


def _refund_made_with_key(client: stripe.StripeClient, charge_id: str, idempotency_key: str) -> Any | None:
    """The refund of `charge_id` created with `idempotency_key` (its metadata says so), or None (none, or Stripe
    did not answer)."""
    try:
        listed = client.v1.refunds.list(params={"charge": charge_id, "limit": 100})
    except stripe.StripeError:
        return None
    for refund in listed.data:
        if field(field(refund, "metadata"), REFUND_KEY_METADATA) == idempotency_key:
            return refund
    return None


def approve_refund_request(
    request_id: int,
    *,
    note: str | None = None,
    client: stripe.StripeClient | None = None,
    actor: str = audit.SYSTEM,
) -> orders.RefundRequest:
    """Approve a customer's refund request: refund what remains on the order's charge, then record the decision.

    The request is claimed first (status approving), so it cannot be rejected while its refund is made. Whether
    the refund happened is Stripe's answer to an idempotent create (key from the order and the request), not a
    local check: approving again after a failure half way (refund made, decision not yet recorded) gets the same
    refund back and records it. Raises RefundError, or OrderStateError when the request was already decided. The
    approval, by `actor`, goes into the audit log with the refund.
    """
    request = orders.get_refund_request(request_id)
    if request is None:
        raise OrderStateError(f"Refund request {request_id} does not exist.")
    may_approve_refund_request(request).require()
    order = orders.get_order(request.order_id)
    if order is None or not order.charge_id:
        raise RefundError(f"Order {request.order_id} has no charge to refund; reject the request instead.")
    client = client_or_default(client)
    request = orders.begin_refund_approval(request.id)
    refund = _refund_the_rest(
        order,
        f"refund-request-{order.id}-{request.id}",
        client,
        on_refusal=lambda: orders.abandon_refund_approval(request.id),
        unknown_message="We could not reach Stripe, so the refund is not confirmed. Approve again: it will not "
        "refund twice.",
    )
    return orders.decide_refund_request(
        request.id,
        True,
        refund_id=refund.id,
        note=note,
        actor=actor,
        detail=_refund_words(refund, "requested_by_customer"),
    )


@dataclass(frozen=True)
class CheckoutOutcome:
    """The result of one click on Pay: field errors (nothing charged), or the order and its ChargeResult."""

    errors: dict[str, str]
    order_id: str | None = None
    result: ChargeResult | None = None
    message: str | None = None  # a refusal that is not about one field (e.g. a payment already in progress)
    duplicate_of: Order | None = None  # the same email, book and amount paid minutes ago or being paid: ask


def _matches(order: Order, book_id: str, quantity: int, customer: orders.Customer) -> bool:
    return (order.book_id, order.quantity, order.customer) == (book_id, quantity, customer)


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
    checked = validate_customer(details)
    if not checked.ok:
        return CheckoutOutcome(errors=checked.errors)
    try:
        catalog.price_for(book_id, quantity)
    except (ValueError, catalog.UnknownBookError) as exc:
        return CheckoutOutcome(errors={}, message=str(exc))
    token, nonce = str(payment.get("token") or ""), str(payment.get("nonce") or "")
    if not token.startswith(("tok_", "card_", "src_")) or not nonce:
        return CheckoutOutcome(errors={}, message="The card form sent no usable card; enter your card again.")
    try:
        client = client_or_default(client)
    except ConfigError:
        log.exception("payments are not configured")
        return CheckoutOutcome(errors={}, message=NOT_CONFIGURED_MESSAGE)
    if not allow_duplicate:
        duplicate = orders.possible_duplicate(checked.values["email"], book_id, quantity, exclude=order_id)
        if duplicate is not None:
            return CheckoutOutcome(errors={}, duplicate_of=duplicate)
    customer = orders.Customer(**checked.values)
    order = orders.get_order(order_id) if order_id else None
    if order is None or order.status not in ("pending", "failed") or not _matches(order, book_id, quantity, customer):
        order = orders.create_order(customer, book_id, quantity, capture_method=new_capture_method())
    try:
        result = pay_order(
            order.id,
            token,
            nonce,
            card_brand=str(payment.get("brand") or "") or None,
            card_last4=str(payment.get("last4") or "")[-4:] or None,
            client=client,
        )
    except PaymentError as exc:
        return CheckoutOutcome(errors={}, order_id=order.id, message=exc.message)
    return CheckoutOutcome(errors={}, order_id=order.id, result=result)
