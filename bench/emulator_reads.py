"""Helpers of `bench.emulator_bench` for the emulator's reads at size and its per-request time.

`grow(data_dir, factor)` turns a store seeded by `stripe_emulator.seeding.seed_charges` into one `factor` times as
large by copying its charges and their balance transactions under new ids in SQL (a million charges through the
charge code would take a quarter of an hour). Their events are not copied: none of the reads measured here reads
events, and they would double the store's size on disk. The copies keep their originals' times, so like the
originals they are recent: their funds pending, no payout due.

`read_ms(port)` times the reads a client of a large account makes (a page of 100 charges, the same with their
balance transactions expanded, a page of 100 balance transactions, the balance), and `request_ms(port)` the
writes a checkout makes beside a route that does no work, each over one keep-alive connection, so the figures
are the server's time plus one loopback round trip (answers are read, not parsed, inside the timed part, except
the PaymentIntent's, whose id the confirm needs).
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import statistics
import time
import urllib.parse
from pathlib import Path

HEADERS = {"Authorization": "Bearer sk_test_bench"}
SAMPLES = 25
REQUEST_SAMPLES = 200
INTENT = {"amount": "1000", "currency": "usd", "payment_method_types[0]": "card"}

READS = {
    "list100": "/v1/charges?limit=100",
    "list100_expanded": "/v1/charges?limit=100&expand[]=data.balance_transaction",
    "balance_transactions100": "/v1/balance_transactions?limit=100",
    "balance": "/v1/balance",
}


def grow(data_dir: Path, factor: int) -> int:
    """Copy the store's charges (with their balance transactions) until it holds `factor` times as many; return
    the number of charges."""
    conn = sqlite3.connect(data_dir / "emulator.sqlite3", isolation_level=None)
    try:
        # A throwaway copy: written once without a journal (the emulator turns WAL back on when it opens it).
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-500000")  # 500 MB: the id indexes of a million rows stay in memory
        top = {table: conn.execute(f"SELECT MAX(seq) FROM {table}").fetchone()[0] or 0 for table in TABLES}
        conn.execute("BEGIN")
        for copy in range(1, factor):
            suffix = f"x{copy}"
            for table, statement in TABLES.items():
                conn.execute(statement.format(suffix=suffix), (top[table],))
        conn.execute("COMMIT")
        return conn.execute("SELECT COUNT(*) FROM charges").fetchone()[0]
    finally:
        conn.close()


_NEW_ID = "id || '{suffix}'"
_CHARGE_BODY = (
    "json_set(body, '$.id', id || '{suffix}', '$.balance_transaction',"
    " CASE WHEN json_extract(body, '$.balance_transaction') IS NULL THEN NULL"
    " ELSE json_extract(body, '$.balance_transaction') || '{suffix}' END)"
)
_TXN_BODY = "json_set(body, '$.id', id || '{suffix}', '$.source', source || '{suffix}')"
TABLES = {
    "charges": "INSERT INTO charges (id, created, customer, payment_intent, authorization_expires_at, body)"
    f" SELECT {_NEW_ID}, created, customer, payment_intent, authorization_expires_at, {_CHARGE_BODY}"
    " FROM charges WHERE seq <= ?",
    "balance_transactions": "INSERT INTO balance_transactions (id, created, type, source, status, pending_until, body)"
    f" SELECT {_NEW_ID}, created, type, source || '{{suffix}}', status, pending_until, {_TXN_BODY}"
    " FROM balance_transactions WHERE seq <= ?",
}


def _connection(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.connect()
    return conn


def _call(conn: http.client.HTTPConnection, method: str, path: str, form: dict[str, str] | None = None) -> bytes:
    body = urllib.parse.urlencode(form) if form else None
    headers = dict(HEADERS)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} answered {response.status}: {data[:200]!r}")
    return data


def _median_ms(conn: http.client.HTTPConnection, method: str, path: str, samples: int, **form: str) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        _call(conn, method, path, form or None)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def read_ms(port: int) -> dict[str, float]:
    """Median milliseconds of each read in READS (the first, untimed, catches up any lazy work)."""
    conn = _connection(port)
    try:
        figures = {}
        for name, path in READS.items():
            first = json.loads(_call(conn, "GET", path))
            if name != "balance" and len(first["data"]) != 100:
                raise RuntimeError(f"{path} listed {len(first['data'])} objects, expected 100")
            figures[name] = _median_ms(conn, "GET", path, SAMPLES)
        return figures
    finally:
        conn.close()


def request_ms(port: int) -> dict[str, float]:
    """Median milliseconds of an empty route, a charge create and a PaymentIntent create + confirm."""
    conn = _connection(port)
    try:
        method = json.loads(
            _call(
                conn,
                "POST",
                "/v1/payment_methods",
                {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2040"},
            )
        )["id"]
        figures = {"empty_route": _median_ms(conn, "GET", "/_emulator/health", REQUEST_SAMPLES)}
        figures["charge_create"] = _median_ms(
            conn, "POST", "/v1/charges", REQUEST_SAMPLES, amount="1000", currency="usd", source="tok_visa"
        )
        times = []
        for _ in range(REQUEST_SAMPLES):
            started = time.perf_counter()
            intent = json.loads(_call(conn, "POST", "/v1/payment_intents", INTENT))
            path = f"/v1/payment_intents/{intent['id']}/confirm"
            confirmed = json.loads(_call(conn, "POST", path, {"payment_method": method}))
            times.append((time.perf_counter() - started) * 1000)
            if confirmed["status"] != "succeeded":
                raise RuntimeError(f"intent {intent['id']} ended {confirmed['status']}")
        figures["intent_create_confirm"] = statistics.median(times)
        return figures
    finally:
        conn.close()
