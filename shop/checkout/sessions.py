"""Checkout on Checkout Sessions with the Payment Element (CHECKOUT_API=checkout_sessions): one session per order.

The server writes the order (pending) and creates its Checkout Session (`ui_mode="elements"`, docs.stripe.com/
payments/elements/build-a-payment-page) from the line the catalog priced: the line item's name, unit amount,
quantity and currency, the customer's email, shipping address and phone collection, the order id in the session's
and its PaymentIntent's metadata, and a return URL that names the session. The page mounts the Payment Element on
the session's client secret (`components.checkout_elements`) and confirms there; the server never takes the
browser's word but retrieves the session and settles the order from it (`settle_session`), as do the
`checkout.session.*` webhooks and reconciliation.

A session is found again by its metadata (Stripe lists sessions by creation time), so a retry, a rerun or a reload
pays on the same open session while its amount is the order's; a changed quantity expires it and makes another.
A bank debit completes the session unpaid while its PaymentIntent is processing: the order stays unpaid (nothing
ships) until `checkout.session.async_payment_succeeded` or a later settle sees it paid
(docs.stripe.com/payments/checkout/fulfill-orders, "Handle delayed notification payment methods").
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from shop import attempts, catalog, decline_codes, order_checks, orders, payment_methods
from shop.checkout.intents import IntentUnavailable, Stopwatch
from shop.checkout.opening import configured_client, open_checkout
from shop.checkout.results import (
    NOT_CONFIGURED_MESSAGE,
    UNEXPECTED_MESSAGE,
    ChargeResult,
    Prepared,
    result_of_settle,
)
from shop.checkout.unwanted_charges import settle_paid_charge
from shop.orders import Order, OrderStateError
from shop.stripe_io import TRANSIENT_ERRORS, client_or_default, error_details, field
from shop.validation import countries

log = logging.getLogger(__name__)

INTEGRATION_NAME = "Checkout Sessions with the Payment Element"
REUSE_WINDOW_S = 3600  # an unpaid order of the same customer this recent is paid again rather than duplicated
# A bank debit may take days to settle after its session completed (docs.stripe.com/payments/ach-direct-debit:
# up to 4 business days), so reconciliation looks that far back, with room to spare.
SETTLE_LOOKBACK_S = 14 * 86400
# Countries a session cannot ship to ("Unsupported country codes", docs.stripe.com/api/checkout/sessions/create
# #create_checkout_session-shipping_address_collection-allowed_countries); every other country the shop's
# validation knows is offered.
UNSUPPORTED_SHIPPING_COUNTRIES = frozenset(
    {"AS", "CX", "CC", "CU", "HM", "IR", "KP", "MH", "FM", "NF", "MP", "PW", "SY", "UM", "VI"}
)
SHIPPING_COUNTRIES = [code for code, _ in countries() if code not in UNSUPPORTED_SHIPPING_COUNTRIES]
# US bank accounts take US dollars only (docs.stripe.com/payments/ach-direct-debit); Klarna presents these
# currencies (docs.stripe.com/payments/klarna, "Presentment currency").
BANK_DEBIT_CURRENCIES = frozenset({"usd"})
KLARNA_CURRENCIES = frozenset(
    {"aud", "cad", "chf", "czk", "dkk", "eur", "gbp", "nok", "nzd", "pln", "ron", "sek", "usd"}
)

PROCESSING_MESSAGE = "Payment processing: your bank debit takes a few days; we will email you."
NOT_FINISHED_MESSAGE = "The payment was not finished, so nothing was charged. Pay again to complete it."
EXPIRED_MESSAGE = "This checkout expired before it was paid, so nothing was charged. Pay again to buy the book."


@dataclass(frozen=True)
class PreparedSession(Prepared):
    """A click on Pay in the Checkout Sessions flow answered: `client_secret` is the session's, for the page to
    mount the Payment Element on."""

    session_id: str | None = None
    contact: dict[str, Any] | None = None  # what the session's Address Element was given before (`address_contact`)


def payment_method_types(currency: str) -> list[str]:
    """What the session offers in `currency`: card always, a US bank account and Klarna where they take it."""
    types = ["card"]
    if currency.lower() in BANK_DEBIT_CURRENCIES:
        types.append("us_bank_account")
    if currency.lower() in KLARNA_CURRENCIES:
        types.append("klarna")
    return types


def create_key(order: Order, earlier_sessions: int) -> str:
    """The idempotency key of the order's next session create: from the order, its amount and how many sessions
    it had, so a lost answer retried gives the same session while a revision (or an expired session) gets a new
    one."""
    return f"cs-{order.id}-{order.amount}-{earlier_sessions}"


def session_params(order: Order, line: catalog.PricedLine, return_url: str) -> dict[str, Any]:
    """The Checkout Session of `order`: its line priced by the catalog (never the browser), its customer's email,
    shipping and phone collection, the order id in metadata, and the return URL naming the session."""
    metadata = {"order_id": order.id, "book_id": order.book_id, "quantity": str(order.quantity)}
    return {
        "mode": "payment",
        "ui_mode": "elements",
        "line_items": [
            {
                "price_data": {
                    "currency": line.currency,
                    "unit_amount": line.unit_amount,
                    "product_data": {"name": line.book.title},
                },
                "quantity": line.quantity,
            }
        ],
        "customer_email": order.customer.email,
        "shipping_address_collection": {"allowed_countries": SHIPPING_COUNTRIES},
        "phone_number_collection": {"enabled": True},
        "payment_method_types": payment_method_types(line.currency),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "return_url": return_url,
    }


def sessions_of(order: Order, client: stripe.StripeClient, watch: Stopwatch | None = None) -> list[Any]:
    """The Checkout Sessions Stripe holds for `order` (by metadata), newest first."""
    watch = watch or Stopwatch()
    since = int(order.created) - 300  # clocks of this machine and Stripe's may differ by minutes
    found = watch.call(lambda: client.v1.checkout.sessions.list(params={"limit": 100, "created": {"gte": since}}))
    return [s for s in found.auto_paging_iter() if field(field(s, "metadata") or {}, "order_id") == order.id]


def _reusable_order(own: Order | None, customer: orders.Customer) -> Order | None:
    """The unpaid order this checkout continues: the page's own, or the customer's recent one of this flow (after
    a reload), so its open session is paid rather than a second order made."""
    candidates: list[Order] = []
    if own is not None and own.customer.email.strip().lower() == customer.email.strip().lower():
        candidates.append(own)
    now = time.time()
    candidates += [
        order
        for order in orders.list_orders(email=customer.email, status=("pending", "failed"), limit=20)
        if order.customer.email == customer.email
        and now - order.created <= REUSE_WINDOW_S
        and not order.payment_intent_id
    ]
    for order in candidates:
        if order.status in ("pending", "failed") and not order.paid_at and not order.cancelled_at:
            return order
    return None


# The fields of Stripe's Address object, named as the order's customer names them too.
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def collected_customer(session: Any, email: str) -> orders.Customer | None:
    """The name, address and phone the session collected (the Address Element's) as a customer with `email`;
    None before the customer gave them. Stripe names them `collected_information.shipping_details` since API
    version 2025-03-31 (`shipping_details` before) and the phone `customer_details.phone`."""
    shipping = field(session, "collected_information", "shipping_details") or field(session, "shipping_details")
    address = field(shipping, "address")
    if not address:
        return None
    lines = {name: field(address, name) or "" for name in ADDRESS_FIELDS}
    phone = field(session, "customer_details", "phone") or ""
    return orders.Customer(name=field(shipping, "name") or "", email=email, phone=phone, **lines)


def address_contact(customer: orders.Customer | None) -> dict[str, Any] | None:
    """What the customer gave an earlier Address Element of the order (`collected_customer`) as Stripe.js's
    Contact object, the saved address the next one shows selected (docs.stripe.com/js/appendix/contact_object);
    None when there is none."""
    if customer is None:
        return None
    address = {name: getattr(customer, name) for name in ADDRESS_FIELDS}
    return {"name": customer.name, "address": address, "phone": customer.phone}


def prepare_session(
    details: Mapping[str, Any],
    book_id: str,
    quantity: int,
    *,
    return_url: str,
    order_id: str | None = None,
    allow_duplicate: bool = False,
    client: stripe.StripeClient | None = None,
) -> PreparedSession:
    """Validate the email (the only detail the shop asks here: Stripe's Address Element asks the name, address and
    phone, which reach the order when the session is settled), write (or revise) the order and find or create its
    open Checkout Session.

    `return_url` must carry `{CHECKOUT_SESSION_ID}` (Stripe fills it in). An open session of the order at the
    order's amount is reused (a retry, a decline, a reload); one at another amount is expired first and a new one
    made once the order is revised. A session of the order that completed meanwhile is settled first: a paid one is
    returned as `paid`. A possible duplicate purchase is returned as `duplicate_of` unless `allow_duplicate`.
    """
    opening = open_checkout(details, book_id, quantity, email_only=True)
    if opening.customer is None or opening.line is None:
        return PreparedSession(errors=opening.errors, message=opening.message)
    customer, line = opening.customer, opening.line
    client = configured_client(client)
    if client is None:
        return PreparedSession(message=NOT_CONFIGURED_MESSAGE)
    watch = Stopwatch()
    order = None
    try:
        own = orders.get_order(order_id) if order_id else None
        if own is not None and own.paid_at and own.charge_id:  # paid meanwhile (another tab, a webhook)
            return PreparedSession(order=own, paid=result_of_settle(own.id, "succeeded", None, None, watch.seconds))
        order = _reusable_order(own, customer)
        found: list[Any] = []
        if order is not None:
            found = sessions_of(order, client, watch)
            for done in (s for s in found if field(s, "status") == "complete"):
                settled = settle_session(field(done, "id"), client=client, watch=watch)
                if settled is not None and settled.outcome in ("succeeded", "processing"):
                    if order.id == order_id:
                        return PreparedSession(order=settled.order, paid=settled, stripe_seconds=watch.seconds)
                    order, found = None, []  # an earlier purchase: this click is a new one
                    break
        if not allow_duplicate:
            continued = order.id if order is not None else None
            duplicate = order_checks.possible_duplicate(customer.email, line, exclude=continued)
            if duplicate is not None:
                return PreparedSession(duplicate_of=duplicate, stripe_seconds=watch.seconds)
        if order is None:
            order = orders.create_order(customer, line, capture_method="automatic")
        usable = None
        for session in (s for s in found if field(s, "status") == "open"):
            same = (field(session, "amount_total"), field(session, "currency")) == (line.total, line.currency)
            if same and usable is None and field(session, "customer_email") == customer.email:
                usable = session
            else:  # another quantity or email: this session must never take a payment now
                session_id = field(session, "id")
                watch.call(lambda session_id=session_id: client.v1.checkout.sessions.expire(session_id))
        if (order.book_id, order.quantity, order.customer.email) != (line.book.id, line.quantity, customer.email):
            # The name, address and phone are what Stripe collected, kept; the email is the one typed here.
            order = orders.revise_order(order.id, dataclasses.replace(order.customer, email=customer.email), line)
        if usable is None:
            params = session_params(order, line, return_url)
            key = create_key(order, len(found))
            usable = watch.call(
                lambda: client.v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
            )
        order = orders.get_order(order.id) or order
    except IntentUnavailable as exc:
        return PreparedSession(order=order, message=exc.message, stripe_seconds=watch.seconds)
    except OrderStateError as exc:
        return PreparedSession(order=order, message=str(exc), stripe_seconds=watch.seconds)
    except stripe.InvalidRequestError as exc:
        # The session completed between our list and its expiry (paid on the old terms): settle it next click.
        log.warning("Stripe refused a session call for order %s: %s", order.id if order else None, error_details(exc))
        return PreparedSession(order=order, message=UNEXPECTED_MESSAGE, stripe_seconds=watch.seconds)
    except stripe.StripeError:  # authentication, permission: a configuration problem, not the customer's
        log.exception("Stripe refused the shop's request for order %s", order.id if order else None)
        return PreparedSession(order=order, message=NOT_CONFIGURED_MESSAGE, stripe_seconds=watch.seconds)
    return PreparedSession(
        order=order,
        session_id=field(usable, "id"),
        client_secret=field(usable, "client_secret"),
        stripe_seconds=watch.seconds,
        contact=address_contact(collected_customer(usable, order.customer.email)),
    )


def settle_session(
    session_id: str,
    *,
    nonce: str | None = None,
    client: stripe.StripeClient | None = None,
    watch: Stopwatch | None = None,
) -> ChargeResult | None:
    """Retrieve the Checkout Session (its PaymentIntent and latest charge expanded) and record what Stripe says
    about its order; None when the session names no order of the shop.

    complete and paid -> the order is paid with the charge, at the charge's amount and currency when the order may
    take them (`order_rules.may_be_paid_with`); otherwise the charge is refunded (outcome "refunded"). Complete
    and unpaid while the PaymentIntent is processing (a bank debit) -> outcome "processing": the order stays
    unpaid. A failed payment (a decline, a failed debit) -> the attempt is recorded failed once per failed charge
    (or per `nonce`, the page's attempt, when there is no charge) and the order is failed, payable again; an
    expired session -> "expired"; anything else -> "not_finished". Raises IntentUnavailable when Stripe does not
    answer; a retry is safe.
    """
    watch = watch or Stopwatch()
    client = client_or_default(client)
    session = watch.call(
        lambda: client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["payment_intent.latest_charge"]})
    )
    order_id = field(field(session, "metadata") or {}, "order_id")
    order = orders.get_order(order_id) if order_id else None
    if order is None:
        return None
    intent = field(session, "payment_intent")
    if isinstance(intent, str):  # not expanded (a Stripe that ignored expand): fetch it
        intent_id = intent
        intent = watch.call(lambda: client.v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]}))
    charge = field(intent, "latest_charge")
    if isinstance(charge, str):
        charge_id = charge
        charge = watch.call(lambda: client.v1.charges.retrieve(charge_id))
    status, payment_status = field(session, "status"), field(session, "payment_status")
    intent_status = field(intent, "status")
    collected = collected_customer(session, order.customer.email)
    if collected is not None and not order.paid_at:  # the order ships where the Address Element said
        orders.take_shipping_details(order.id, collected)
    if status == "complete" and payment_status == "paid" and field(charge, "status") == "succeeded":
        return settle_paid_charge(order, charge, client, watch.seconds)
    if status == "complete" and intent_status == "processing":
        brand, last4 = payment_methods.brand_and_last4(charge)
        orders.note_debit_processing(order.id, card_brand=brand, card_last4=last4)
        return result_of_settle(order.id, "processing", charge, PROCESSING_MESSAGE, watch.seconds)
    error = field(intent, "last_payment_error")
    if intent_status == "requires_payment_method" and error:
        code, decline = field(error, "code"), field(error, "decline_code")
        failed_charge = charge if field(charge, "status") == "failed" else None
        attempts.record_decline(order, error, failed_charge, nonce)
        method = field(error, "payment_method", "type")
        message = decline_codes.payment_failed_message(code, decline, method)
        return result_of_settle(
            order.id, "declined", failed_charge, message, watch.seconds, code=code, decline_code=decline
        )
    if status == "expired":
        return result_of_settle(order.id, "expired", None, EXPIRED_MESSAGE, watch.seconds)
    return result_of_settle(order.id, "not_finished", None, NOT_FINISHED_MESSAGE, watch.seconds)


def settle_completed_sessions(
    client: stripe.StripeClient | None = None, *, now: float | None = None
) -> list[ChargeResult]:
    """Settle the unpaid orders of every session that completed in the last SETTLE_LOOKBACK_S (a tab closed after
    paying, a lost answer, a webhook never delivered, a bank debit that settled since). Never confirms or creates
    anything, so it cannot charge; sessions Stripe does not answer for are left for the next run."""
    client = client_or_default(client)
    since = int((now if now is not None else time.time()) - SETTLE_LOOKBACK_S)
    params = {"limit": 100, "status": "complete", "created": {"gte": since}}
    results = []
    try:
        for session in client.v1.checkout.sessions.list(params=params).auto_paging_iter():
            order_id = field(field(session, "metadata") or {}, "order_id")
            order = orders.get_order(order_id) if order_id else None
            if order is None or order.paid_at or order.cancelled_at:
                continue
            try:
                settled = settle_session(field(session, "id"), client=client)
            except IntentUnavailable:
                continue
            if settled is not None:
                results.append(settled)
    except TRANSIENT_ERRORS:  # the list itself went unanswered: the rest waits for the next run
        log.warning("listing completed Checkout Sessions failed; the next reconciliation tries again", exc_info=True)
    return results
