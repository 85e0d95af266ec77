"""The account's balance and payouts, asked of Stripe through the SDK (not synced: see `payouts`).

Balance and payouts change on Stripe's schedule, not through the shop's events, and a finance user looks at
them a few times a day; a short cache on the page (a minute) costs far fewer requests than keeping a copy
current, and always shows Stripe's own figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

PAYOUTS_SHOWN = 30


@dataclass(frozen=True)
class Balance:
    """Available and pending funds per currency (minor units), as GET /v1/balance gives them."""

    available: dict[str, int]
    pending: dict[str, int]


def balance(client: stripe.StripeClient) -> Balance:
    """The balance (docs.stripe.com/api/balance/balance_retrieve): available and pending, per currency."""
    data = client.raw_request("get", "/v1/balance").data

    def per_currency(entries: list[dict]) -> dict[str, int]:
        totals: dict[str, int] = {}
        for entry in entries or []:
            totals[entry["currency"]] = totals.get(entry["currency"], 0) + int(entry["amount"])
        return totals

    return Balance(per_currency(data.get("available")), per_currency(data.get("pending")))


def payouts(client: stripe.StripeClient, limit: int = PAYOUTS_SHOWN) -> list[dict]:
    """The newest payouts (docs.stripe.com/api/payouts/list): id, created, arrival_date, amount, currency, status,
    method, description."""
    data = client.raw_request("get", "/v1/payouts", limit=limit).data
    keys = ("id", "created", "arrival_date", "amount", "currency", "status", "method", "description")
    return [{key: payout.get(key) for key in keys} for payout in data["data"]]


def payout_transactions(client: stripe.StripeClient, payout_id: str) -> list[dict]:
    """Every balance transaction a payout paid out (GET /v1/balance_transactions?payout=…, 100 a page), so the
    payout's amount can be matched to the charges, refunds and fees behind it. The payout's own transaction is
    left out."""
    rows: list[dict] = []
    params: dict = {"payout": payout_id, "limit": 100}
    while True:
        page = client.raw_request("get", "/v1/balance_transactions", **params).data
        for txn in page["data"]:
            if txn.get("type") == "payout":
                continue
            source = txn.get("source")
            rows.append(
                {
                    "id": txn["id"],
                    "created": txn["created"],
                    "type": txn.get("type"),
                    "source": source.get("id") if isinstance(source, dict) else source,
                    "amount": int(txn["amount"]),
                    "fee": int(txn.get("fee") or 0),
                    "net": int(txn.get("net") or 0),
                    "currency": txn.get("currency"),
                }
            )
        if not page["has_more"] or not page["data"]:
            return rows
        params = {**params, "starting_after": page["data"][-1]["id"]}
