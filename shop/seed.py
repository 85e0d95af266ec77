"""Demo history for the shop, made through the ordinary path: orders, charges, declines, refunds, shipments.

`python -m shop.seed [--days 30] [--orders 400] [--seed N] [--yes] [--if-empty]`

Nothing is written to a table directly: every order goes through `shop.orders.create_order`, every charge through
`shop.payments.pay_order` with one of Stripe's reusable test tokens (no card number ever reaches this process),
every refund and cancellation through `shop.payments`, shipments and refund requests through `shop.orders`.

The history is planned first (`plan_history`, pure and repeatable for a given random seed), then played in time
order. In emulator mode the emulator's clock is set to each step's time, so charges, refunds and events carry
past creation times, and the order store's clock follows it; the clock returns to real time at the end, also on
error. Against Stripe test mode the history is played at the real time (Stripe keeps real creation times), only
after `--yes`; a live key is always refused.

The mix, per order (see MIX for the numbers): most first payments succeed across card brands; about one in seven
is declined (insufficient funds most often), and most of those customers retry with another card and succeed,
usually within the hour; a few paid orders are cancelled before shipping; most paid orders older than a few days
are shipped; a few percent are refunded (full and partial, each of Stripe's refund reasons), some through the
customers' refund requests, which finance approves or rejects (the newest are left waiting). Orders come more on
weekdays and in the daytime (UTC), and about a quarter of orders come from returning customers.

A second run adds to the history: its random stream and its idempotency keys derive from the seed and the number
of orders already in the store, so it neither replays nor duplicates the first run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import stripe

from shop import catalog, orders, payments
from shop.config import ConfigError, Settings, get_settings
from shop.emulator_process import connected_client
from shop.orders import Customer
from shop.validation import validate_customer

DAY = 86_400
HOUR = 3_600
MINUTE = 60
DEFAULT_DAYS = 30
DEFAULT_ORDERS = 400
DEFAULT_SEED = 5

# Reusable test tokens that succeed, with the brand and last four digits of the card each stands for, and how
# often customers pay with it.
SUCCESS_CARDS: dict[str, tuple[str, str, int]] = {
    "tok_visa": ("visa", "4242", 40),
    "tok_mastercard": ("mastercard", "4444", 22),
    "tok_amex": ("amex", "0005", 12),
    "tok_visa_debit": ("visa", "5556", 10),
    "tok_discover": ("discover", "1117", 6),
    "tok_mastercard_debit": ("mastercard", "8210", 5),
    "tok_mastercard_prepaid": ("mastercard", "5100", 2),
    "tok_jcb": ("jcb", "0505", 1),
    "tok_diners": ("diners", "0004", 1),
    "tok_unionpay": ("unionpay", "0005", 1),
}
# Reusable test tokens that are declined at charge time (the decline codes of the facts page), and how often.
DECLINE_CARDS: dict[str, tuple[str, str, int]] = {
    "tok_chargeDeclinedInsufficientFunds": ("visa", "9995", 34),
    "tok_chargeDeclined": ("visa", "0002", 18),
    "tok_chargeDeclinedExpiredCard": ("visa", "0069", 10),
    "tok_chargeDeclinedIncorrectCvc": ("visa", "0127", 10),
    "tok_chargeDeclinedProcessingError": ("visa", "0119", 8),
    "tok_chargeDeclinedLostCard": ("visa", "9987", 5),
    "tok_chargeDeclinedStolenCard": ("visa", "9979", 4),
    "tok_chargeDeclinedVelocityLimitExceeded": ("visa", "6975", 4),
    "tok_radarBlock": ("visa", "0019", 4),
}
CARDS = {**SUCCESS_CARDS, **DECLINE_CARDS}
# Steps that call Stripe (the emulator's clock is set for these; the others only touch the order store).
STRIPE_STEPS = frozenset({"pay", "cancel", "refund", "approve"})


@dataclass(frozen=True)
class Mix:
    """The shape of the demo history, as probabilities per order (the seeder's stated bounds are around these)."""

    first_decline: float = 0.14  # first payment attempt declined
    retry_after_decline: float = 0.6  # a declined customer pays with another card
    returning_customer: float = 0.25  # the order comes from someone who ordered before
    cancel: float = 0.04  # a paid order cancelled before shipping (full refund)
    refund_fraudulent: float = 0.008  # finance refunds a paid order as fraudulent, before shipping
    refund_duplicate: float = 0.01  # finance refunds an accidental second order in full, before shipping
    refund_goodwill: float = 0.01  # finance refunds part of a shipped order (late delivery)
    request_full: float = 0.025  # after delivery the customer asks for a refund; approved in full
    request_partial: float = 0.015  # ... asks for part of it back (a damaged copy); approved for that part
    request_rejected: float = 0.008  # ... asks, and finance rejects it
    ship_after_h: tuple[float, float] = (4, 72)  # paid -> shipped
    weekend_weight: float = 0.55  # orders per weekend day relative to a weekday


MIX = Mix()

# Relative order volume by hour of day (UTC): quiet at night, busy late morning and evening.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 9, 9, 9, 8, 8, 9, 10, 9, 7, 4, 2)
QUANTITY_WEIGHTS = {1: 78, 2: 14, 3: 5, 4: 2, 5: 1}
BOOK_WEIGHTS = {
    "art-of-doing-science": 30,
    "working-in-public": 22,
    "high-growth-handbook": 20,
    "dream-machine": 16,
    "making-of-prince-of-persia": 12,
}

REQUEST_REASONS_FULL = (
    "The book arrived with a torn cover and bent pages.",
    "I ordered the wrong title by mistake.",
    "It was a gift and the person already had it.",
    "The parcel arrived soaked through.",
    "Pages 120 to 152 are printed twice and 153 to 184 are missing.",
)
REQUEST_REASONS_PARTIAL = (
    "One of the copies arrived with a crushed corner.",
    "The dust jacket was torn; the book itself is fine.",
    "Delivery took three weeks; can you refund part of it?",
)
REQUEST_REASONS_REJECTED = (
    "I read it and did not enjoy it.",
    "Found it cheaper somewhere else.",
)
REJECT_NOTES = ("Read and returned outside the policy.", "Price matching is not offered.")

FIRST_NAMES = (
    "Ada Alan Amara Ana Anders Anika Ben Bianca Carlos Chen Chloe Dana David Diego Elena Emeka Emma Farah Felix "
    "Grace Hana Hugo Ines Isaac Jamal Jane Jonas Julia Kai Kenji Laila Leo Lucia Maya Mateo Mei Mira Nadia Noah "
    "Nora Omar Oscar Priya Rafael Rosa Ruth Sam Sara Sofia Tariq Theo Uma Victor Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Abbott Adeyemi Alvarez Bauer Becker Brooks Castillo Chang Cohen Da_Silva Dubois Evans Fischer Garcia Gupta "
    "Hansen Haddad Ito Jensen Johnson Kim Kowalski Larsen Lee Lopez Martin Meyer Morales Nakamura Nguyen Novak "
    "Okafor Olsen Patel Perez Quinn Reyes Rossi Sato Schmidt Singh Smith Sullivan Tanaka Taylor Torres Walsh "
    "Weber Williams Wong Young Zhang"
).split()
STREET_NAMES = (
    "Oak Maple Cedar Pine Elm Lake Hill Park Washington Lincoln Market Mission Church River Sunset Highland "
    "Forest Spring Valley Meadow Harbor Orchard Willow Chestnut Franklin"
).split()
STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct")
# (city, state, ZIP prefix) for US addresses; ZIPs get two random digits after the prefix.
US_CITIES = (
    ("San Francisco", "CA", "941"),
    ("Oakland", "CA", "946"),
    ("Los Angeles", "CA", "900"),
    ("Seattle", "WA", "981"),
    ("Portland", "OR", "972"),
    ("Denver", "CO", "802"),
    ("Austin", "TX", "787"),
    ("Chicago", "IL", "606"),
    ("Minneapolis", "MN", "554"),
    ("Boston", "MA", "021"),
    ("Brooklyn", "NY", "112"),
    ("New York", "NY", "100"),
    ("Philadelphia", "PA", "191"),
    ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"),
    ("Madison", "WI", "537"),
    ("Ann Arbor", "MI", "481"),
    ("Raleigh", "NC", "276"),
)
# Addresses abroad: (country, city, state, postal code).
ABROAD = (
    ("CA", "Toronto", "ON", "M5V 2T6"),
    ("CA", "Vancouver", "BC", "V6B 1A1"),
    ("GB", "London", "", "EC1V 9HX"),
    ("GB", "Manchester", "", "M1 1AE"),
    ("DE", "Berlin", "", "10115"),
    ("IE", "Dublin", "", "D02 X285"),
    ("AU", "Melbourne", "VIC", "3000"),
    ("NL", "Amsterdam", "", "1012 AB"),
    ("SG", "Singapore", "", "049315"),
)
ABROAD_SHARE = 0.15


class SeedError(RuntimeError):
    """The seeder refused to run or could not finish; the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One thing that happens to a planned order at time `at` (unix seconds).

    kind: pay (token), cancel, ship, refund (reason, amount: None = all), request (reason text),
    approve (amount: None = all), reject (note).
    """

    at: int
    order: int
    kind: str
    token: str | None = None
    reason: str | None = None
    amount: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class PlannedOrder:
    """An order of the plan: who buys what when, and its steps in time order."""

    index: int
    at: int
    customer: Customer
    book_id: str
    quantity: int
    steps: tuple[Step, ...]


@dataclass
class SeedReport:
    """What a seeding run did (counts of orders, charges and what happened to them)."""

    run_id: str
    mode: str
    orders: int = 0
    charges: int = 0
    succeeded: int = 0
    declined: int = 0
    recovered: int = 0
    cancelled: int = 0
    shipped: int = 0
    refunds_full: int = 0
    refunds_partial: int = 0
    refund_requests: int = 0
    requests_approved: int = 0
    requests_rejected: int = 0
    skipped: int = 0
    errors: int = 0
    decline_codes: Counter = field(default_factory=Counter)
    brands: Counter = field(default_factory=Counter)
    refund_reasons: Counter = field(default_factory=Counter)
    duration_s: float = 0.0
    sync_summary: str = ""

    def summary(self) -> str:
        """A few lines for people: what was created."""
        codes = ", ".join(f"{code} {count}" for code, count in self.decline_codes.most_common())
        return (
            f"Seeded {self.orders} orders ({self.mode} mode, run {self.run_id}) in {self.duration_s:.1f} s: "
            f"{self.charges} charges, {self.succeeded} succeeded, {self.declined} declined ({codes or 'none'}), "
            f"{self.recovered} failed orders recovered with another card.\n"
            f"{self.shipped} shipped, {self.cancelled} cancelled, {self.refunds_full} full and "
            f"{self.refunds_partial} partial refunds, {self.refund_requests} refund requests "
            f"({self.requests_approved} approved, {self.requests_rejected} rejected)."
            + (f"\n{self.skipped} planned steps no longer applied and were skipped." if self.skipped else "")
            + (f"\n{self.errors} payments could not reach Stripe; see the Orders page." if self.errors else "")
            + (f"\n{self.sync_summary}" if self.sync_summary else "")
        )


# ---------------------------------------------------------------------------------------------------------------
# Planning (pure: the same seed and offset give the same plan)


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def fake_customer(rng: random.Random, taken_emails: set[str]) -> Customer:
    """A fictional but plausible customer: name, example.com/.org email, 555-01xx phone, a real-looking address."""
    while True:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES).replace("_", " ")
        handle = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}", f"{first}_{last}"))
        email = f"{handle.replace(' ', '').lower()}@{rng.choice(('example.com', 'example.org'))}"
        if email not in taken_emails:
            taken_emails.add(email)
            break
    number = f"{rng.randint(1, 4999)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_KINDS)}"
    line2 = rng.choice(("", "", "", f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}", f"Unit {rng.randint(100, 999)}"))
    if rng.random() < ABROAD_SHARE:
        country, city, state, postal_code = rng.choice(ABROAD)
        phone = f"+{rng.choice(('44', '49', '61', '65', '353'))} 20 7946 0{rng.randint(100, 999)}"
        if country == "CA":
            phone = f"+1 416-555-01{rng.randint(0, 99):02d}"
    else:
        country = "US"
        city, state, prefix = rng.choice(US_CITIES)
        postal_code = f"{prefix}{rng.randint(1, 99):02d}"
        # 555-0100..0199 numbers are reserved for fiction in the North American plan.
        phone = f"+1 {rng.randint(201, 989)}-555-01{rng.randint(0, 99):02d}"
    result = validate_customer(
        {
            "name": f"{first} {last}",
            "email": email,
            "phone": phone,
            "line1": number,
            "line2": line2,
            "city": city,
            "state": state,
            "postal_code": postal_code,
            "country": country,
        }
    )
    if not result.ok:  # the generator must only make what checkout would accept
        raise AssertionError(f"generated customer does not validate: {result.errors}")
    return Customer(**result.values)


def order_times(rng: random.Random, count: int, days: int, now: int) -> list[int]:
    """`count` times (sorted) over the `days` before `now`: more on weekdays and in the daytime, slowly growing."""
    start = now - days * DAY
    day_starts = [start - start % DAY + d * DAY for d in range(days + 1)]
    day_weights = []
    for position, day_start in enumerate(day_starts):
        weekday = time.gmtime(day_start).tm_wday
        growth = 1.0 + 0.3 * position / max(days, 1)  # a shop slowly finding its readers
        day_weights.append(growth * (MIX.weekend_weight if weekday >= 5 else 1.0))
    times: list[int] = []
    while len(times) < count:
        day_start = rng.choices(day_starts, weights=day_weights)[0]
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        at = day_start + hour * HOUR + rng.randrange(HOUR)
        if start <= at <= now - 5 * MINUTE:  # keep a few minutes before now for the first steps
            times.append(at)
    return sorted(times)


def _retry_delay(rng: random.Random) -> int:
    """How long a declined customer takes to come back with another card: mostly minutes, sometimes days."""
    roll = rng.random()
    if roll < 0.65:
        return rng.randint(1 * MINUTE, 20 * MINUTE)
    if roll < 0.9:
        return rng.randint(20 * MINUTE, 6 * HOUR)
    return rng.randint(6 * HOUR, 3 * DAY)


def _partial_amount(rng: random.Random, book_id: str, quantity: int) -> int:
    """A partial refund: one copy of a multi-copy order, else 20-50 % of the price rounded to whole dollars."""
    price = catalog.get_book(book_id).price
    if quantity > 1:
        return price
    return max(100, round(price * rng.uniform(0.2, 0.5) / 100) * 100)


def _plan_order(rng: random.Random, index: int, at: int, customer: Customer, now: int) -> PlannedOrder:
    book_id = _weighted(rng, BOOK_WEIGHTS)
    quantity = _weighted(rng, QUANTITY_WEIGHTS)
    steps: list[Step] = []

    def add(kind: str, when: int, **details: Any) -> None:
        if when <= now:  # what would happen after now has not happened yet
            steps.append(Step(at=when, order=index, kind=kind, **details))

    paid_at: int | None = at
    if rng.random() < MIX.first_decline:
        add("pay", at, token=_weighted(rng, {t: w for t, (_, _, w) in DECLINE_CARDS.items()}))
        if rng.random() < MIX.retry_after_decline:
            paid_at = at + _retry_delay(rng)
            if paid_at > now:
                paid_at = None
        else:
            paid_at = None
    if paid_at is None:
        return PlannedOrder(index, at, customer, book_id, quantity, tuple(steps))
    add("pay", paid_at, token=_weighted(rng, {t: w for t, (_, _, w) in SUCCESS_CARDS.items()}))

    low, high = MIX.ship_after_h
    shipped_at = paid_at + int(rng.uniform(low, high) * HOUR)
    roll = rng.random()
    edges = [
        ("cancel", MIX.cancel),
        ("fraudulent", MIX.refund_fraudulent),
        ("duplicate", MIX.refund_duplicate),
        ("goodwill", MIX.refund_goodwill),
        ("request_full", MIX.request_full),
        ("request_partial", MIX.request_partial),
        ("request_rejected", MIX.request_rejected),
    ]
    fate = "ship"
    for name, share in edges:
        if roll < share:
            fate = name
            break
        roll -= share

    if fate == "cancel":
        add("cancel", paid_at + rng.randint(10 * MINUTE, int(0.8 * (shipped_at - paid_at))))
    elif fate in ("fraudulent", "duplicate"):
        add("refund", paid_at + rng.randint(30 * MINUTE, int(0.8 * (shipped_at - paid_at))), reason=fate)
    else:
        add("ship", shipped_at)
        requested_at = shipped_at + rng.randint(2 * DAY, 12 * DAY)
        decided_at = requested_at + rng.randint(2 * HOUR, 2 * DAY)
        if fate == "goodwill":
            add("refund", shipped_at + rng.randint(3 * DAY, 10 * DAY), reason="requested_by_customer",
                amount=_partial_amount(rng, book_id, quantity))  # fmt: skip
        elif fate == "request_full":
            add("request", requested_at, reason=rng.choice(REQUEST_REASONS_FULL))
            add("approve", decided_at)
        elif fate == "request_partial":
            add("request", requested_at, reason=rng.choice(REQUEST_REASONS_PARTIAL))
            add("approve", decided_at, amount=_partial_amount(rng, book_id, quantity))
        elif fate == "request_rejected":
            add("request", requested_at, reason=rng.choice(REQUEST_REASONS_REJECTED))
            add("reject", decided_at, note=rng.choice(REJECT_NOTES))
    return PlannedOrder(index, at, customer, book_id, quantity, tuple(steps))


def plan_history(
    *,
    orders_count: int,
    days: int,
    seed: int,
    now: int,
    offset: int = 0,
    returning: Sequence[Customer] = (),
) -> list[PlannedOrder]:
    """Plan `orders_count` orders over the `days` before `now` (pure: same arguments, same plan).

    `offset` (the number of orders already in the store) selects a fresh random stream for a later run, and
    `returning` lists earlier customers who may come back.
    """
    if orders_count < 0 or days < 1:
        raise ValueError("Give a positive number of days and zero or more orders.")
    rng = random.Random(f"shop-seed:{seed}:{offset}")
    taken = {customer.email for customer in returning}
    known: list[Customer] = list(returning)
    planned: list[PlannedOrder] = []
    for index, at in enumerate(order_times(rng, orders_count, days, now)):
        if known and rng.random() < MIX.returning_customer:
            # Loyal readers come back more often: earlier customers weigh by how early they came.
            customer = known[min(int(rng.expovariate(1 / max(len(known) / 3, 1))), len(known) - 1)]
        else:
            customer = fake_customer(rng, taken)
            known.append(customer)
        planned.append(_plan_order(rng, index, at, customer, now))
    return planned


def timeline(plan: Sequence[PlannedOrder]) -> list[Step]:
    """Every step of every order, in the order they happen (order creation is the first pay step)."""
    steps = [step for order in plan for step in order.steps]
    return sorted(steps, key=lambda step: (step.at, step.order))


# ---------------------------------------------------------------------------------------------------------------
# Playing the plan


class EmulatorClock:
    """The emulator's test clock (`POST /_emulator/clock`): freeze "now" at a past time, then release it.

    One kept-alive connection serves every call: a seeding run sets the clock hundreds of times.
    """

    def __init__(self, settings: Settings) -> None:
        self._host, self._port = settings.emulator_host, settings.emulator_port
        self._headers = {"Authorization": f"Bearer {settings.secret_key}", "Content-Type": "application/json"}
        self._connection: http.client.HTTPConnection | None = None
        self.current: int | None = None

    def _post(self, body: bytes) -> None:
        for attempt in (1, 2):  # a kept-alive connection the server has closed fails once; reconnect
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
            try:
                self._connection.request("POST", "/_emulator/clock", body=body, headers=self._headers)
                response = self._connection.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    raise SeedError(
                        f"Could not set the emulator's clock on {self._host}:{self._port} ({exc}); "
                        "is the emulator running?"
                    ) from exc
                continue
            if response.status != 200:
                raise SeedError(f"The emulator refused to set its clock (HTTP {response.status}): {text[:200]!r}")
            return

    def set(self, frozen_time: int | None) -> None:
        """Freeze the emulator's "now" at `frozen_time` (unix seconds); None returns it to real time."""
        if frozen_time is not None and frozen_time == self.current:
            return
        self._post(json.dumps({"frozen_time": frozen_time}).encode())
        self.current = frozen_time

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextmanager
def _shop_clock(now: Callable[[], int] | None) -> Iterator[None]:
    """Let the order store stamp orders, payments and shipments with the history's time instead of the real one.

    The seeder points the store's clock at the time of the step being played (the emulator's frozen clock) for
    the duration of the run, so orders and charges agree on when things happened.
    """
    if now is None:
        yield
        return
    with orders.store_clock(now):
        yield


class ProgressBar:
    """A one-line progress bar on a terminal (a line per 10 % when the output is not a terminal)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.started: float | None = None  # from the first update: a bar may be made before its work begins
        self._last_decile = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, done: int, detail: str = "") -> None:
        """Show `done` of `total`, with an optional short detail."""
        if self.started is None:
            self.started = time.monotonic()
        fraction = min(done / self.total, 1.0)
        elapsed = time.monotonic() - self.started
        filled = int(self.width * fraction)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} "
            f"{fraction:4.0%} {elapsed:5.1f}s {detail}"
        )
        if self._tty:
            width = max(shutil.get_terminal_size().columns - 1, 40)  # one line: never wrap, or \r cannot rewind it
            self.stream.write("\r" + line[:width].ljust(width))
            self.stream.flush()
        elif math.floor(fraction * 10) > self._last_decile:
            self._last_decile = math.floor(fraction * 10)
            self.stream.write(line + "\n")

    def close(self) -> None:
        """End the bar's line."""
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


class _Player:
    """Plays the plan's steps through the shop, counting what happened."""

    def __init__(self, plan: Sequence[PlannedOrder], run_id: str, client: stripe.StripeClient, report: SeedReport):
        self.plan = {order.index: order for order in plan}
        self.run_id = run_id
        self.client = client
        self.report = report
        self.order_ids: dict[int, str] = {}
        self.attempts: Counter = Counter()
        self.declined_orders: set[int] = set()
        self.request_ids: dict[int, int] = {}

    def _key(self, index: int, what: str) -> str:
        """A key for one step of one planned order: the same step of the same order always gets the same key.

        It carries the order number too, so a store rebuilt from scratch against the same Stripe account never
        reuses the keys of an earlier history (Stripe keeps keys for at least a day).
        """
        return f"seed-{self.run_id}-{index}-{self.order_ids.get(index, 'new')}-{what}"

    def play(self, step: Step) -> None:
        """Apply one step; a step the order's state no longer allows is skipped and counted."""
        try:
            getattr(self, f"_{step.kind}")(step)
        except (orders.OrderStateError, payments.PaymentError, orders.OrderNotFoundError, ValueError, KeyError):
            self.report.skipped += 1

    def _pay(self, step: Step) -> None:
        planned = self.plan[step.order]
        if step.order not in self.order_ids:
            order = orders.create_order(planned.customer, planned.book_id, planned.quantity)
            self.order_ids[step.order] = order.id
            self.report.orders += 1
        self.attempts[step.order] += 1
        brand, last4, _ = CARDS[step.token]
        result = payments.pay_order(
            self.order_ids[step.order],
            step.token,
            self._key(step.order, f"pay{self.attempts[step.order]}"),
            card_brand=brand,
            card_last4=last4,
            client=self.client,
        )
        self.report.charges += 1
        if result.outcome == "succeeded":
            self.report.succeeded += 1
            self.report.brands[brand] += 1
            if step.order in self.declined_orders:
                self.report.recovered += 1
        elif result.outcome == "declined":
            self.report.declined += 1
            self.report.decline_codes[result.decline_code or result.code or "unknown"] += 1
            self.declined_orders.add(step.order)
        else:
            self.report.errors += 1

    def _cancel(self, step: Step) -> None:
        payments.cancel_order(
            self.order_ids[step.order], idempotency_key=self._key(step.order, "cancel"), client=self.client
        )
        self.report.cancelled += 1
        self.report.refund_reasons["requested_by_customer"] += 1

    def _ship(self, step: Step) -> None:
        orders.mark_shipped(self.order_ids[step.order])
        self.report.shipped += 1

    def _refund(self, step: Step) -> Any:
        order = orders.get_order(self.order_ids[step.order])
        if order is None or not order.charge_id:
            raise orders.OrderStateError("nothing to refund")
        refund = payments.refund_charge(
            order.charge_id,
            amount=step.amount,
            reason=step.reason,
            idempotency_key=self._key(step.order, "refund"),
            client=self.client,
        )
        if step.amount is None or step.amount >= order.refundable:
            self.report.refunds_full += 1
        else:
            self.report.refunds_partial += 1
        self.report.refund_reasons[step.reason or "none"] += 1
        return refund

    def _request(self, step: Step) -> None:
        planned = self.plan[step.order]
        request = orders.request_refund(self.order_ids[step.order], planned.customer.email, step.reason or "")
        self.request_ids[step.order] = request.id
        self.report.refund_requests += 1

    def _approve(self, step: Step) -> None:
        request_id = self.request_ids[step.order]
        refund = self._refund(Step(step.at, step.order, "refund", reason="requested_by_customer", amount=step.amount))
        orders.decide_refund_request(request_id, True, refund_id=refund.id, note="Refunded.")
        self.report.requests_approved += 1

    def _reject(self, step: Step) -> None:
        orders.decide_refund_request(self.request_ids[step.order], False, note=step.note)
        self.report.requests_rejected += 1


def _check_mode(settings: Settings, confirmed: bool) -> None:
    """Refuse a live key always, and Stripe test mode without confirmation."""
    if settings.is_live:
        raise SeedError("Refusing to seed with a live Stripe key: demo history belongs in test mode or the emulator.")
    if settings.mode == "stripe" and not confirmed:
        raise SeedError(
            "This will create real test-mode charges in your Stripe account, and Stripe keeps their real creation "
            "time (the history will not be spread over past days). Run again with --yes to go ahead."
        )


def seed(
    *,
    days: int = DEFAULT_DAYS,
    orders_count: int = DEFAULT_ORDERS,
    seed_value: int = DEFAULT_SEED,
    confirmed: bool = False,
    settings: Settings | None = None,
    client: stripe.StripeClient | None = None,
    progress: Callable[[int, int], None] | None = None,
    sync_after: bool = True,
    sync_progress: Callable[[float, str], None] | None = None,
    now: int | None = None,
) -> SeedReport:
    """Create `orders_count` orders of demo history over the past `days` days through the shop's ordinary path.

    Raises SeedError when refused (live key; Stripe test mode without `confirmed`) or when the emulator's clock
    cannot be set. `progress(done, total)` is called after each step. Syncs the local copy of charges at the end
    (`sync_progress(fraction, text)` follows it).
    """
    settings = settings or get_settings()
    _check_mode(settings, confirmed)
    client = client or connected_client(settings)
    started = time.monotonic()
    now = int(time.time()) if now is None else now

    existing = orders.list_orders()
    returning: dict[str, Customer] = {}
    for order in reversed(existing):  # oldest first: the earliest customers are the most loyal
        returning.setdefault(order.customer.email.lower(), order.customer)
    offset = len(existing)
    run_id = f"{seed_value}.{offset}"
    plan = plan_history(
        orders_count=orders_count,
        days=days,
        seed=seed_value,
        now=now,
        offset=offset,
        returning=list(returning.values()),
    )
    steps = timeline(plan)
    report = SeedReport(run_id=run_id, mode=settings.mode)
    player = _Player(plan, run_id, client, report)
    clock = EmulatorClock(settings) if settings.mode == "emulator" else None
    history_now: list[int] = [now]  # the time of the step being played, for the order store
    try:
        with _shop_clock((lambda: history_now[0]) if clock else None):
            for done, step in enumerate(steps, start=1):
                history_now[0] = step.at
                if clock is not None and step.kind in STRIPE_STEPS:
                    clock.set(step.at)
                player.play(step)
                if progress is not None:
                    progress(done, len(steps))
    finally:
        if clock is not None:
            clock.set(None)
            clock.close()
    if sync_after:
        from shop import sync

        # The clock put this run's events among older ones, so rebuild the local copy instead of paging events.
        sync_report = sync.sync(client, sync_progress, full=settings.mode == "emulator")
        report.sync_summary = sync_report.summary()
    report.duration_s = time.monotonic() - started
    return report


def store_is_empty() -> bool:
    """True when the order store has no orders yet."""
    return not orders.list_orders(limit=1)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: parse options, confirm the mode, seed with a progress bar, print a summary."""
    parser = argparse.ArgumentParser(prog="python -m shop.seed", description="Create demo history for the shop.")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="spread orders over this many past days")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="how many orders to create")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same history)")
    parser.add_argument("--yes", action="store_true", help="confirm seeding a Stripe test-mode account")
    parser.add_argument("--if-empty", action="store_true", help="seed only when the store has no orders")
    args = parser.parse_args(argv)
    if args.days < 1 or args.orders < 1:
        parser.error("--days and --orders must be at least 1")
    try:
        settings = get_settings()
        if args.if_empty and settings.mode == "stripe" and not args.yes:
            # `make demo` with Stripe keys: charges in someone's Stripe account are made only when asked for.
            if settings.is_live:
                print("Not seeding: a live Stripe key is configured, and demo history belongs in test mode.")
            else:
                print("Not seeding your Stripe test account automatically; run `python -m shop.seed --yes` to do so.")
            return 0
        if args.if_empty and not store_is_empty():
            print("The store already has orders; nothing to seed (run without --if-empty to add more).")
            return 0
        if settings.mode == "stripe" and not settings.is_live:
            print(
                "Stripe test mode: charges keep their real creation time in Stripe, so the history will not be "
                "spread over past days.",
                file=sys.stderr,
            )
        bar = ProgressBar(0, "Seeding")
        sync_bar = ProgressBar(100, "Syncing")

        def show(done: int, total: int) -> None:
            bar.total = total
            bar.update(done, "steps")
            if done == total:
                bar.close()

        def show_sync(fraction: float, text: str) -> None:
            sync_bar.update(round(fraction * 100), text)

        try:
            report = seed(
                days=args.days,
                orders_count=args.orders,
                seed_value=args.seed,
                confirmed=args.yes,
                progress=show,
                sync_progress=show_sync,
            )
        finally:
            sync_bar.close()
    except (SeedError, ConfigError) as exc:
        print(f"shop.seed: {exc}", file=sys.stderr)
        return 2
    except stripe.StripeError as exc:
        print(f"shop.seed: Stripe refused a request ({type(exc).__name__}: {exc.user_message}).", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
