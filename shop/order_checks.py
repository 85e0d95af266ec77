"""Which orders the shop must ask about: unpaid ones whose payment Stripe's answer never reached the shop (asked of
Stripe), and an earlier order a new purchase may repeat (asked of the customer, `possible_duplicate`).

One rule, used by the Orders page's "ask Stripe" box and by reconciliation
(`shop.checkout.reconcile.reconcile_pending`):

- an attempt that ended in "error" (Stripe could not be reached, or its answer was lost) is unanswered;
- an attempt still "pending" is unanswered once its call has ended for certain (`shop.config.longest_call_s`): a
  crash or a cut-off call; before that it is in flight, and asking would only say "still in progress";
- an order with a PaymentIntent still "pending" (no result recorded) is unanswered once it is older than that too:
  the browser confirmed (or not) and the page never reported back.

A decline, a failed or closed 3-D Secure check are answers: the shop recorded them (the order is "failed"), so they
are not listed. An order whose customer left during the bank's check stays listed until asked about: Stripe keeps
its intent in `requires_action` (docs.stripe.com/payments/paymentintents/lifecycle).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from shop import attempts, catalog, orders
from shop.attempts import Attempt
from shop.config import longest_call_s
from shop.orders import Order


def in_flight(attempt: Attempt, now: float, in_flight_s: float) -> bool:
    """Whether a pending attempt's call may still be running (younger than `in_flight_s`): not to be settled yet."""
    return attempt.outcome == "pending" and now - attempt.created < in_flight_s


@dataclass(frozen=True)
class Unanswered:
    """What the Orders page asks Stripe about: attempts with no known result, and unpaid orders with an intent."""

    attempts: list[Attempt]
    open_intents: list[Order]

    def __bool__(self) -> bool:
        return bool(self.attempts or self.open_intents)


def unanswered(
    *, now: float | None = None, in_flight_s: float | None = None, engine: sa.Engine | None = None
) -> Unanswered:
    """The attempts and intent orders whose result Stripe never gave the shop (see the module's rule)."""
    now = time.time() if now is None else now
    in_flight_s = longest_call_s() if in_flight_s is None else in_flight_s
    stuck = [a for a in attempts.unsettled_attempts(engine=engine) if not in_flight(a, now, in_flight_s)]
    waiting = orders.list_orders(status=("pending",), with_intent=True, engine=engine)
    return Unanswered(stuck, [order for order in waiting if now - order.updated >= in_flight_s])


DUPLICATE_WINDOW_S = 600  # a second purchase of the same book and amount within 10 minutes is asked about


def possible_duplicate(
    email: str,
    line: catalog.PricedLine,
    *,
    within_s: int = DUPLICATE_WINDOW_S,
    now: float | None = None,
    exclude: str | None = None,
) -> Order | None:
    """The newest order of `email` for the same book and amount as `line` paid in the last `within_s` seconds, or
    still being paid (changed in the last `within_s` seconds and pending — its payment in flight in another tab,
    say — or failed with a PaymentIntent, which its tab may be confirming again after a decline), or None.

    Both checkout flows ask the customer before charging again when there is one: a customer who lost the
    confirmation, or has the shop open in two tabs, must not pay twice without knowing. `exclude` is the order the
    asking checkout continues (its own payment is not a second purchase).
    """
    now = time.time() if now is None else now
    for order in orders.list_orders(email=email, status=("pending", "failed", "paid", "shipped", "partially_refunded")):
        if order.id == exclude or order.book_id != line.book.id or order.amount != line.total:
            continue
        if order.paid_at and now - order.paid_at <= within_s:
            return order
        being_paid = order.status == "pending" or (order.status == "failed" and order.payment_intent_id)
        if being_paid and not order.paid_at and now - order.updated <= within_s:
            return order
    return None
