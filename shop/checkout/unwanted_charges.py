"""Charges an order cannot take, given back: a second payment of a paid or cancelled order, or one for other terms.

Both flows meet them when settling (a lost answer, two tabs, a change of the order while it was being paid), and so
does reconciliation; each is refunded at once with an idempotent key and kept for staff.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from shop import attempts, orders, second_charges
from shop.checkout.results import ChargeResult, result_of_settle
from shop.money import format_amount
from shop.order_rules import OrderStateError, may_be_paid_with
from shop.orders import Order
from shop.stripe_io import field

log = logging.getLogger(__name__)


def refund_second_charge(
    order: Order, charge_id: str, amount: int, currency: str, client: stripe.StripeClient, found_by: str
) -> second_charges.SecondCharge:
    """Give back a charge Stripe made for `order` that the order cannot take, and keep it for staff.

    The record is written first, so a refund that cannot be made now (Stripe unreachable) is tried again by the
    next reconciliation or sync. Whether it happened is Stripe's idempotent answer (key from the charge id, reason
    duplicate: docs.stripe.com/api/refunds/create), never a local check: a charge already refunded in full (by staff,
    say) counts as given back.
    """
    record = second_charges.record_second_charge(order.id, charge_id, amount, currency, found_by)
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
        return second_charges.second_charge_refunded(charge_id, None)
    except stripe.StripeError as exc:
        log.error("order %s: second charge %s not refunded yet (%s); retried later", order.id, charge_id, exc)
        return record
    return second_charges.second_charge_refunded(charge_id, refund.id)


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


CHARGE_REFUNDED_MESSAGE = "This order was closed before your payment arrived, so the payment is being refunded."


def settle_paid_charge(order: Order, charge: Any, client: stripe.StripeClient, stripe_seconds: float) -> ChargeResult:
    """The answer for `order` once Stripe says an intent or session of it is paid with `charge`.

    The charge pays the order (recorded once: an order paid with it already is left as it is). When the store
    refuses it (another amount or currency, a cancelled order, or the order paid with another charge), it is given
    back (`refund_unpaid_charge`) and the outcome is "refunded", with the customer's message.
    """
    charge_id = field(charge, "id")
    if not (order.paid_at and order.charge_id):
        order = attempts.record_charge_result(order.id, charge_id, "succeeded", charge=charge)
    if order.paid_at and order.charge_id == charge_id:
        return result_of_settle(order.id, "succeeded", charge, None, stripe_seconds, order=order)
    amount, currency = int(field(charge, "amount", default=0)), str(field(charge, "currency", default=""))
    message = refund_unpaid_charge(order, charge_id, amount, currency, client, "late_answer")
    return result_of_settle(order.id, "refunded", None, message or CHARGE_REFUNDED_MESSAGE, stripe_seconds)
