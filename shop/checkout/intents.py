"""Checkout on PaymentIntents: one intent per order, confirmed in the browser, settled from what Stripe says.

The server writes the order (pending) and creates its one PaymentIntent with an idempotency key derived from the
order, so a retried or replayed create returns the same intent; the intent id is stored on the order. The browser
confirms it with `stripe.confirmCardPayment` (3-D Secure included) and reports back; the server never takes the
browser's word but retrieves the intent and records its status. An intent can succeed at most once (a confirm of
a succeeded intent is refused: docs.stripe.com/error-codes#payment-intent-unexpected-state), so retries, reloads,
two tabs and lost responses all land on the same object and the order is charged once at most.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from shop import attempts, catalog, decline_codes, order_checks, orders
from shop.checkout.opening import configured_client, new_capture_method, open_checkout, order_terms
from shop.checkout.results import (
    NOT_CONFIGURED_MESSAGE,
    UNEXPECTED_MESSAGE,
    ChargeResult,
    PaymentError,
    Prepared,
    result_of_settle,
    unanswered_message,
)
from shop.checkout.unwanted_charges import settle_paid_charge
from shop.orders import Order, OrderStateError
from shop.stripe_io import TRANSIENT_ERRORS, client_or_default, error_details, field

REUSE_WINDOW_S = 3600  # an unpaid order of the same customer this recent is paid again rather than duplicated
log = logging.getLogger(__name__)
CALL_TRIES = 3  # our own tries of one idempotent call, beyond the SDK's network retries

# Not a decline: the intent moved on (paid or cancelled elsewhere) under this page.
UNEXPECTED_STATE_MESSAGE = "This payment can no longer be changed; reload the page to see its state."
NOT_FINISHED_MESSAGE = "The payment was not finished, so your card was not charged. Pay again to complete it."
CANCELED_MESSAGE = "This payment was cancelled, so your card was not charged. Start a new checkout to buy the book."


def intent_decline_message(code: str | None, decline_code: str | None) -> str:
    """The customer-facing message for a PaymentIntent's `last_payment_error` (shop.decline_codes' table)."""
    if code == "payment_intent_unexpected_state":
        return UNEXPECTED_STATE_MESSAGE
    return decline_codes.customer_message(code, decline_code)


class IntentUnavailable(PaymentError):
    """Stripe did not answer a call about the order's intent; nothing was decided and a retry is safe."""


@dataclass(frozen=True)
class PreparedCheckout(Prepared):
    """A click on Pay in the PaymentIntents flow answered: `client_secret` is the intent's, for the browser to
    confirm."""


class Stopwatch:
    """Adds up the time spent waiting on Stripe, so the shop's own overhead can be measured apart."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run one idempotent Stripe call, trying again on a lost answer, a 500 or a 429."""
        for attempt in range(CALL_TRIES):
            started = time.perf_counter()
            try:
                return fn()
            except TRANSIENT_ERRORS as exc:
                if attempt == CALL_TRIES - 1:
                    raise IntentUnavailable(unanswered_message(exc)) from exc
            finally:
                self.seconds += time.perf_counter() - started
        raise AssertionError("unreachable")


def create_key(order: Order) -> str:
    """The idempotency key of the order's intent create: from the order and its amount.

    A lost answer is retried with the same key and so gives the same intent. Once the intent id is stored, a
    changed amount is an update of that intent, never a second create.
    """
    return f"pi-{order.id}-{order.amount}"


def _find_intent_of(order: Order, client: stripe.StripeClient, watch: Stopwatch) -> Any | None:
    """An intent Stripe made for `order` whose id we never received (found by metadata), or None."""
    since = int(order.created) - 300  # clocks of this machine and Stripe's may differ by minutes
    found = watch.call(lambda: client.v1.payment_intents.list(params={"limit": 100, "created": {"gte": since}}))
    for intent in found.auto_paging_iter():
        if field(field(intent, "metadata") or {}, "order_id") == order.id:
            return intent
    return None


def _create_intent(order: Order, client: stripe.StripeClient, watch: Stopwatch, *, search: bool) -> tuple[Any, Order]:
    """Create the order's intent (or adopt one made by an earlier create whose answer was lost); the intent and
    the order with its id stored."""
    existing = _find_intent_of(order, client, watch) if search else None
    if existing is None:
        params = {**order_terms(order), "payment_method_types": ["card"]}
        if order.capture_method == "manual":
            # Authorize only; "Mark shipped" captures (docs.stripe.com/payments/place-a-hold-on-a-payment-method).
            params["capture_method"] = "manual"
        key = create_key(order)
        existing = watch.call(lambda: client.v1.payment_intents.create(params=params, options={"idempotency_key": key}))
    return existing, orders.set_payment_intent(order.id, existing.id)


def _needs_update(intent: Any, params: dict[str, Any]) -> bool:
    if field(intent, "amount") != params["amount"] or field(intent, "currency") != params["currency"]:
        return True
    if (
        field(intent, "receipt_email") != params["receipt_email"]
        or field(intent, "description") != params["description"]
    ):
        return True
    metadata = field(intent, "metadata") or {}
    if any(field(metadata, key) != value for key, value in params["metadata"].items()):
        return True
    shipping = field(intent, "shipping")
    address = field(shipping, "address") or {}
    if field(shipping, "name") != params["shipping"]["name"] or field(shipping, "phone") != params["shipping"]["phone"]:
        return True
    return any((field(address, key) or "") != value for key, value in params["shipping"]["address"].items())


def _revised_terms(order: Order, customer: orders.Customer, line: catalog.PricedLine) -> Order:
    """`order` as a revision to `line` would make it, not saved: what Stripe is asked to accept."""
    return dataclasses.replace(
        order,
        customer=customer,
        book_id=line.book.id,
        quantity=line.quantity,
        unit_amount=line.unit_amount,
        amount=line.total,
        currency=line.currency,
    )


def _reusable_order(own: Order | None, customer: orders.Customer) -> Order | None:
    """The unpaid order this checkout continues: the session's own, or the customer's recent one (after a reload,
    or from another tab), also one still pending without an intent id (its create's answer was lost, or is still
    under way: the intent is then adopted or made with the same idempotency key, so the tabs share it)."""
    candidates: list[Order] = []
    if own is not None and own.customer.email.strip().lower() == customer.email.strip().lower():
        candidates.append(own)
    now = time.time()
    candidates += [
        order
        for order in orders.list_orders(email=customer.email, status=("pending", "failed"), limit=20)
        if order.customer == customer
        and now - order.created <= REUSE_WINDOW_S
        and (order.payment_intent_id or order.status == "pending")
    ]
    for order in candidates:
        if order.status in ("pending", "failed") and not order.paid_at and not order.cancelled_at:
            return order
    return None


def prepare_checkout(
    details: Mapping[str, Any],
    book_id: str,
    quantity: int,
    *,
    order_id: str | None = None,
    allow_duplicate: bool = False,
    client: stripe.StripeClient | None = None,
) -> PreparedCheckout:
    """Validate the details, write (or revise) the order and create (or update) its one intent, ready to confirm.

    `order_id` is the unpaid order of this checkout (after a decline, say): its intent is updated to the current
    book, quantity and details before the next confirm, and the order revised only once Stripe accepted that (a
    confirm of the old client secret that won the race leaves the order at what it paid). After a reload (or in
    another tab) the customer's recent unpaid order with the same details is continued the same way, once it has
    been settled from its intent. A paid order of the same email, book and amount in the last 10 minutes, or one
    still being paid (another tab), is returned as `duplicate_of` (nothing written) unless `allow_duplicate`.
    """
    opening = open_checkout(details, book_id, quantity)
    if opening.customer is None or opening.line is None:
        return PreparedCheckout(errors=opening.errors, message=opening.message)
    customer, line = opening.customer, opening.line
    client = configured_client(client)
    if client is None:
        return PreparedCheckout(message=NOT_CONFIGURED_MESSAGE)
    watch = Stopwatch()
    try:
        own = orders.get_order(order_id) if order_id else None
        if own is not None and own.paid_at and own.payment_intent_id:  # paid meanwhile (another tab, say)
            paid = settle_order(own.id, client=client, watch=watch)
            return PreparedCheckout(order=own, paid=paid, stripe_seconds=watch.seconds)
        order = _reusable_order(own, customer)
        if order is not None and order.payment_intent_id:
            settled = settle_order(order.id, client=client, watch=watch)
            if settled is not None and settled.succeeded:
                if order.id == order_id:  # this checkout's own order was paid (by another tab, say)
                    return PreparedCheckout(order=settled.order, paid=settled, stripe_seconds=watch.seconds)
                order = None  # an earlier purchase: this click is a new one
            elif settled is not None and settled.outcome in ("canceled", "refunded"):
                order = None  # its intent can take no payment any more: this click is a new order
        if not allow_duplicate:
            continued = order.id if order is not None else None
            duplicate = order_checks.possible_duplicate(customer.email, line, exclude=continued)
            if duplicate is not None:
                return PreparedCheckout(duplicate_of=duplicate, stripe_seconds=watch.seconds)
        revised = None
        if order is None:
            order = orders.create_order(customer, line, capture_method=new_capture_method())
            searched = False
        else:
            if (order.book_id, order.quantity, order.customer) != (line.book.id, line.quantity, customer):
                revised = _revised_terms(order, customer, line)
            searched = order.payment_intent_id is None
            if searched and revised is not None:  # no intent to keep in step yet: the revision is the order now
                order, revised = orders.revise_order(order.id, customer, line), None
        if order.payment_intent_id is None:
            intent, order = _create_intent(order, client, watch, search=searched)
        else:
            intent_id = order.payment_intent_id
            intent = watch.call(lambda: client.v1.payment_intents.retrieve(intent_id))
        params = order_terms(revised or order)
        if _needs_update(intent, params):
            # Only the terms: a retried update sets the same values again, so it needs no key of ours.
            intent_id = intent.id
            intent = watch.call(lambda: client.v1.payment_intents.update(intent_id, params=params))
        if revised is not None:
            # Saved only now that Stripe holds the revised amount: a confirm of the old client secret that won
            # the race made the update fail above, and the order still says what that confirm paid.
            order = orders.revise_order(order.id, customer, line)
    except IntentUnavailable as exc:
        return PreparedCheckout(order=order, message=exc.message, stripe_seconds=watch.seconds)
    except OrderStateError as exc:
        return PreparedCheckout(order=order, message=str(exc), stripe_seconds=watch.seconds)
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as exc:
        details_ = error_details(exc)
        message = intent_decline_message(details_["code"], None) if details_["code"] else UNEXPECTED_MESSAGE
        return PreparedCheckout(order=order, message=message, stripe_seconds=watch.seconds)
    except stripe.StripeError:  # authentication, permission: a configuration problem, not the customer's
        log.exception("Stripe refused the shop's request for order %s", order.id if order else None)
        return PreparedCheckout(order=order, message=NOT_CONFIGURED_MESSAGE, stripe_seconds=watch.seconds)
    return PreparedCheckout(order=order, client_secret=field(intent, "client_secret"), stripe_seconds=watch.seconds)


def settle_order(
    order_id: str,
    *,
    nonce: str | None = None,
    client: stripe.StripeClient | None = None,
    watch: Stopwatch | None = None,
) -> ChargeResult | None:
    """Retrieve the order's intent and record what Stripe says; None when the order has no intent.

    succeeded -> the order is paid with `latest_charge` as its charge and the card as the charge names it, when
    the charge has the order's amount and currency (`order_rules.may_be_paid_with`); otherwise the charge is
    refunded, kept for staff and the order closed (`unwanted_charges.settle_paid_charge`): outcome "refunded";
    requires_payment_method with `last_payment_error` -> the decline, recorded once per failed charge, with the
    customer's message; anything else -> "not finished" (nothing recorded). `nonce` (the browser's report of a
    confirm) lets a failure without a charge (a failed 3-D Secure check) be recorded once too. Raises
    IntentUnavailable when Stripe does not answer; a retry is safe.
    """
    watch = watch or Stopwatch()
    order = orders.get_order(order_id)
    if order is None or not order.payment_intent_id:
        return None
    client = client_or_default(client)
    intent_id = order.payment_intent_id
    intent = watch.call(lambda: client.v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]}))
    status = field(intent, "status")
    charge = field(intent, "latest_charge")
    if isinstance(charge, str):  # not expanded (a Stripe that ignored expand): fetch it
        charge_id = charge
        charge = watch.call(lambda: client.v1.charges.retrieve(charge_id))
    if status == "succeeded" or status == "requires_capture":
        return settle_paid_charge(order, charge, client, watch.seconds)
    error = field(intent, "last_payment_error")
    if status == "requires_payment_method" and error:
        code, decline = field(error, "code"), field(error, "decline_code")
        failed_charge = charge if field(charge, "status") == "failed" and field(error, "charge") else None
        attempts.record_decline(order, error, failed_charge, nonce)
        message = intent_decline_message(code, decline)
        return result_of_settle(
            order.id, "declined", failed_charge, message, watch.seconds, code=code, decline_code=decline
        )
    if status == "canceled":
        return result_of_settle(order.id, "canceled", None, CANCELED_MESSAGE, watch.seconds)
    return result_of_settle(order.id, "not_finished", None, NOT_FINISHED_MESSAGE, watch.seconds)
