"""Test data the test folders share: charges as Stripe returns them, a hand-worked fixture, a customer."""

from __future__ import annotations

from datetime import UTC, datetime

from shop import orders, schema, sync_rows
from shop.db import upsert

HAMMING = "art-of-doing-science"


def ts(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> int:
    """Unix seconds for 2026-<month>-<day> <hour>:<minute> UTC."""
    return int(datetime(2026, month, day, hour, minute, tzinfo=UTC).timestamp())


def charge_object(
    charge_id: str,
    created: int,
    amount: int,
    *,
    status: str = "succeeded",
    captured: bool = True,
    amount_refunded: int = 0,
    email: str = "",
    name: str = "",
    brand: str = "visa",
    last4: str = "4242",
    order_id: str | None = None,
    book_id: str | None = HAMMING,
    quantity: int | None = 1,
    failure_code: str | None = None,
    decline_code: str | None = None,
) -> dict:
    """A charge as Stripe returns it (the fields the sync reads), for fixtures."""
    failed = status == "failed"
    amount_captured = amount if captured and not failed else 0
    metadata = {}
    if order_id:
        metadata = {"order_id": order_id, "book_id": book_id, "quantity": str(quantity)}
    return {
        "id": charge_id,
        "object": "charge",
        "created": created,
        "amount": amount,
        "amount_captured": amount_captured,
        "amount_refunded": amount_refunded,
        "currency": "usd",
        "status": status,
        "paid": not failed,
        "captured": captured and not failed,
        "refunded": amount_refunded > 0 and amount_refunded >= (amount_captured or amount),
        "failure_code": failure_code,
        "failure_message": "Your card was declined." if failed else None,
        "outcome": {
            "type": "issuer_declined" if failed else "authorized",
            "reason": decline_code,
            "risk_level": "normal",
        },
        "payment_method_details": {"type": "card", "card": {"brand": brand, "last4": last4}},
        "receipt_email": email or None,
        "shipping": {"name": name} if name else None,
        "billing_details": {"name": None, "email": None},
        "description": "A book",
        "metadata": metadata,
    }


# The fixture: "current" = the 7 days 2026-11-14 .. 11-20, "previous" = 11-07 .. 11-13.
FIXTURE = [
    charge_object("ch_a", ts(19, 10), 2300, email="ada@example.com", name="Ada L", order_id="SP-AAAA0001"),
    charge_object(
        "ch_b",
        ts(18),
        4600,
        amount_refunded=500,
        email="bob@example.com",
        name="Bob M",
        brand="mastercard",
        last4="4444",
        order_id="SP-BBBB0001",
        book_id="making-of-prince-of-persia",
        quantity=2,
    ),
    charge_object("ch_c", ts(17), 2000, amount_refunded=2000, email="cy@example.com", order_id="SP-CCCC0001"),
    charge_object(
        "ch_d",
        ts(16, 9, 0),
        2300,
        status="failed",
        email="dee@example.com",
        last4="9995",
        order_id="SP-DDDD0001",
        failure_code="card_declined",
        decline_code="insufficient_funds",
    ),
    charge_object(
        "ch_e", ts(16, 9, 5), 2300, email="dee@example.com", brand="mastercard", last4="4444", order_id="SP-DDDD0001"
    ),
    charge_object(
        "ch_f",
        ts(15),
        3000,
        status="failed",
        email="eve@example.com",
        last4="0002",
        order_id="SP-FFFF0001",
        failure_code="card_declined",
        decline_code="generic_decline",
    ),
    charge_object("ch_g", ts(14, 8), 2500, captured=False, email="gus@example.com", order_id="SP-GGGG0001"),
    charge_object("ch_h", ts(20, 8), 1000, email="", book_id=None, quantity=None),  # made outside the shop
    charge_object("ch_p1", ts(10), 2300, email="ada@example.com", order_id="SP-PPPP0001"),
    charge_object(
        "ch_p2", ts(9), 2300, status="failed", email="pat@example.com", failure_code="expired_card", order_id="SP-P2"
    ),
    charge_object("ch_old", ts(1, month=10), 9900, email="old@example.com", order_id="SP-OLD00001"),
]


def store_charges(engine, objects: list[dict]) -> None:
    """Put charges into the synced store as a sync would."""
    with engine.begin() as conn:
        upsert(conn, schema.charges, [sync_rows.charge_row(obj) for obj in objects])


CUSTOMER = orders.Customer(
    name="Katherine Johnson",
    email="katherine@example.com",
    phone="+1 757 555 0100",
    line1="1 Langley Blvd",
    city="Hampton",
    state="VA",
    postal_code="23681",
    country="US",
)


# The shop's checkout form as a customer fills it in (field name -> text), for tests and benchmarks of checkout.
CHECKOUT_DETAILS = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "phone": "+1 415 555 0100",
    "line1": "1 Harbor Way",
    "line2": "",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94107",
    "country": "US",
}
