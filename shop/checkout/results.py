"""What a checkout flow tells its caller: the result of one payment attempt, the answer to a click on Pay in the
flows the browser completes (`Prepared`), and the customer's messages.

The flows (`shop.checkout.charges`, `.intents`, `.sessions`) and reconciliation answer with these, so a page shows
any of them the same way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import stripe

from shop import orders, payment_methods
from shop.money import format_amount
from shop.orders import Order
from shop.stripe_io import field

UNREACHABLE_MESSAGE = (
    "We could not reach the payment processor. Your card was not charged twice; please try again in a moment."
)
UNEXPECTED_MESSAGE = (
    "The payment processor reported an unexpected error. Your card was not charged twice; please try again in a moment."
)
TOKEN_PROBLEM_MESSAGE = "This card entry can no longer be used. Please enter your card again and pay."
# Keys, permissions, settings: the operator's to fix (the details go to the log), never the customer's.
NOT_CONFIGURED_MESSAGE = "Payments are not configured correctly, so your card was not charged. Please try again later."


@dataclass(frozen=True)
class Prepared:
    """The answer to a click on Pay in a flow the browser completes (PaymentIntents, Checkout Sessions): field
    errors, a possible duplicate to ask about, the order found paid already, or the client secret the page uses."""

    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    order: Order | None = None
    client_secret: str | None = None
    message: str | None = None
    duplicate_of: Order | None = None  # an order of the same email, book and amount paid minutes ago or being paid
    paid: ChargeResult | None = None  # the order turned out paid already (another tab, a lost answer)
    stripe_seconds: float = 0.0

    @property
    def ready(self) -> bool:
        """True when the page may go on with `client_secret` (confirm the intent, mount the Payment Element)."""
        return bool(self.client_secret) and self.order is not None


def unanswered_message(exc: stripe.StripeError) -> str:
    """What the customer reads when Stripe was not reached (UNREACHABLE_MESSAGE) or answered with an error
    (UNEXPECTED_MESSAGE): either way the card was not charged twice, and paying again is safe."""
    return UNREACHABLE_MESSAGE if isinstance(exc, stripe.APIConnectionError) else UNEXPECTED_MESSAGE


class PaymentError(Exception):
    """A money operation was refused; `message` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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

    @classmethod
    def of_order(cls, order: Order, outcome: str, charge_id: str | None, message: str, **more: Any) -> ChargeResult:
        """A result at `order`'s amount and currency (what the order is paid with is always its own amount)."""
        return cls(
            outcome=outcome,
            order=order,
            charge_id=charge_id,
            amount=order.amount,
            currency=order.currency,
            message=message,
            **more,
        )

    @property
    def succeeded(self) -> bool:
        """True when the order is paid."""
        return self.outcome == "succeeded"


def paid_message(order: Order) -> str:
    """What the customer reads once the order is paid: charged, or only authorized until it ships."""
    amount = format_amount(order.amount, order.currency)
    if order.awaiting_capture:
        return f"Thank you! {amount} is authorized on your card; it is charged when your order ships."
    return f"Thank you! {amount} was charged to your card."


def result_of_settle(
    order_id: str,
    outcome: str,
    charge: Any,
    message: str | None,
    stripe_seconds: float,
    *,
    code: str | None = None,
    decline_code: str | None = None,
    order: Order | None = None,
) -> ChargeResult:
    """What settling an intent or a session answers: the order (`order` as the settle's last write returned it,
    else read now), the card and id of `charge` as Stripe made it, and the customer's `message` (for a success,
    `paid_message` and the order's own charge)."""
    order = order or orders.get_order(order_id)
    assert order is not None
    brand, last4 = payment_methods.brand_and_last4(charge)
    if outcome == "succeeded":
        message = paid_message(order)
    return ChargeResult.of_order(
        order,
        outcome,
        order.charge_id if outcome == "succeeded" else field(charge, "id"),
        message or "",
        code=code,
        decline_code=decline_code,
        stripe_seconds=stripe_seconds,
        card_brand=brand,
        card_last4=last4,
    )


@dataclass(frozen=True)
class ReconcileResult:
    """What reconciliation decided for one unsettled attempt."""

    order_id: str
    attempt_id: int | str
    outcome: str  # succeeded | failed | not_charged | still_pending
    charge_id: str | None
