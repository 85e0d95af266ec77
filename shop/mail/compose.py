"""Each outbox row into an email: one plain-text and one HTML template per kind, the headers built, not joined.

The HTML templates are autoescaped (Jinja2 `select_autoescape`), so a name like `<script>` or `=HYPERLINK(…)` is
text in the message, never markup; the plain-text ones are plain text. Headers go through `EmailMessage` with the
default policy and `email.headerregistry.Address`: a display name is quoted or encoded as needed and a CR or LF in
it is replaced by a space first, so customer text can never start a header of its own. The only recipient is the
outbox row's, which is the order's email as it was when the change happened.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import jinja2
import sqlalchemy as sa
import stripe

from shop import catalog, decline_codes, payment_methods
from shop.config import stripe_client
from shop.mail.outbox import OutboxMessage
from shop.mail.settings import MailSettings
from shop.money import format_amount
from shop.orders import Order, get_order
from shop.refund_requests import get_refund_request
from shop.schema import charge_payloads, charges, refunds

SUBJECTS = {
    "confirmed": "Your order {order} is confirmed",
    "confirmed_authorized": "Your order {order} is placed (card authorized, not charged)",
    "shipped": "Your order {order} has shipped",
    "cancelled": "Your order {order} is cancelled",
    "refunded": "A refund for your order {order}",
    "refund_corrected": "A correction about the refund of your order {order}",
    "request_received": "We have your refund request for order {order}",
    "request_approved": "Your refund request for order {order} is approved",
    "request_rejected": "About your refund request for order {order}",
    "debit_processing": "We have your order {order}: your bank payment is on its way",
    "debit_failed": "Your bank returned the payment for order {order}",
}
# Stripe's refund reasons (docs.stripe.com/api/refunds/object#refund_object-reason) in a customer's words.
REASON_WORDS = {
    "requested_by_customer": "you asked us for it",
    "duplicate": "you were charged more than once for the same order",
    "fraudulent": "the payment looked as if it was not made by the card's owner",
    "expired_uncaptured_charge": "the hold on your card expired before the books shipped",
}


class NotReady(RuntimeError):
    """What the email needs is not available yet (Stripe did not answer): try again later."""


class Undeliverable(ValueError):
    """The email can never be sent as it stands (no such order, no valid address); the message says what to fix."""


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("shop.mail", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class ChargeFacts:
    """What the confirmation says about the charge, as Stripe returned it."""

    card_brand: str | None
    card_last4: str | None
    receipt_url: str | None


def _single_line(text: str) -> str:
    return " ".join(str(text).split())


def _address_lines(order: Order) -> list[str]:
    customer = order.customer
    town = " ".join(part for part in (customer.city, customer.state, customer.postal_code) if part)
    lines = [customer.name, customer.line1, customer.line2, town, customer.country]
    return [_single_line(line) for line in lines if line and line.strip()]


def _charge_facts(order: Order, facts: dict[str, Any], engine: sa.Engine, client: Any) -> ChargeFacts:
    """Card and receipt of the order's charge as Stripe has them: the local copy of Stripe, else Stripe itself.

    The card the browser reported at checkout (`facts`) is the last resort only.
    """
    brand, last4, receipt_url = facts.get("card_brand"), facts.get("card_last4"), None
    if order.charge_id:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(charges.c.card_brand, charges.c.card_last4, charge_payloads.c.raw)
                .select_from(charges.outerjoin(charge_payloads, charge_payloads.c.id == charges.c.id))
                .where(charges.c.id == order.charge_id)
            ).first()
        if row is not None:
            brand, last4 = row.card_brand or brand, row.card_last4 or last4
            receipt_url = json.loads(row.raw).get("receipt_url") if row.raw else None
        if receipt_url is None or not (brand and last4):
            charge = _retrieve_charge(order.charge_id, client)
            card = (charge.get("payment_method_details") or {}).get("card") or charge.get("source") or {}
            brand, last4 = card.get("brand") or brand, card.get("last4") or last4
            receipt_url = charge.get("receipt_url")
    return ChargeFacts(brand, last4, receipt_url)


def _retrieve_charge(charge_id: str, client: Any) -> dict[str, Any]:
    try:
        charge = (client or stripe_client()).v1.charges.retrieve(charge_id)
    except stripe.InvalidRequestError:
        return {}  # Stripe has no such charge: the email goes without the receipt link
    except stripe.StripeError as exc:
        raise NotReady(f"Stripe did not answer for charge {charge_id}: {type(exc).__name__}") from exc
    return charge.to_dict() if hasattr(charge, "to_dict") else dict(charge)


def _refund_reason(order: Order, engine: sa.Engine, client: Any) -> str:
    """The newest refund's reason for the order's charge, in plain words ("" when Stripe gave none)."""
    if not order.charge_id:
        return ""
    with engine.connect() as conn:
        reason = conn.execute(
            sa.select(refunds.c.reason)
            .where(refunds.c.charge_id == order.charge_id)
            .order_by(refunds.c.created.desc(), refunds.c.id.desc())
            .limit(1)
        ).scalar()
    if reason is None:
        try:
            found = (client or stripe_client()).v1.refunds.list(params={"charge": order.charge_id, "limit": 1})
        except stripe.StripeError as exc:
            raise NotReady(f"Stripe did not answer for the refunds of {order.charge_id}") from exc
        reason = found.data[0].reason if found.data else None
    return REASON_WORDS.get(reason or "", "")


def context(
    message: OutboxMessage, order: Order, settings: MailSettings, *, engine: sa.Engine, client: Any = None
) -> dict[str, Any]:
    """Everything the templates of `message.kind` read."""
    book = catalog.get_book(order.book_id)
    facts = message.facts

    def money(amount: int) -> str:
        return format_amount(int(amount), order.currency)

    values: dict[str, Any] = {
        "shop_name": settings.shop_name,
        "reply_to": settings.reply_to,
        "name": _single_line(order.customer.name) or "there",
        "order_id": order.id,
        "your_order_url": f"{settings.shop_url}/your_order?order={order.id}",
        "book_title": book.full_title,
        "book_author": book.author,
        "quantity": order.quantity,
        "unit_price": money(order.unit_amount),
        "total": money(order.amount),
        "address": _address_lines(order),
        "charge_id": order.charge_id or "",
        "authorized_only": order.capture_method == "manual" and message.kind == "confirmed",
        "captured_at_shipment": order.capture_method == "manual" and bool(order.captured_at),
        "carrier": order.carrier or "",
        "tracking_number": order.tracking_number or "",
        "refunded": money(facts.get("refunded", 0)) if facts.get("refunded") else "",
        "released": bool(facts.get("released")),
        "amount": money(facts.get("amount", 0)),
        "full": int(facts.get("total", 0)) >= order.amount,
        "refunded_total": money(facts.get("total", order.amount_refunded)),
        "refunded_total_amount": int(facts.get("total", order.amount_refunded)),
        "returned": money(facts.get("returned", 0)),
        "note": (facts.get("note") or "").strip(),
        "request_reason": "",
        "reason": "",
        "card": "card",
        "receipt_url": None,
    }
    if message.kind in ("confirmed", "cancelled", "refunded", "request_approved"):
        charge = _charge_facts(order, facts, engine, client)
        values["card"] = payment_methods.in_words(charge.card_brand, charge.card_last4) or values["card"]
        if message.kind == "confirmed":
            values["receipt_url"] = charge.receipt_url
    if message.kind in ("debit_processing", "debit_failed"):  # the bank account the order was paid from
        values["card"] = payment_methods.in_words(facts.get("card_brand"), facts.get("card_last4")) or "bank account"
    if message.kind == "debit_failed":
        returned = decline_codes.advice_for(f"{facts.get('code')}{decline_codes.BANK_DEBIT_MARK}")
        values["reason"] = returned.customer_message
    if message.kind == "refunded":
        values["reason"] = _refund_reason(order, engine, client)
    if message.kind == "request_received":
        request = get_refund_request(int(facts.get("request", 0)), engine=engine)
        values["request_reason"] = request.reason if request else ""
    return values


def subject_for(message: OutboxMessage, order: Order) -> str:
    """The subject line: fixed words and the order number only, never customer text."""
    kind = message.kind
    if kind == "confirmed" and order.capture_method == "manual":
        kind = "confirmed_authorized"
    return SUBJECTS[kind].format(order=order.id)


def sender_address(settings: MailSettings) -> Address:
    """EMAIL_FROM (a bare address or "Name <address>") with the shop's name as its display name."""
    _, addr = parseaddr(settings.email_from)
    return Address(display_name=_single_line(settings.shop_name), addr_spec=addr or settings.email_from)


# RFC 5322 "specials": in a display name they must be quoted, and Python's header folding does not always quote
# them (a name "Eve Bcc: x@example.net" came out as a group with x@example.net in it), so they are left out.
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def display_name(name: str) -> str:
    """A customer's name as a header's display name: one line, without RFC 5322 specials."""
    return _single_line(_SPECIALS.sub(" ", name))


def recipient_address(name: str, email: str) -> Address:
    """The customer as a To address; Undeliverable when `email` is not one address."""
    try:
        address = Address(display_name=display_name(name), addr_spec=email.strip())
    except (ValueError, IndexError) as exc:
        raise Undeliverable(
            f"{email!r} is not an email address, so nothing can be sent to it; ask the customer for theirs."
        ) from exc
    if not address.domain or not address.username:
        raise Undeliverable(f"{email!r} is not a complete email address; ask the customer for theirs.")
    return address


def build(message: OutboxMessage, settings: MailSettings, *, engine: sa.Engine, client: Any = None) -> EmailMessage:
    """The email for one outbox row, ready to send; NotReady (try later) or Undeliverable (tell staff)."""
    order = get_order(message.order_id or "", engine=engine) if message.order_id else None
    if order is None:
        raise Undeliverable(f"The email's order {message.order_id} no longer exists.")
    values = context(message, order, settings, engine=engine, client=client)
    values["subject"] = subject_for(message, order)
    email = EmailMessage()
    email["Subject"] = values["subject"]
    email["From"] = sender_address(settings)
    email["To"] = recipient_address(order.customer.name, message.recipient)
    if settings.reply_to:
        _, reply = parseaddr(settings.reply_to)
        email["Reply-To"] = Address(addr_spec=reply or settings.reply_to)
    email["Date"] = format_datetime(datetime.fromtimestamp(message.created, UTC))
    email["Message-ID"] = message.message_id
    email["X-Shop-Order"] = order.id
    email["X-Shop-Email"] = message.kind
    email.set_content(_templates.get_template(f"{message.kind}.txt").render(values))
    email.add_alternative(_templates.get_template(f"{message.kind}.html").render(values), subtype="html")
    return email
