"""The schema and its migrations: built from nothing they match shop.schema; older stores upgrade keeping every row.

The older stores are written here in SQL, as the code before migrations made them, not through any shop code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shop import db, schema

# What later migrations give an existing order: 0004 no intent, 0008 charged at checkout (capture automatic).
ADDED_ORDER_COLUMNS = {
    "payment_intent_id": None,
    "capture_method": "automatic",
    "captured_at": None,
    "released_at": None,
    "carrier": None,
    "tracking_number": None,
}

# The tables as the code before migrations created them (SQLAlchemy's DDL for SQLite and PostgreSQL; {serial} is
# the one difference: SERIAL on PostgreSQL).
STORE_BEFORE_MIGRATIONS = """
CREATE TABLE orders (
    id VARCHAR(16) NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL, name VARCHAR(200) NOT NULL,
    email VARCHAR(320) NOT NULL, phone VARCHAR(40) NOT NULL, line1 VARCHAR(200) NOT NULL,
    line2 VARCHAR(200) NOT NULL, city VARCHAR(100) NOT NULL, state VARCHAR(100) NOT NULL,
    postal_code VARCHAR(20) NOT NULL, country VARCHAR(2) NOT NULL, book_id VARCHAR(64) NOT NULL,
    quantity INTEGER NOT NULL, unit_amount INTEGER NOT NULL, amount INTEGER NOT NULL, currency VARCHAR(3) NOT NULL,
    status VARCHAR(20) NOT NULL, charge_id VARCHAR(64), paid_at INTEGER, amount_refunded INTEGER NOT NULL,
    shipped_at INTEGER, cancelled_at INTEGER, last_error TEXT, PRIMARY KEY (id)
);
CREATE INDEX ix_orders_charge_id ON orders (charge_id);
CREATE INDEX ix_orders_created ON orders (created);
CREATE INDEX ix_orders_email ON orders (email);
CREATE INDEX ix_orders_status ON orders (status);
CREATE TABLE attempts (
    id {serial} NOT NULL, order_id VARCHAR(16) NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL,
    nonce VARCHAR(64) NOT NULL, idempotency_key VARCHAR(100) NOT NULL, outcome VARCHAR(12) NOT NULL,
    code VARCHAR(64), decline_code VARCHAR(64), message TEXT, charge_id VARCHAR(64), card_brand VARCHAR(20),
    card_last4 VARCHAR(4), PRIMARY KEY (id), CONSTRAINT uq_attempt_nonce UNIQUE (order_id, nonce),
    FOREIGN KEY(order_id) REFERENCES orders (id), UNIQUE (idempotency_key)
);
CREATE INDEX ix_attempts_order_id ON attempts (order_id);
CREATE INDEX ix_attempts_outcome ON attempts (outcome);
CREATE TABLE refund_requests (
    id {serial} NOT NULL, order_id VARCHAR(16) NOT NULL, created INTEGER NOT NULL, reason TEXT NOT NULL,
    status VARCHAR(10) NOT NULL, decided_at INTEGER, refund_id VARCHAR(64), note TEXT, PRIMARY KEY (id),
    FOREIGN KEY(order_id) REFERENCES orders (id)
);
CREATE INDEX ix_refund_requests_order_id ON refund_requests (order_id);
CREATE INDEX ix_refund_requests_status ON refund_requests (status);
CREATE TABLE charges (
    id VARCHAR(64) NOT NULL, created INTEGER NOT NULL, amount INTEGER NOT NULL, amount_captured INTEGER NOT NULL,
    amount_refunded INTEGER NOT NULL, currency VARCHAR(8) NOT NULL, status VARCHAR(16) NOT NULL,
    paid BOOLEAN NOT NULL, captured BOOLEAN NOT NULL, refunded BOOLEAN NOT NULL, failure_code VARCHAR(64),
    failure_message TEXT, decline_code VARCHAR(64), outcome_type VARCHAR(32), risk_level VARCHAR(16),
    card_brand VARCHAR(32), card_last4 VARCHAR(4), receipt_email VARCHAR(320), customer_name VARCHAR(200),
    description TEXT, order_id VARCHAR(32), book_id VARCHAR(64), quantity INTEGER,
    {charges_tail}
    PRIMARY KEY (id)
);
CREATE INDEX ix_charges_created ON charges (created);
CREATE INDEX ix_charges_order_id ON charges (order_id);
CREATE INDEX ix_charges_receipt_email ON charges (receipt_email);
{sync_seq_index}
{charge_payloads}
CREATE TABLE refunds (
    id VARCHAR(64) NOT NULL, charge_id VARCHAR(64) NOT NULL, created INTEGER NOT NULL, amount INTEGER NOT NULL,
    currency VARCHAR(8) NOT NULL, reason VARCHAR(32), status VARCHAR(16), raw TEXT NOT NULL, PRIMARY KEY (id)
);
CREATE INDEX ix_refunds_charge_id ON refunds (charge_id);
CREATE INDEX ix_refunds_created ON refunds (created);
CREATE TABLE sync_state ("key" VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY ("key"));
"""
# Today's layout of `charges` (the JSON in charge_payloads) ...
TODAY = {
    "charges_tail": "sync_seq INTEGER DEFAULT '0' NOT NULL,",
    "sync_seq_index": "CREATE INDEX ix_charges_sync_seq ON charges (sync_seq);",
    "charge_payloads": "CREATE TABLE charge_payloads (id VARCHAR(64) NOT NULL, raw TEXT NOT NULL, PRIMARY KEY (id));",
}
# ... and the layout before "Charge JSON in its own table" and before sync_seq: the JSON inside `charges`.
JSON_INSIDE_CHARGES = {"charges_tail": "raw TEXT NOT NULL,", "sync_seq_index": "", "charge_payloads": ""}

ORDER = {
    "id": "SP-ABCDEFGH",
    "created": 1_764_000_000,
    "updated": 1_764_000_100,
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+1 415 555 0100",
    "line1": "1 Analytical Way",
    "line2": "",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94107",
    "country": "US",
    "book_id": "working-in-public",
    "quantity": 1,
    "unit_amount": 2300,
    "amount": 2300,
    "currency": "usd",
    "status": "partially_refunded",
    "charge_id": "ch_old1",
    "paid_at": 1_764_000_050,
    "amount_refunded": 500,
    "shipped_at": None,
    "cancelled_at": None,
    "last_error": None,
}
ATTEMPT = {
    "id": 1,
    "order_id": ORDER["id"],
    "created": 1_764_000_010,
    "updated": 1_764_000_050,
    "nonce": "n-1",
    "idempotency_key": "charge-SP-ABCDEFGH-1-n-1",
    "outcome": "succeeded",
    "code": None,
    "decline_code": None,
    "message": None,
    "charge_id": "ch_old1",
    "card_brand": "visa",
    "card_last4": "4242",
}
REFUND_REQUEST = {
    "id": 1,
    "order_id": ORDER["id"],
    "created": 1_764_000_200,
    "reason": "Arrived damaged",
    "status": "pending",
    "decided_at": None,
    "refund_id": None,
    "note": None,
}
CHARGE = {
    "id": "ch_old1",
    "created": 1_764_000_040,
    "amount": 2300,
    "amount_captured": 2300,
    "amount_refunded": 500,
    "currency": "usd",
    "status": "succeeded",
    "paid": True,
    "captured": True,
    "refunded": False,
    "failure_code": None,
    "failure_message": None,
    "decline_code": None,
    "outcome_type": "authorized",
    "risk_level": "normal",
    "card_brand": "visa",
    "card_last4": "4242",
    "receipt_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "description": "Working in Public",
    "order_id": ORDER["id"],
    "book_id": "working-in-public",
    "quantity": 1,
}
CHARGE_JSON = json.dumps({"id": "ch_old1", "object": "charge", "amount": 2300})
# 0007 adds fee and net to the copy of charges, empty until the next sync.
NO_FEES = {"balance_transaction": None, "fee": None, "net": None}
REFUND = {
    "id": "re_old1",
    "charge_id": "ch_old1",
    "created": 1_764_000_300,
    "amount": 500,
    "currency": "usd",
    "reason": "requested_by_customer",
    "status": "succeeded",
    "raw": json.dumps({"id": "re_old1", "object": "refund"}),
}
SYNC_STATE = [
    {"key": "backfilled", "value": "1"},
    {"key": "last_event_id", "value": "evt_old9"},
    {"key": "data_version", "value": "7"},
]


def build_old_store(url: str, layout: dict[str, str]) -> sa.Engine:
    """A store as code before migrations left it: its DDL run by hand, one row in every table."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    ddl = STORE_BEFORE_MIGRATIONS.format(serial=serial, **layout)
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.execute(sa.text(statement))
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.begin() as conn:
        conn.execute(tables.tables["orders"].insert(), [ORDER])
        conn.execute(tables.tables["attempts"].insert(), [ATTEMPT])
        conn.execute(tables.tables["refund_requests"].insert(), [REFUND_REQUEST])
        charge = {**CHARGE, "sync_seq": 3} if "sync_seq" in layout["charges_tail"] else {**CHARGE, "raw": CHARGE_JSON}
        conn.execute(tables.tables["charges"].insert(), [charge])
        if layout["charge_payloads"]:
            conn.execute(tables.tables["charge_payloads"].insert(), [{"id": "ch_old1", "raw": CHARGE_JSON}])
        conn.execute(tables.tables["refunds"].insert(), [REFUND])
        conn.execute(tables.tables["sync_state"].insert(), SYNC_STATE)
    return engine


def rows(engine: sa.Engine, table: sa.Table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(table))]


def schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), schema.metadata)


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_migrations_from_nothing_build_exactly_the_schema_the_code_defines(empty_database_url: str):
    engine = sa.create_engine(empty_database_url, poolclass=sa.NullPool)
    config = db._alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")

    assert schema_differences(engine) == []
    assert revision(engine) == db._head_revision()


def test_a_new_store_gets_every_table_at_the_newest_revision(empty_database_url: str):
    engine = db.get_engine(empty_database_url)
    assert schema_differences(engine) == []
    assert revision(engine) == db._head_revision()


def test_a_store_made_by_the_code_before_migrations_is_stamped_and_keeps_every_row(empty_database_url: str):
    old = build_old_store(empty_database_url, TODAY)
    assert revision(old) is None

    engine = db.get_engine(empty_database_url)

    assert revision(engine) == db._head_revision()
    assert schema_differences(engine) == []
    assert rows(engine, schema.orders_table) == [{**ORDER, **ADDED_ORDER_COLUMNS}]
    assert rows(engine, schema.attempts_table) == [ATTEMPT]
    assert rows(engine, schema.refund_requests_table) == [REFUND_REQUEST]
    assert rows(engine, schema.charges) == [{**CHARGE, "sync_seq": 3, "event_created": 0, "disputed": False, **NO_FEES}]
    assert rows(engine, schema.charge_payloads) == [{"id": "ch_old1", "raw": CHARGE_JSON}]
    assert rows(engine, schema.refunds) == [{**REFUND, "event_created": 0, "balance_transaction": None}]
    state = {row["key"]: row["value"] for row in rows(engine, schema.sync_state)}
    assert state == {"backfilled": "1", "last_event_id": "evt_old9"}
    assert db.data_version(engine) == 7  # the data version moved into the change counter, and goes on from it


def test_a_store_with_the_charge_json_inside_charges_keeps_its_charges_and_moves_the_json(empty_database_url: str):
    build_old_store(empty_database_url, JSON_INSIDE_CHARGES)

    engine = db.get_engine(empty_database_url)

    assert schema_differences(engine) == []
    kept = {**CHARGE, "sync_seq": 0, "event_created": 0, "disputed": False, **NO_FEES}
    assert rows(engine, schema.charges) == [kept]
    assert rows(engine, schema.charge_payloads) == [{"id": "ch_old1", "raw": CHARGE_JSON}]
    assert rows(engine, schema.orders_table) == [{**ORDER, **ADDED_ORDER_COLUMNS}]
    state = {row["key"]: row["value"] for row in rows(engine, schema.sync_state)}
    assert state["backfilled"] == "1"  # its copy is whole, so the next sync stays incremental


def test_migrating_a_store_twice_changes_nothing(database_url: str):
    engine = db.get_engine(database_url)
    with engine.begin() as conn:
        conn.execute(schema.sync_state.insert(), [{"key": "backfilled", "value": "1"}])
    db.migrate(engine)
    assert rows(engine, schema.sync_state)[-1] == {"key": "backfilled", "value": "1"}
    assert revision(engine) == db._head_revision()


@pytest.mark.parametrize("url", ["mysql+pymysql://shop@localhost/shop", "mssql+pyodbc://shop@dsn"])
def test_a_database_other_than_sqlite_or_postgresql_is_refused_with_a_clear_message(url: str):
    with pytest.raises(db.UnsupportedDatabaseError, match="SQLite or PostgreSQL"):
        db.get_engine(url)


def test_closing_idle_connections_lets_go_of_a_sqlite_stores_files_and_the_store_still_works(tmp_path) -> None:
    path = tmp_path / "store" / "shop.db"
    engine = db.get_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.sync_state).values(key="cursor", value="evt_1"))

    def files_open() -> set[str]:
        fds = Path("/proc/self/fd")
        return {target for fd in fds.iterdir() if (target := os.path.realpath(fd)).startswith(str(path))}

    assert files_open()  # the engine's pool keeps its connection, and with it the database, WAL and shared memory
    db.close_idle_connections()
    assert files_open() == set()
    with db.reading(engine) as conn:
        assert conn.execute(sa.select(schema.sync_state.c.value)).scalar_one() == "evt_1"
