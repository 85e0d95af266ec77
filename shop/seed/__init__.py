"""Demo history for the shop, made through the ordinary path: orders, charges, declines, refunds, shipments.

`python -m shop.seed [--days 30] [--orders 400] [--seed N] [--yes] [--if-empty]`

The package: `vocabulary` (cards, the mix, names and places), `plan` (pure planning), `play` (the player and
the emulator clock, `seed()`), `cli` (the command line). Its public names are importable from `shop.seed`.

Nothing is written to a table directly: every order goes through `shop.orders.create_order`, every charge through
`shop.checkout.charges.pay_order` with one of Stripe's reusable test tokens (no card number ever reaches this process),
every refund and cancellation through `shop.fulfilment`, shipments through `shop.orders` and refund requests through
`shop.refund_requests`.

The history is planned first (`plan_history`, pure and repeatable for a given random seed), then played in time
order. In emulator mode the emulator's clock is set to each step's time, so charges, refunds and events carry
past creation times, and the order store's clock follows it; the clock returns to real time at the end, also on
error. Against Stripe test mode the history is played at the real time (Stripe keeps real creation times), only
after `--yes`; a live key is always refused.

The mix, per order (see MIX for the numbers): most first payments succeed across card brands; about one in seven
is declined (insufficient funds most often), and most of those customers retry with another card and succeed,
usually within the hour; a few paid orders are cancelled before shipping; most paid orders older than a few days
are shipped; a few percent are refunded (full and partial, each of Stripe's refund reasons), some through the
customers' refund requests, which finance approves or rejects (the newest are left waiting). A few orders, in
proportion to the run (one of each at least), have rarer stories: disputes answered with evidence that wins or
loses, recent ones and an inquiry still open, a refund that fails later, orders authorized at checkout and
captured at shipment, and one authorization never shipped that Stripe releases after 7 days. In emulator mode a
few orders are paid through Checkout Sessions from a test US bank account (what the Payment Element sends): the
debit processes for days, most settle and then ship, some the bank returns. Orders come more on
weekdays and in the daytime (UTC), and about a quarter of orders come from returning customers.

A second run adds to the history: its random stream and its idempotency keys derive from the seed and the number
of orders already in the store, so it neither replays nor duplicates the first run.
"""

from __future__ import annotations

from shop.seed.cli import (
    main,
    progress_bar,
)
from shop.seed.plan import (
    SPECIAL_STORIES,
    PlannedOrder,
    Step,
    fake_customer,
    order_times,
    plan_history,
    special_stories,
    timeline,
)
from shop.seed.play import (
    EmulatorClock,
    SeedError,
    SeedReport,
    seed,
    store_is_empty,
)
from shop.seed.vocabulary import (
    ABROAD,
    ABROAD_SHARE,
    BANK_ACCOUNTS,
    BOOK_WEIGHTS,
    CARDS,
    DAY,
    DECLINE_CARDS,
    DEFAULT_DAYS,
    DEFAULT_ORDERS,
    DEFAULT_SEED,
    DISPUTE_TOKENS,
    FIRST_NAMES,
    HOUR,
    HOUR_WEIGHTS,
    INQUIRY_TOKEN,
    LAST_NAMES,
    LATER_CARDS,
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
    STRIPE_STEPS,
    SUCCESS_CARDS,
    US_CITIES,
    WINNING_EVIDENCE,
    Mix,
)

__all__ = [
    "ABROAD",
    "ABROAD_SHARE",
    "BANK_ACCOUNTS",
    "BOOK_WEIGHTS",
    "CARDS",
    "DAY",
    "DECLINE_CARDS",
    "DEFAULT_DAYS",
    "DEFAULT_ORDERS",
    "DEFAULT_SEED",
    "DISPUTE_TOKENS",
    "FIRST_NAMES",
    "HOUR",
    "HOUR_WEIGHTS",
    "INQUIRY_TOKEN",
    "LAST_NAMES",
    "LATER_CARDS",
    "LOSING_EVIDENCE",
    "MINUTE",
    "MIX",
    "QUANTITY_WEIGHTS",
    "REFUND_FAIL_TOKEN",
    "REJECT_NOTES",
    "REQUEST_REASONS_FULL",
    "REQUEST_REASONS_PARTIAL",
    "REQUEST_REASONS_REJECTED",
    "RETURNED_BANK_ACCOUNT",
    "SETTLED_BANK_ACCOUNT",
    "SPECIAL_STORIES",
    "STREET_KINDS",
    "STREET_NAMES",
    "STRIPE_STEPS",
    "SUCCESS_CARDS",
    "US_CITIES",
    "WINNING_EVIDENCE",
    "EmulatorClock",
    "Mix",
    "PlannedOrder",
    "SeedError",
    "SeedReport",
    "Step",
    "fake_customer",
    "main",
    "order_times",
    "plan_history",
    "progress_bar",
    "seed",
    "special_stories",
    "store_is_empty",
    "timeline",
]
