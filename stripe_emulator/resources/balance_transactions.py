"""Balance transactions: `/v1/balance_transactions` and `/v1/balance` — the money each charge, refund, dispute and
payout moves through the account's balance (docs.stripe.com/api/balance_transactions/object).

Fees are Stripe's standard US card pricing, https://stripe.com/pricing: "2.9% + 30¢ per successful transaction for
domestic cards", "+ 1.5% for international cards" (a card whose country is not the account's, US). The percentage
is rounded to the nearest cent (half up), in the charge's currency. A refund's transaction gives the amount back
but not the fee ("Stripe doesn't return the fees from the original payment", docs.stripe.com/refunds).

Funds become available on Stripe's standard US schedule, two business days after the charge
(docs.stripe.com/payouts#standard-payout-timing): `available_on` is 00:00 UTC of the second weekday after the
day of the charge (no bank holidays). Until then the transaction is `pending`; the status turns `available` lazily,
when a request that reads balance transactions or the balance comes in on or after `available_on` (emulator
clock). Money leaving the balance (refunds, dispute withdrawals, payouts) is available at once.

Reads stay flat with the number of stored transactions: the pending ones are found through an indexed column
(`pending_until`), and the balance is a ledger of sums per currency and status that SQLite triggers keep up to
date on every write (`balance_totals`), so neither walks the whole table.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store
from stripe_emulator.core import SPECIAL_EXPANSIONS, Context, get_object, list_objects, new_id, retrieve

ACCOUNT_COUNTRY = "US"
PERCENT_DOMESTIC = Decimal("0.029")
PERCENT_INTERNATIONAL_EXTRA = Decimal("0.015")
FIXED_FEE = 30  # minor units
AVAILABLE_AFTER_BUSINESS_DAYS = 2
DAY = 86400

# type -> reporting_category (docs.stripe.com/reports/reporting-categories)
REPORTING_CATEGORY = {
    "charge": "charge",
    "refund": "refund",
    "refund_failure": "refund_failure",
    "adjustment": "dispute",
    "payout": "payout",
}


# stripe.com/pricing#local-payment-methods: "ACH Direct Debit: 0.8%, $5.00 cap".
ACH_FEE_PERCENT = Decimal("0.008")
ACH_FEE_CAP = 500  # cents


def ach_fee(amount: int) -> int:
    """Stripe's fee for an ACH Direct Debit of `amount` cents: 0.8%, at most $5.00."""
    return min(int((Decimal(amount) * ACH_FEE_PERCENT).quantize(Decimal(1), rounding=ROUND_HALF_UP)), ACH_FEE_CAP)


# stripe.com/pricing: "5.99% + 30¢ per successful transaction for Klarna".
KLARNA_FEE_PERCENT = Decimal("0.0599")


def klarna_fee(amount: int) -> int:
    """Stripe's fee for a Klarna payment of `amount` cents: 5.99% + 30¢."""
    return int((Decimal(amount) * KLARNA_FEE_PERCENT).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + FIXED_FEE


def card_fee(amount: int, card_country: str | None) -> int:
    """Stripe's processing fee for a card charge of `amount` (minor units): 2.9% + 30¢, +1.5% for a foreign card."""
    percent = PERCENT_DOMESTIC
    if card_country and card_country != ACCOUNT_COUNTRY:
        percent += PERCENT_INTERNATIONAL_EXTRA
    return int((Decimal(amount) * percent).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + FIXED_FEE


def midnight(ts: int) -> int:
    """00:00 UTC of the day of `ts`."""
    return ts - ts % DAY


def available_on(created: int) -> int:
    """00:00 UTC of the second business day (Monday to Friday) after the day of `created`."""
    day = dt.datetime.fromtimestamp(midnight(created), dt.UTC)
    left = AVAILABLE_AFTER_BUSINESS_DAYS
    while left:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return int(day.timestamp())


def transaction_object(
    ctx: Context,
    *,
    type_: str,
    amount: int,
    currency: str,
    source: str,
    fee_details: list[dict[str, Any]] | None = None,
    available: int | None = None,
    description: str | None = None,
    reporting_category: str | None = None,
) -> dict[str, Any]:
    """The balance transaction object (one shape for every type); `available` defaults to now (funds out)."""
    fee_details = fee_details or []
    fee = sum(detail["amount"] for detail in fee_details)
    when = ctx.now if available is None else available
    return {
        "id": new_id("txn_"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": when,
        "balance_type": "payments",
        "created": ctx.now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category or REPORTING_CATEGORY[type_],
        "source": source,
        "status": "available" if when <= ctx.now else "pending",
        "type": type_,
    }


def fee_detail(amount: int, currency: str, description: str) -> dict[str, Any]:
    """One entry of `fee_details` (a Stripe fee)."""
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": description,
        "type": "stripe_fee",
    }


def record(ctx: Context, txn: dict[str, Any]) -> str:
    """Store a balance transaction; return its id."""
    ctx.store.insert("balance_transactions", txn)
    return txn["id"]


def for_charge(ctx: Context, charge: dict[str, Any]) -> str:
    """Record the transaction of a captured charge (its captured amount less Stripe's fee); return its id."""
    amount, currency = charge["amount_captured"], charge["currency"]
    details = charge.get("payment_method_details") or {}
    card = details.get("card") or {}
    if details.get("type") == "us_bank_account":
        fee = ach_fee(amount)
    elif details.get("type") == "klarna":
        fee = klarna_fee(amount)
    else:
        fee = card_fee(amount, card.get("country"))
    txn = transaction_object(
        ctx,
        type_="charge",
        amount=amount,
        currency=currency,
        source=charge["id"],
        fee_details=[fee_detail(fee, currency, "Stripe processing fees")],
        available=available_on(ctx.now),
    )
    return record(ctx, txn)


def for_refund(ctx: Context, refund: dict[str, Any]) -> str:
    """Record a refund's transaction: the amount leaves the balance, no fee comes back; return its id."""
    txn = transaction_object(
        ctx, type_="refund", amount=-refund["amount"], currency=refund["currency"], source=refund["id"]
    )
    return record(ctx, txn)


def for_refund_failure(ctx: Context, refund: dict[str, Any]) -> str:
    """Record the reversal of a refund that failed: the amount comes back to the balance; return its id."""
    txn = transaction_object(
        ctx,
        type_="refund_failure",
        amount=refund["amount"],
        currency=refund["currency"],
        source=refund["id"],
        description="REFUND FOR FAILED REFUND",
    )
    return record(ctx, txn)


PENDING_UNTIL = "pending_until"


def pending_until(txn: dict[str, Any]) -> int | None:
    """When a pending transaction turns available; None for one that is available already."""
    return int(txn["available_on"]) if txn.get("status") == "pending" else None


store.DERIVED.setdefault("balance_transactions", {})[PENDING_UNTIL] = pending_until

_NET = "json_extract({row}.body, '$.net')"
_CURRENCY = "json_extract({row}.body, '$.currency')"
# The new body is parsed once (each json_extract parses the whole body): both values come out as a small array.
_ADD = (
    "INSERT INTO balance_totals (currency, status, net, n)"
    " SELECT json_extract(v.a, '$[0]'), NEW.status, json_extract(v.a, '$[1]'), 1"
    " FROM (SELECT json_extract(NEW.body, '$.currency', '$.net') AS a) AS v WHERE true"
    " ON CONFLICT (currency, status) DO UPDATE SET net = net + excluded.net, n = n + 1;"
)
_REMOVE = (
    "UPDATE balance_totals SET net = net - {net}, n = n - 1 WHERE currency = {currency} AND status = OLD.status;"
).format(currency=_CURRENCY.format(row="OLD"), net=_NET.format(row="OLD"))
_FORGET_EMPTY = "DELETE FROM balance_totals WHERE n = 0;"
store.LEDGERS.append(
    store.Ledger(
        "balance_totals",
        (
            "CREATE TABLE IF NOT EXISTS balance_totals (currency TEXT NOT NULL, status TEXT NOT NULL,"
            " net INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (currency, status)) WITHOUT ROWID",
            f"CREATE TRIGGER IF NOT EXISTS balance_totals_insert AFTER INSERT ON balance_transactions BEGIN {_ADD} END",
            "CREATE TRIGGER IF NOT EXISTS balance_totals_update AFTER UPDATE ON balance_transactions"
            f" BEGIN {_REMOVE} {_ADD} {_FORGET_EMPTY} END",
            "CREATE TRIGGER IF NOT EXISTS balance_totals_delete AFTER DELETE ON balance_transactions"
            f" BEGIN {_REMOVE} {_FORGET_EMPTY} END",
        ),
        "INSERT INTO balance_totals (currency, status, net, n) SELECT json_extract(body, '$.currency'), status,"
        " SUM(json_extract(body, '$.net')), COUNT(*) FROM balance_transactions GROUP BY 1, 2",
    )
)


def settle(ctx: Context) -> None:
    """Turn pending transactions whose `available_on` has come (emulator clock) available."""
    rows = ctx.store.select(
        "balance_transactions", [(f"{PENDING_UNTIL} <= ?", [ctx.now])], limit=1_000_000, order_by=PENDING_UNTIL
    )
    for txn in rows:
        txn["status"] = "available"
        ctx.store.update("balance_transactions", txn)


def _expand_balance_transaction(field: str) -> Any:
    def fill(ctx: Context, obj: dict[str, Any]) -> None:
        if isinstance(obj.get(field), str):
            txn = ctx.store.get("balance_transactions", obj[field])
            if txn is not None and pending_until(txn) is not None and txn["available_on"] <= ctx.now:
                settle(ctx)  # only when the one shown is due: a page of 100 expansions is not 100 settles
                txn = ctx.store.get("balance_transactions", obj[field])
            obj[field] = txn or obj[field]

    return fill


for _kind in ("charge", "refund"):
    SPECIAL_EXPANSIONS[(_kind, "balance_transaction")] = _expand_balance_transaction("balance_transaction")
SPECIAL_EXPANSIONS[("refund", "failure_balance_transaction")] = _expand_balance_transaction(
    "failure_balance_transaction"
)
SPECIAL_EXPANSIONS[("charge", "failure_balance_transaction")] = _expand_balance_transaction(
    "failure_balance_transaction"
)

SOURCE_TABLES = {
    "ch_": "charges",
    "py_": "charges",
    "re_": "refunds",
    "pyr_": "refunds",
    "dp_": "disputes",
    "po_": "payouts",
}


def _expand_source(ctx: Context, txn: dict[str, Any]) -> None:
    source = txn.get("source")
    if isinstance(source, str):
        table = next((t for prefix, t in SOURCE_TABLES.items() if source.startswith(prefix)), None)
        txn["source"] = (ctx.store.get(table, source) if table else None) or source


SPECIAL_EXPANSIONS[("balance_transaction", "source")] = _expand_source

BEFORE_READ: list[Any] = [settle]  # run before any read of the balance (payouts add theirs)


def _before_read(ctx: Context) -> None:
    for step in BEFORE_READ:
        step(ctx)


def retrieve_balance_transaction(ctx: Context, txn_id: str) -> dict[str, Any]:
    """GET /v1/balance_transactions/{id}."""
    _before_read(ctx)
    return retrieve(ctx, "balance_transactions", "balance_transaction", txn_id)


def list_balance_transactions(ctx: Context) -> Any:
    """GET /v1/balance_transactions: newest first; `type`, `source`, `currency`, `payout` and `created` filters."""
    _before_read(ctx)
    filters = {"type": p.string(), "source": p.string(), "currency": p.string(), "payout": p.string()}
    where: list[tuple[str, list[Any]]] = []
    payout = ctx.params.get("payout")
    if isinstance(payout, str) and payout:
        get_object(ctx, "payouts", "payout", payout, "payout")
        where.append(("id IN (SELECT id FROM payout_members WHERE payout = ?)", [payout]))
    currency = ctx.params.get("currency")
    if isinstance(currency, str) and currency:
        where.append(("json_extract(body, '$.currency') = ?", [currency.lower()]))
    return list_objects(
        ctx,
        "balance_transactions",
        "balance_transaction",
        "/v1/balance_transactions",
        filters,
        ("type", "source"),
        where=where,
    )


def retrieve_balance(ctx: Context) -> dict[str, Any]:
    """GET /v1/balance: per currency, the net of available transactions and of pending ones."""
    p.check(ctx.params, {"expand": (p.string_list, False)})
    _before_read(ctx)
    with ctx.store.lock:
        rows = ctx.store.conn.execute("SELECT currency, status, net FROM balance_totals").fetchall()
    sums: dict[str, dict[str, int]] = {}
    for currency, status, total in rows:
        sums.setdefault(currency, {"available": 0, "pending": 0})[status] += int(total or 0)
    currencies = sorted(sums) or ["usd"]

    def entries(status: str) -> list[dict[str, Any]]:
        return [
            {
                "amount": sums.get(c, {}).get(status, 0),
                "currency": c,
                "source_types": {"card": sums.get(c, {}).get(status, 0)},
            }
            for c in currencies
        ]

    return {
        "object": "balance",
        "available": entries("available"),
        "connect_reserved": [{"amount": 0, "currency": c} for c in currencies],
        "livemode": False,
        "pending": entries("pending"),
    }
