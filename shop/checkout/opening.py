"""The opening every checkout flow shares: what Stripe is told of an order, and how a new order is paid."""

from __future__ import annotations

from typing import Any

from shop import catalog, orders
from shop.config import get_settings
from shop.orders import Order


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
