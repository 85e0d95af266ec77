"""After the payment: refund, capture, ship, cancel (or release an authorization), approve a refund request.

Every call goes through one `stripe.StripeClient` (`shop.config.stripe_client`) and every POST that moves money
carries an idempotency key, so a retried request, a rerun or a second tab never refunds or captures twice. Errors
are caught by type and turned into messages that say what happened and what to do next. Taking the money is
`shop.checkout`'s.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe

from shop import audit, orders, refund_requests
from shop.checkout.reconcile import reconcile_pending
from shop.checkout.results import PaymentError
from shop.money import format_amount
from shop.order_rules import (
    OrderStateError,
    may_approve_refund_request,
    may_cancel,
    may_capture_for_shipment,
)
from shop.orders import Order
from shop.stripe_io import TRANSIENT_ERRORS, client_or_default, error_details, field
from shop.words import code_words

log = logging.getLogger(__name__)
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")
# What staff read when Stripe did not answer a cancellation: nothing changed, and trying again is safe.
NOT_CANCELLED_YET = "We could not reach Stripe, so the order is not cancelled yet. Try again in a moment."
# The metadata key a refund of the rest (cancel, approved request) carries its idempotency key under.
REFUND_KEY_METADATA = "idempotency_key"


class RefundError(PaymentError):
    """A refund (or the refund of a cancellation) was refused; `message` says what to fix."""


class CaptureError(PaymentError):
    """A capture was refused; `message` says what to fix."""


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
        raise RefundError(NOT_CANCELLED_YET) from exc
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
            raise RefundError(NOT_CANCELLED_YET) from exc
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
            raise RefundError(NOT_CANCELLED_YET) from exc
        if refundable_amount(ChargeAmounts.of(charge)) > 0:
            # No amount: Stripe refunds what remains at that moment, so a partial refund made meanwhile by staff
            # cannot make this one too large, and a retry with the same key replays the same refund.
            refund = _refund_the_rest(
                order,
                idempotency_key or f"cancel-{order.id}",
                client,
                on_refusal=lambda: orders.abandon_cancel(order.id),
                unknown_message=NOT_CANCELLED_YET,
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
) -> refund_requests.RefundRequest:
    """Approve a customer's refund request: refund what remains on the order's charge, then record the decision.

    The request is claimed first (status approving), so it cannot be rejected while its refund is made. Whether
    the refund happened is Stripe's answer to an idempotent create (key from the order and the request), not a
    local check: approving again after a failure half way (refund made, decision not yet recorded) gets the same
    refund back and records it. Raises RefundError, or OrderStateError when the request was already decided. The
    approval, by `actor`, goes into the audit log with the refund.
    """
    request = refund_requests.get_refund_request(request_id)
    if request is None:
        raise OrderStateError(f"Refund request {request_id} does not exist.")
    may_approve_refund_request(request).require()
    order = orders.get_order(request.order_id)
    if order is None or not order.charge_id:
        raise RefundError(f"Order {request.order_id} has no charge to refund; reject the request instead.")
    client = client_or_default(client)
    request = refund_requests.begin_refund_approval(request.id)
    refund = _refund_the_rest(
        order,
        f"refund-request-{order.id}-{request.id}",
        client,
        on_refusal=lambda: refund_requests.abandon_refund_approval(request.id),
        unknown_message="We could not reach Stripe, so the refund is not confirmed. Approve again: it will not "
        "refund twice.",
    )
    return refund_requests.decide_refund_request(
        request.id,
        True,
        refund_id=refund.id,
        note=note,
        actor=actor,
        detail=_refund_words(refund, "requested_by_customer"),
    )
