"""A large local copy of Stripe's charges, written straight into the shop's SQL tables for benchmarks.

`fill_local_copy(engine, count, days, seed)` inserts `count` charges spread over the last `days` days (and a
refund row for each refunded one) as one change of the copy, the way a backfill would leave them, without a
Stripe account or an emulator: a million rows take well under a minute on SQLite. `mark_synced(engine)` then
tells the pages the copy is fresh, so their sync bar does not try to reach Stripe.

What the rows look like: orders of the books in shop/catalog.json (one copy mostly, sometimes two or three) by
about 50,000 customers, a few of whom buy often; about one charge in seven failed with a decline code, most
failed orders paid a little later with another card; about one captured charge in sixteen refunded, fully or in
part; the last week's charges partly authorized and not captured yet; Stripe's fee of 2.9% + 30 cents on every
captured charge. Card details, names and emails are made up (example.com). The charge JSON (`charge_payloads`)
and balance transactions are not written: the finance pages read the columns.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import sqlalchemy as sa

from shop import catalog, db, sync_store
from shop.orders import ORDER_ID_ALPHABET
from shop.schema import charges, refunds

CHUNK = 20_000
NULLABLE = {column.name: None for column in charges.columns if column.nullable}
CUSTOMERS = 50_000
FIRST_NAMES = (
    "Ada", "Alan", "Barbara", "Claude", "Dorothy", "Edsger", "Frances", "Grace", "Hedy", "John", "Katherine",
    "Leslie", "Margaret", "Niklaus", "Radia", "Shafi", "Tim", "Vint", "Whitfield", "Yukihiro",
)  # fmt: skip
LAST_NAMES = (
    "Allen", "Backus", "Chen", "Dijkstra", "Engelbart", "Feigenbaum", "Goldberg", "Hamilton", "Hopper", "Johnson",
    "Kay", "Lamport", "Liskov", "McCarthy", "Nygaard", "Perlman", "Ritchie", "Shannon", "Thompson", "Wirth",
)  # fmt: skip
BRANDS = (("visa", 60), ("mastercard", 25), ("amex", 10), ("discover", 5))
# failure_code, decline_code, weight: what Stripe reports for a declined card.
FAILURES = (
    ("card_declined", "generic_decline", 30),
    ("card_declined", "insufficient_funds", 25),
    ("card_declined", "do_not_honor", 10),
    ("card_declined", "lost_card", 4),
    ("card_declined", "stolen_card", 3),
    ("card_declined", "card_velocity_exceeded", 5),
    ("card_declined", "fraudulent", 3),
    ("expired_card", None, 10),
    ("incorrect_cvc", None, 7),
    ("processing_error", None, 3),
)
FAILURE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
}
FAILED_ATTEMPTS = ((0, 87), (1, 10), (2, 3))  # failed attempts before an order pays (or gives up)
GIVE_UP = 0.45  # share of orders with a failed attempt never paid
REFUNDED = 1 / 16  # share of captured charges refunded, half of them in full
UNCAPTURED_DAYS = 7  # charges of the last week may still wait for capture at shipment
UNCAPTURED = 0.2


@dataclass(frozen=True)
class Filled:
    """What `fill_local_copy` wrote: charges (of them failed), refund rows, and the change number of the copy."""

    charges: int
    failed: int
    refunds: int
    version: int


def _weighted(rng: random.Random, choices: tuple) -> tuple:
    return rng.choices(choices, weights=[choice[-1] for choice in choices])[0]


def _order_id(number: int) -> str:
    """A distinct SP-XXXXXXXX per order number, scattered over the alphabet like the shop's random ones."""
    base = len(ORDER_ID_ALPHABET)
    value = (number * 2_654_435_761 + 97) % base**8  # coprime with base**8: one order number, one id
    digits = []
    for _ in range(8):
        value, digit = divmod(value, base)
        digits.append(ORDER_ID_ALPHABET[digit])
    return "SP-" + "".join(digits)


def _customer(number: int) -> tuple[str, str]:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first} {last}", f"{first}.{last}.{number}@example.com".lower()


def _card(rng: random.Random, avoid: tuple[str, str] | None = None) -> tuple[str, str]:
    while True:
        card = (_weighted(rng, BRANDS)[0], f"{rng.randrange(10_000):04d}")
        if card != avoid:
            return card


def fill_local_copy(engine: sa.Engine, count: int, days: int, seed: int, *, now: float | None = None) -> Filled:
    """Insert `count` charges created over the `days` days before `now` (default: the time of the call).

    Deterministic for a `seed` and `now`. Ids are `ch_b…` (and `re_b…` for refunds), distinct for distinct seeds;
    the rows are one change of the copy (one `sync_seq`), written in one transaction in chunks of CHUNK rows.
    """
    rng = random.Random(seed)
    now = int(time.time() if now is None else now)
    first = now - days * 86_400
    books = [(book.id, book.price, book.currency) for book in catalog.all_books()]
    prefix = f"ch_b{seed:x}x"
    made = failed_count = refund_count = order_number = 0
    charge_rows: list[dict] = []
    refund_rows: list[dict] = []
    with engine.begin() as conn:
        version = db.next_change(conn)

        def charge(**row: object) -> None:
            nonlocal made
            # Every row with every nullable column: one INSERT of many rows needs the same keys in each.
            charge_rows.append(
                {**NULLABLE, **row, "id": f"{prefix}{made:09d}", "sync_seq": version, "event_created": row["created"]}
            )
            made += 1

        def flush(final: bool = False) -> None:
            if charge_rows and (final or len(charge_rows) >= CHUNK):
                conn.execute(charges.insert(), charge_rows)
                charge_rows.clear()
            if refund_rows and (final or len(refund_rows) >= CHUNK):
                conn.execute(refunds.insert(), refund_rows)
                refund_rows.clear()

        while made < count:
            order_number += 1
            order_id = _order_id(seed * 10_000_000 + order_number)
            customer = int(CUSTOMERS * rng.random() ** 2)  # a few customers buy often
            name, email = _customer(customer)
            book_id, price, currency = rng.choice(books)
            quantity = rng.choices((1, 2, 3), weights=(87, 10, 3))[0]
            amount = price * quantity
            at = rng.randrange(first, now - 60)
            common = {
                "amount": amount,
                "currency": currency,
                "receipt_email": email,
                "customer_name": name,
                "description": f"Order {order_id}",
                "order_id": order_id,
                "book_id": book_id,
                "quantity": quantity,
            }
            card = _card(rng)
            attempts = _weighted(rng, FAILED_ATTEMPTS)[0]
            for _ in range(attempts):
                if made >= count:
                    break
                failure_code, decline_code, _weight = _weighted(rng, FAILURES)
                charge(
                    **common,
                    created=at,
                    amount_captured=0,
                    amount_refunded=0,
                    status="failed",
                    paid=False,
                    captured=False,
                    refunded=False,
                    failure_code=failure_code,
                    failure_message=FAILURE_MESSAGES[failure_code],
                    decline_code=decline_code,
                    outcome_type="issuer_declined",
                    risk_level="normal",
                    card_brand=card[0],
                    card_last4=card[1],
                )
                failed_count += 1
                at += rng.choice((30, 90, 300, 900, 3600, 4 * 3600, 86_400)) + rng.randrange(60)
            if made >= count or at >= now or (attempts and rng.random() < GIVE_UP):
                flush()
                continue
            if attempts:
                card = _card(rng, avoid=card)  # a failed order is paid with another card
            held = at >= now - UNCAPTURED_DAYS * 86_400 and rng.random() < UNCAPTURED
            refunded = 0
            if not held and rng.random() < REFUNDED:
                refunded = amount if rng.random() < 0.5 else max(100, amount // 2)
            fee = None if held else round(amount * 0.029) + 30
            charge(
                **common,
                created=at,
                amount_captured=0 if held else amount,
                amount_refunded=refunded,
                status="succeeded",
                paid=True,
                captured=not held,
                refunded=refunded == amount,
                failure_code=None,
                failure_message=None,
                decline_code=None,
                outcome_type="authorized",
                risk_level="normal",
                card_brand=card[0],
                card_last4=card[1],
                balance_transaction=None if held else f"txn_b{seed:x}x{made:09d}",
                fee=fee,
                net=None if fee is None else amount - fee,
            )
            if refunded:
                refund_count += 1
                refund_created = min(now - 1, at + rng.randrange(3600, 20 * 86_400))
                refund_rows.append(
                    {
                        "id": f"re_b{seed:x}x{refund_count:09d}",
                        "charge_id": f"{prefix}{made - 1:09d}",
                        "created": refund_created,
                        "amount": refunded,
                        "currency": currency,
                        "reason": rng.choice(("requested_by_customer", "duplicate", None)),
                        "status": "succeeded",
                        "raw": "{}",
                        "event_created": refund_created,
                    }
                )
            flush()
        flush(final=True)
    return Filled(charges=made, failed=failed_count, refunds=refund_count, version=version)


def mark_synced(engine: sa.Engine) -> None:
    """Record the copy as backfilled and synced just now, so the pages read it without asking Stripe first.

    Call again before a page run when more than a minute passed (the pages sync an older copy by themselves).
    """
    with engine.begin() as conn:
        sync_store.write_state(
            conn, {sync_store.BACKFILLED: "1", sync_store.LAST_EVENT_ID: "", sync_store.LAST_SYNCED_AT: time.time()}
        )
