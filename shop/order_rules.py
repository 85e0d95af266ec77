"""The order state machine: what may be done to an order now, and the sentence that says why not.

Each question ("may this order ship?", "may it be cancelled?", …) is one function returning a `Verdict`: an
allowed flag and, when refused, the reason shown to customers and staff. The store's actions raise
`OrderStateError` with that same sentence, and pages show it, so a rule and its wording live here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shop.money import format_amount
from shop.words import code_words

if TYPE_CHECKING:  # the store imports this module; the types are only for annotations
    from shop.orders import Order
    from shop.refund_requests import RefundRequest

# Orders whose money is taken and not (fully) given back: the only ones that can ship or be cancelled.
_PAID_STATUSES = ("paid", "partially_refunded")


class OrderStateError(ValueError):
    """The order is not in a state that allows this; the message says what to do instead."""


@dataclass(frozen=True)
class Verdict:
    """The answer to "may I?": `allowed`, and when not, `reason` (a sentence for the person who asked)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    def require(self) -> None:
        """Raise OrderStateError with the reason unless allowed."""
        if not self.allowed:
            raise OrderStateError(self.reason)


ALLOWED = Verdict(True)


def status_label(status: str) -> str:
    """An order or refund status as people read it ("partially_refunded" -> "partially refunded")."""
    return code_words(status)


def may_pay(order: Order) -> Verdict:
    """Whether a new payment attempt may start: only for an order not yet paid (pending, or failed before)."""
    if order.status in ("pending", "failed"):
        return ALLOWED
    return Verdict(False, f"Order {order.id} is {status_label(order.status)}; it cannot be paid again.")


def may_revise(order: Order, *, payment_in_flight: bool = False) -> Verdict:
    """Whether the book, quantity or details of an order may change: only before it is paid (pending, or failed
    before), and not while a payment of it is in flight (`payment_in_flight`, the store's answer)."""
    if order.paid_at or order.status not in ("pending", "failed"):
        return Verdict(False, f"Order {order.id} is {status_label(order.status)}; it cannot be changed.")
    if payment_in_flight:
        return Verdict(False, "A payment for this order is in progress; wait for it to finish.")
    return ALLOWED


def may_be_paid_with(order: Order, amount: int, currency: str) -> Verdict:
    """Whether a payment Stripe made of `amount` (minor units) in `currency` pays `order`: only at exactly the
    order's amount and currency.

    The one rule of every settle path (the intent flow, the Charges flow, webhooks, sync, reconciliation): the store
    marks an order paid only when it holds (`shop.attempts.finish_attempt`), and a charge it refuses is given back
    and shown to staff (`shop.checkout.unwanted_charges.refund_second_charge`). A charge for other terms is not a
    payment for this order, whatever raced it there (a tab holding an older client secret, an amount changed at
    Stripe).
    """
    if (amount, str(currency).lower()) == (order.amount, order.currency.lower()):
        return ALLOWED
    return Verdict(
        False,
        f"Stripe charged {format_amount(amount, currency)}, not order {order.id}'s "
        f"{format_amount(order.amount, order.currency)}; the payment is refunded instead of paying the order.",
    )


def may_ship(order: Order) -> Verdict:
    """Whether the order may be marked shipped: paid (and captured), not cancelled or refunded, not shipped yet.

    An order only authorized at checkout (capture at shipment) ships once its capture succeeded:
    `shop.fulfilment.ship_order` captures first, as `may_capture_for_shipment` allows.
    """
    verdict = may_capture_for_shipment(order)
    if verdict and order.awaiting_capture:
        return Verdict(
            False, f"Order {order.id} is authorized but not captured yet; it ships once the capture succeeds."
        )
    return verdict


def may_capture_for_shipment(order: Order) -> Verdict:
    """Whether "Mark shipped" may go ahead (capturing first when the order is only authorized): may_ship's rules
    apart from the capture."""
    if order.shipped_at:
        return Verdict(False, f"Order {order.id} has already shipped.")
    if order.status == "cancelling":
        return Verdict(False, f"Order {order.id} is being cancelled and refunded; it cannot be shipped.")
    if order.status == "cancelled":
        return Verdict(False, f"Order {order.id} is cancelled; a cancelled order cannot be shipped.")
    if order.status == "refunded":
        return Verdict(False, f"Order {order.id} is fully refunded; there is nothing to ship.")
    if order.status == "released":
        return Verdict(
            False, f"Order {order.id}'s card authorization was released uncaptured; there is no payment to ship."
        )
    if not order.paid_at:
        return Verdict(False, f"Order {order.id} is not paid yet; ship it once payment succeeds.")
    return ALLOWED


def may_cancel(order: Order, *, any_unshipped: bool = False) -> Verdict:
    """Whether the order may be cancelled with a full refund: paid and not shipped (a shipped one is refunded).

    Customers and staff are offered this for paid orders only; `any_unshipped` also allows closing any other order
    that has not shipped (never paid, or refunded already), which moves no more money. An order already being
    cancelled may be cancelled again, which finishes what a crash or a lost answer interrupted.
    """
    if order.shipped_at:
        return Verdict(False, f"Order {order.id} has shipped, so it cannot be cancelled; refund it instead.")
    if order.status in _PAID_STATUSES or order.status == "cancelling":
        return ALLOWED
    if any_unshipped:
        return ALLOWED
    return Verdict(
        False,
        f"Order {order.id} is {status_label(order.status)}: only a paid order that has not shipped can be cancelled.",
    )


def may_request_refund(order: Order, *, has_open_request: bool = False) -> Verdict:
    """Whether the customer may ask for a refund: the order shipped, still has money to give back, no open request."""
    if order.status == "cancelling":
        return Verdict(False, "This order is being cancelled and refunded in full.")
    if may_cancel(order):
        return Verdict(False, "This order has not shipped yet: cancel it instead for a full refund at once.")
    if order.status in ("refunded", "cancelled", "pending", "failed"):
        return Verdict(False, f"This order is {status_label(order.status)}; there is nothing to refund.")
    if has_open_request:
        return Verdict(False, "A refund request for this order is already waiting for review.")
    return ALLOWED


def may_approve_refund_request(request: RefundRequest) -> Verdict:
    """Whether a refund request may be approved: while it waits, or when an approval was started and not finished."""
    if request.status in ("pending", "approving"):
        return ALLOWED
    return _decided(request)


def may_reject_refund_request(request: RefundRequest) -> Verdict:
    """Whether a refund request may be rejected: only while it waits (an approval under way may have refunded)."""
    if request.status == "pending":
        return ALLOWED
    if request.status == "approving":
        return Verdict(False, f"Refund request {request.id} is being approved; its refund may already be made.")
    return _decided(request)


def _decided(request: RefundRequest) -> Verdict:
    return Verdict(
        False, f"Refund request {request.id} is not waiting for a decision any more: it was already {request.status}."
    )
