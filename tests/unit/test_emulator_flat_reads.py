"""Reads stay flat with the size of the store: no SQL statement a read runs walks a whole table of objects, and the
ledgers kept by triggers (the balance, the transactions waiting for a payout) agree with the objects."""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # Starlette's note about a future httpx package, not about this code
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stripe_emulator import store as store_module
from stripe_emulator.app import create_app

SECRET = {"Authorization": "Bearer sk_test_flat"}
DAY = 86400
MONDAY = 1_900_022_400  # 2030-03-18 00:00 UTC, a Monday
READS = [
    "/v1/charges?limit=100",
    "/v1/charges?limit=100&expand[]=data.balance_transaction",
    "/v1/balance_transactions?limit=100",
    "/v1/balance",
    "/v1/payouts?limit=100",
]
OBJECT_TABLES = ("charges", "balance_transactions", "refunds", "events", "payouts", "payout_members")


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def set_clock(client: TestClient, when: int | None) -> None:
    response = client.post("/_emulator/clock", data={"frozen_time": "" if when is None else str(when)}, headers=SECRET)
    assert response.status_code == 200


def charge(client: TestClient, amount: int, source: str = "tok_visa") -> dict:
    response = client.post(
        "/v1/charges", data={"amount": str(amount), "currency": "usd", "source": source}, headers=SECRET
    )
    return response.json()


def full_scans(conn: sqlite3.Connection, statements: list[str]) -> list[str]:
    """The statements whose query plan walks a whole object table: a SCAN of it other than in the order of an index
    (which the newest-first pages do, stopping at their LIMIT)."""
    found = []
    for statement in statements:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        plan = conn.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
        details = [row[-1] for row in plan]
        scans = [d for d in details if d.split()[:1] == ["SCAN"] and d.split()[1] in OBJECT_TABLES]
        if any("USING INDEX" not in detail for detail in scans):
            found.append(f"{statement} -> {details}")
    return found


@pytest.mark.parametrize("path", READS)
def test_a_read_walks_no_whole_table(client, path):
    set_clock(client, MONDAY)
    for amount in (1000, 2000, 3000):
        charge(client, amount)
    set_clock(client, MONDAY + 3 * DAY + 60)  # funds available, a payout due
    conn = client.app.state.emulator.store.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        assert client.get(path, headers=SECRET).status_code == 200
        assert client.get(path, headers=SECRET).status_code == 200  # after the catch-up, the steady state too
    finally:
        conn.set_trace_callback(None)
    assert full_scans(conn, statements) == []


def ledger_matches_objects(conn: sqlite3.Connection) -> None:
    totals = conn.execute("SELECT currency, status, net FROM balance_totals ORDER BY 1, 2").fetchall()
    expected = conn.execute(
        "SELECT json_extract(body, '$.currency'), status, SUM(json_extract(body, '$.net')) FROM balance_transactions"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    assert totals == expected
    queued = {row[0] for row in conn.execute("SELECT id FROM payout_queue")}
    unpaid = conn.execute(
        "SELECT id FROM balance_transactions WHERE type != 'payout' AND id NOT IN (SELECT id FROM payout_members)"
    ).fetchall()
    assert queued == {row[0] for row in unpaid}


def test_the_ledgers_follow_charges_refunds_settling_payouts_and_reset(client):
    conn = client.app.state.emulator.store.conn
    set_clock(client, MONDAY)
    first = charge(client, 5000)
    charge(client, 700, "tok_mastercard")
    client.post("/v1/refunds", data={"charge": first["id"], "amount": "1200"}, headers=SECRET)
    ledger_matches_objects(conn)
    pending = client.get("/v1/balance", headers=SECRET).json()
    assert pending["available"][0]["amount"] == -1200
    set_clock(client, MONDAY + 3 * DAY)
    balance = client.get("/v1/balance", headers=SECRET).json()
    assert (balance["available"][0]["amount"], balance["pending"][0]["amount"]) == (0, 0)
    assert len(client.get("/v1/payouts", headers=SECRET).json()["data"]) == 1
    ledger_matches_objects(conn)
    assert client.post("/_emulator/reset", headers=SECRET).status_code == 200
    assert conn.execute("SELECT COUNT(*) FROM balance_totals").fetchone()[0] == 0
    ledger_matches_objects(conn)


def test_a_store_made_before_the_ledgers_gains_them_from_its_stored_transactions(tmp_path, monkeypatch):
    with monkeypatch.context() as before_ledgers:
        before_ledgers.setattr(store_module, "LEDGERS", [])
        before_ledgers.setattr(store_module, "DERIVED", {"charges": store_module.DERIVED["charges"]})
        with TestClient(create_app(tmp_path), base_url="http://127.0.0.1") as old:
            set_clock(old, MONDAY)
            charge(old, 5000)
            charge(old, 2500)
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1") as upgraded:
        conn = upgraded.app.state.emulator.store.conn
        ledger_matches_objects(conn)
        set_clock(upgraded, MONDAY + 3 * DAY)
        payouts = upgraded.get("/v1/payouts", headers=SECRET).json()["data"]
        assert [payout["amount"] for payout in payouts] == [5000 + 2500 - (175 + 103)]
        balance = upgraded.get("/v1/balance", headers=SECRET).json()
        assert (balance["available"][0]["amount"], balance["pending"][0]["amount"]) == (0, 0)


def test_an_expanded_page_reads_each_balance_transaction_once_and_shows_it_settled(client):
    set_clock(client, MONDAY)
    for amount in range(1000, 1010):
        charge(client, amount)
    conn = client.app.state.emulator.store.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        page = client.get("/v1/charges?limit=100&expand[]=data.balance_transaction", headers=SECRET).json()
    finally:
        conn.set_trace_callback(None)
    assert [item["balance_transaction"]["status"] for item in page["data"]] == ["pending"] * 10
    assert len([s for s in statements if "FROM balance_transactions" in s]) == 10

    set_clock(client, MONDAY + 2 * DAY)  # Wednesday 00:00 UTC: available_on has come
    page = client.get("/v1/charges?limit=100&expand[]=data.balance_transaction", headers=SECRET).json()
    assert [item["balance_transaction"]["status"] for item in page["data"]] == ["available"] * 10
