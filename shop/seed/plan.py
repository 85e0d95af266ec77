"""Planning demo history: pure and repeatable, the same seed and offset give the same orders and steps."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from shop import catalog
from shop.orders import Customer
from shop.seed.vocabulary import (
    ABROAD,
    ABROAD_SHARE,
    BANK_ACCOUNTS,
    BANK_SETTLES_AFTER,
    BOOK_WEIGHTS,
    DAY,
    DECLINE_CARDS,
    DISPUTE_TOKENS,
    FIRST_NAMES,
    HOUR,
    HOUR_WEIGHTS,
    INQUIRY_TOKEN,
    LAST_NAMES,
    LOSING_EVIDENCE,
    MINUTE,
    MIX,
    QUANTITY_WEIGHTS,
    REFUND_FAIL_TOKEN,
    REJECT_NOTES,
    REQUEST_REASONS_FULL,
    REQUEST_REASONS_PARTIAL,
    REQUEST_REASONS_REJECTED,
    RETURNED_BANK_ACCOUNT,
    SETTLED_BANK_ACCOUNT,
    STREET_KINDS,
    STREET_NAMES,
    SUCCESS_CARDS,
    US_CITIES,
    WINNING_EVIDENCE,
)
from shop.validation import validate_customer


@dataclass(frozen=True)
class Step:
    """One thing that happens to a planned order at time `at` (unix seconds).

    kind: pay (token), pay_debit (token: a test bank account number), debit_settles (the bank's answer reaches
    the order), cancel, ship, ship_capture (capture the authorization, then ship), refund (reason,
    amount: None = all), request (reason text), approve (amount: None = all), reject (note), evidence (note: the
    text that decides the dispute).
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
    capture: str = "automatic"  # "manual": checkout only authorizes (capture at shipment)
    story: str | None = None  # one of SPECIAL_STORIES, or None for the ordinary mix


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _card_token(rng: random.Random, cards: dict[str, tuple[str, str, int]]) -> str:
    """A test card token from `cards` (token: brand, last 4, weight), drawn by weight."""
    return _weighted(rng, {token: weight for token, (_, _, weight) in cards.items()})


# Area codes in service, so the fictional 555-01xx numbers pass the checkout's phone check.
US_AREA_CODES = (206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 617, 702)


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
        # Ofcom keeps 020 7946 0xxx for drama; elsewhere the numbering plan's own example number.
        phone = f"+44 20 7946 0{rng.randint(100, 999)}"
        if country == "CA":
            phone = f"+1 416-555-01{rng.randint(0, 99):02d}"
        elif country != "GB":
            example = phonenumbers.example_number(country)
            phone = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    else:
        country = "US"
        city, state, prefix = rng.choice(US_CITIES)
        postal_code = f"{prefix}{rng.randint(1, 99):02d}"
        # 555-0100..0199 numbers are reserved for fiction in the North American plan.
        phone = f"+1 {rng.choice(US_AREA_CODES)}-555-01{rng.randint(0, 99):02d}"
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


# The rarer stories: (name, share or count in MIX, youngest and oldest age of the order when the run starts).
# Answered disputes are old enough for shipping and the answer to have happened; open ones and the inquiry young
# enough that their deadline (7 days after opening) is still ahead; the expired authorization older than 7 days.
SPECIAL_STORIES: tuple[tuple[str, float, int, int], ...] = (
    ("expired_authorization", MIX.expired_authorizations, 8 * DAY, 10_000 * DAY),
    ("dispute_won", MIX.dispute_won, 5 * DAY, 10_000 * DAY),
    ("dispute_lost", MIX.dispute_lost, 5 * DAY, 10_000 * DAY),
    ("dispute_open", MIX.dispute_open, HOUR, 5 * DAY),
    ("inquiry", MIX.inquiry, HOUR, 5 * DAY),
    ("refund_fails", MIX.refund_fails, 6 * DAY, 10_000 * DAY),
    # One authorization old enough to have shipped (a capture at shipment is always in the history), then the share
    # of them at any age (some still waiting to ship).
    ("at_shipment", MIX.shipped_at_shipment, int(MIX.ship_after_h[1] * HOUR), 10_000 * DAY),
    ("at_shipment", MIX.at_shipment, 10 * MINUTE, 10_000 * DAY),
    # On top of the ordinary mix's retries: one declined customer who came back with another card, old enough for
    # the longest wait to be over and young enough for the default "Last 30 days" (a recovery to chart).
    ("recovered_decline", MIX.recovered_decline, 3 * DAY, 20 * DAY),
    # Bank debits old enough for the bank to have answered by the run (a debit still processing would settle on
    # Stripe's side when the clock returns to now, behind the order's back); one settled and one returned within
    # "Last 30 days".
    ("bank_debit", MIX.bank_debit, BANK_SETTLES_AFTER[1] + HOUR, 10_000 * DAY),
    ("settled_debit", MIX.settled_debit, BANK_SETTLES_AFTER[1] + HOUR, 20 * DAY),
    ("returned_debit", MIX.returned_debit, BANK_SETTLES_AFTER[1] + HOUR, 20 * DAY),
)


def special_stories(rng: random.Random, times: Sequence[int], now: int) -> dict[int, str]:
    """Which orders (by index into `times`) get one of the rarer stories: a few of each, in proportion to the
    number of orders, each among orders of the age its story needs (none when no order is that old)."""
    stories: dict[int, str] = {}
    for name, share, youngest, oldest in SPECIAL_STORIES:
        count = int(share) if isinstance(share, int) else MIX.special_count(share, len(times))
        pool = [i for i, at in enumerate(times) if now - oldest <= at <= now - youngest and i not in stories]
        for index in rng.sample(pool, min(count, len(pool))):
            stories[index] = name
    return stories


def _plan_special(rng: random.Random, index: int, at: int, customer: Customer, now: int, story: str) -> PlannedOrder:
    """An order with one of the rarer stories: paid on the first try, then disputed, refunded, or authorized."""
    book_id = _weighted(rng, BOOK_WEIGHTS)
    quantity = _weighted(rng, QUANTITY_WEIGHTS)
    steps: list[Step] = []

    def add(kind: str, when: int, **details: Any) -> None:
        if when <= now:
            steps.append(Step(at=when, order=index, kind=kind, **details))

    ordinary = _card_token(rng, SUCCESS_CARDS)
    low, high = MIX.ship_after_h
    shipped_at = at + int(rng.uniform(low, high) * HOUR)
    capture = "automatic"
    if story in ("dispute_won", "dispute_lost", "dispute_open"):
        add("pay", at, token=rng.choice(DISPUTE_TOKENS))
        add("ship", shipped_at)
        if story != "dispute_open":
            text = WINNING_EVIDENCE if story == "dispute_won" else LOSING_EVIDENCE
            add("evidence", shipped_at + rng.randint(2 * HOUR, DAY), note=text)
    elif story == "inquiry":
        add("pay", at, token=INQUIRY_TOKEN)
        add("ship", shipped_at)
    elif story == "refund_fails":
        add("pay", at, token=REFUND_FAIL_TOKEN)
        add("ship", shipped_at)
        add("refund", shipped_at + rng.randint(DAY, 2 * DAY), reason="requested_by_customer",
            amount=_partial_amount(rng, book_id, quantity))  # fmt: skip
    elif story == "at_shipment":
        capture = "manual"
        add("pay", at, token=ordinary)
        add("ship_capture", shipped_at)
    elif story == "expired_authorization":
        capture = "manual"
        add("pay", at, token=ordinary)  # never shipped: Stripe releases it 7 days later
    elif story == "recovered_decline":
        paid_at = at + _retry_delay(rng)  # at most 3 days, the story's youngest age
        add("pay", at, token=_card_token(rng, DECLINE_CARDS))
        add("pay", paid_at, token=ordinary)
        add("ship", paid_at + shipped_at - at)
    elif story in ("bank_debit", "settled_debit", "returned_debit"):
        accounts = {account: weight for account, (_, weight) in BANK_ACCOUNTS.items()}
        chosen = {"settled_debit": SETTLED_BANK_ACCOUNT, "returned_debit": RETURNED_BANK_ACCOUNT}
        account = chosen.get(story) or _weighted(rng, accounts)
        settled_at = at + rng.randint(*BANK_SETTLES_AFTER)
        add("pay_debit", at, token=account)
        add("debit_settles", settled_at)
        if BANK_ACCOUNTS[account][0] is None:
            add("ship", settled_at + rng.randint(2 * HOUR, DAY))  # nothing ships before the money is in
    else:
        raise ValueError(f"unknown story {story!r}")
    return PlannedOrder(index, at, customer, book_id, quantity, tuple(steps), capture=capture, story=story)


def _plan_order(rng: random.Random, index: int, at: int, customer: Customer, now: int) -> PlannedOrder:
    book_id = _weighted(rng, BOOK_WEIGHTS)
    quantity = _weighted(rng, QUANTITY_WEIGHTS)
    steps: list[Step] = []

    def add(kind: str, when: int, **details: Any) -> None:
        if when <= now:  # what would happen after now has not happened yet
            steps.append(Step(at=when, order=index, kind=kind, **details))

    paid_at: int | None = at
    if rng.random() < MIX.first_decline:
        add("pay", at, token=_card_token(rng, DECLINE_CARDS))
        if rng.random() < MIX.retry_after_decline:
            paid_at = at + _retry_delay(rng)
            if paid_at > now:
                paid_at = None
        else:
            paid_at = None
    if paid_at is None:
        return PlannedOrder(index, at, customer, book_id, quantity, tuple(steps))
    add("pay", paid_at, token=_card_token(rng, SUCCESS_CARDS))

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
    times = order_times(rng, orders_count, days, now)
    stories = special_stories(rng, times, now)
    for index, at in enumerate(times):
        if known and rng.random() < MIX.returning_customer:
            # Loyal readers come back more often: earlier customers weigh by how early they came.
            customer = known[min(int(rng.expovariate(1 / max(len(known) / 3, 1))), len(known) - 1)]
        else:
            customer = fake_customer(rng, taken)
            known.append(customer)
        if index in stories:
            planned.append(_plan_special(rng, index, at, customer, now, stories[index]))
        else:
            planned.append(_plan_order(rng, index, at, customer, now))
    return planned


def timeline(plan: Sequence[PlannedOrder]) -> list[Step]:
    """Every step of every order, in the order they happen (order creation is the first pay step)."""
    steps = [step for order in plan for step in order.steps]
    return sorted(steps, key=lambda step: (step.at, step.order))
