"""Payouts: `/v1/payouts` — Stripe's daily automatic payouts of the available balance to the bank account.

docs.stripe.com/payouts: with automatic payouts, Stripe pays out the available balance every day. Here each
00:00 UTC (emulator clock) at which the available balance of a currency is positive makes a payout of all of it
(`po_…`, `automatic`, arriving that day, status `paid` at once), with its own balance transaction (type `payout`,
the negative amount) and `payout.created` / `payout.paid` events; a balance that is zero or negative waits for the
next day. The transactions a payout covers (and its own) list with `GET /v1/balance_transactions?payout=po_…`.

The payouts are made lazily: when a request reads balance transactions, the balance or payouts, every midnight
passed since the last one is caught up, each payout dated at its midnight. Moving the clock back undoes nothing.
The transactions no payout has taken yet are kept in a ledger (`payout_queue`, filled and emptied by SQLite
triggers) indexed by the midnight they are due, so catching up reads those only, not every stored transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store
from stripe_emulator.core import EXPANDABLE, Context, list_objects, new_id, retrieve
from stripe_emulator.resources import balance_transactions as txns


def payout_object(ctx: Context, amount: int, currency: str, txn_id: str) -> dict[str, Any]:
    """The object of an automatic payout of `amount` made at `ctx.now` (a midnight UTC)."""
    return {
        "id": new_id("po_"),
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": ctx.now,
        "automatic": True,
        "balance_transaction": txn_id,
        "created": ctx.now,
        "currency": currency,
        "description": "STRIPE PAYOUT",
        "destination": "ba_emulator",
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "reconciliation_status": "completed",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "paid",
        "type": "bank_account",
    }


def _due(available_on: int) -> int:
    """The first midnight UTC at or after `available_on`: when a payout can take the funds."""
    return available_on if available_on % txns.DAY == 0 else txns.midnight(available_on) + txns.DAY


# The midnight a transaction is due (`_due`) in SQL, from its available_on (`a`), the body parsed once.
_DUE = "CASE WHEN a % 86400 = 0 THEN a ELSE a - a % 86400 + 86400 END"
store.LEDGERS.append(
    store.Ledger(
        "payout_queue",
        (
            # One B-tree, ordered by when each is due: a write touches one more page, not three.
            "CREATE TABLE IF NOT EXISTS payout_queue (due INTEGER NOT NULL, id TEXT NOT NULL,"
            " PRIMARY KEY (due, id)) WITHOUT ROWID",
            "CREATE TRIGGER IF NOT EXISTS payout_queue_insert AFTER INSERT ON balance_transactions"
            " WHEN NEW.type != 'payout'"
            f" BEGIN INSERT INTO payout_queue (id, due) SELECT NEW.id, {_DUE}"
            " FROM (SELECT json_extract(NEW.body, '$.available_on') AS a); END",
            "CREATE TRIGGER IF NOT EXISTS payout_queue_paid AFTER INSERT ON payout_members"
            f" BEGIN DELETE FROM payout_queue WHERE due = (SELECT {_DUE} FROM (SELECT json_extract(body,"
            " '$.available_on') AS a FROM balance_transactions WHERE id = NEW.id)) AND id = NEW.id; END",
            "CREATE TRIGGER IF NOT EXISTS payout_queue_delete AFTER DELETE ON balance_transactions"
            f" BEGIN DELETE FROM payout_queue WHERE due = (SELECT {_DUE} FROM (SELECT"
            " json_extract(OLD.body, '$.available_on') AS a)) AND id = OLD.id; END",
        ),
        f"INSERT INTO payout_queue (id, due) SELECT id, {_DUE} FROM (SELECT id,"
        " json_extract(body, '$.available_on') AS a FROM balance_transactions WHERE type != 'payout'"
        " AND id NOT IN (SELECT id FROM payout_members))",
    )
)


def catch_up(ctx: Context) -> None:
    """Make the automatic payouts of every midnight UTC up to now that has not had its payout yet."""
    unpaid = ctx.store.select(
        "balance_transactions",
        [("id IN (SELECT id FROM payout_queue WHERE due <= ?)", [ctx.now])],
        limit=10_000_000,
    )
    if not unpaid:
        return
    by_day: dict[int, list[dict[str, Any]]] = {}
    for txn in unpaid:
        by_day.setdefault(_due(txn["available_on"]), []).append(txn)
    waiting: dict[str, list[dict[str, Any]]] = {}
    for midnight in sorted(by_day):
        for txn in by_day[midnight]:
            waiting.setdefault(txn["currency"], []).append(txn)
        for currency, members in waiting.items():
            total = sum(txn["net"] for txn in members)
            if members and total > 0:
                _pay_out(ctx, midnight, currency, total, members)
                waiting[currency] = []


def _pay_out(ctx: Context, midnight: int, currency: str, total: int, members: list[dict[str, Any]]) -> None:
    at = dataclasses.replace(ctx, now=midnight, webhooks_queued=0)
    payout_id = new_id("po_")
    txn = txns.transaction_object(
        at, type_="payout", amount=-total, currency=currency, source=payout_id, description="STRIPE PAYOUT"
    )
    txns.record(at, txn)
    payout = payout_object(at, total, currency, txn["id"]) | {"id": payout_id}
    ctx.store.insert("payouts", payout)
    for member in [*members, txn]:
        ctx.store.insert("payout_members", {"id": member["id"], "created": midnight, "payout": payout_id})
    at.emit("payout.created", payout)
    at.emit("payout.paid", payout)
    ctx.webhooks_queued += at.webhooks_queued


txns.BEFORE_READ.append(catch_up)
EXPANDABLE[("payout", "balance_transaction")] = "balance_transactions"


def list_payouts(ctx: Context) -> Any:
    """GET /v1/payouts: newest first; `status` and `created` filters."""
    txns.settle(ctx)
    catch_up(ctx)
    return list_objects(ctx, "payouts", "payout", "/v1/payouts", {"status": p.string()}, (), ("status",))


def retrieve_payout(ctx: Context, payout_id: str) -> dict[str, Any]:
    """GET /v1/payouts/{id}."""
    txns.settle(ctx)
    catch_up(ctx)
    return retrieve(ctx, "payouts", "payout", payout_id)
