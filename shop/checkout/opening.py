"""The opening every checkout flow shares: what Stripe is told of an order, and how a new order is paid."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from shop import catalog, orders
from shop.config import ConfigError, get_settings
from shop.orders import Order
from shop.stripe_io import client_or_default
from shop.validation import validate_customer, validate_email_only

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opening:
    """The start of one click on Pay: the customer and the line priced from the catalog, or what to fix (`errors`
    by field, or one `message`)."""

    errors: dict[str, str]
    message: str | None = None
    customer: orders.Customer | None = None
    line: catalog.PricedLine | None = None


def open_checkout(details: Mapping[str, Any], book_id: str, quantity: int, *, email_only: bool = False) -> Opening:
    """Validate the customer's details (`email_only`: the email alone, the rest left empty for Stripe to collect)
    and price `quantity` copies of the book once, from the catalog."""
    checked = validate_email_only(details) if email_only else validate_customer(details)
    if not checked.ok:
        return Opening(errors=checked.errors)
    try:
        line = catalog.priced_line(book_id, quantity)
    except (ValueError, catalog.UnknownBookError) as exc:
        return Opening(errors={}, message=str(exc))
    return Opening(errors={}, customer=orders.Customer(**checked.values), line=line)


def configured_client(client: stripe.StripeClient | None) -> stripe.StripeClient | None:
    """`client`, or the settings' own, or None when payments are not configured (the setting to fix is the
    operator's, so it goes to the log; the customer reads NOT_CONFIGURED_MESSAGE)."""
    try:
        return client_or_default(client)
    except ConfigError:
        log.exception("payments are not configured")
        return None


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


def new_capture_method() -> orders.CaptureMethod:
    """How a new order is paid under the CAPTURE setting: "manual" (authorize now, capture at shipment) or
    "automatic"."""
    return "manual" if get_settings().capture_at_shipment else "automatic"
