"""The shop's SQL database through SQLAlchemy Core: one engine per URL, migrated to the current schema on first use.

SQLite (a file under the data directory) by default; PostgreSQL through DATABASE_URL
(`postgresql+psycopg://user:password@host/dbname`). Every table is in `shop.schema`; the Alembic migrations in
`shop/migrations` bring an existing store to it in place, so no store is ever dropped or rebuilt.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from shop.schema import change_sequence, metadata

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
# The revision a store made before migrations existed is in when it has all of its tables.
BASELINE_REVISION = "0001"
# Any number, the same in every process: the key of the advisory lock under which PostgreSQL stores migrate.
_MIGRATION_LOCK_KEY = 7_240_811
CHANGES = "changes"  # the change_sequence counter of the local copy of Stripe's objects


class UnsupportedDatabaseError(ValueError):
    """DATABASE_URL names a database other than SQLite or PostgreSQL."""


def _prepare_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the pages read while a checkout writes; the busy timeout makes writers queue, not fail.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _alembic_config() -> Config:
    config = Config()
    # A package resource, so the migrations ship inside `shop` and need no alembic.ini.
    config.set_main_option("script_location", "shop:migrations")
    return config


@functools.cache
def _head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def migrate(engine: sa.Engine) -> None:
    """Bring the store behind `engine` to the current schema, keeping every row.

    An empty store gets every table of `shop.schema` and is stamped with the newest revision (Alembic's recipe for
    new databases). A store made before migrations existed (no alembic_version table) is stamped with the first
    revision when it has its tables, then upgraded like any other. On PostgreSQL, processes starting at the same
    time migrate one after the other (a transaction-scoped advisory lock).
    """
    config = _alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        config.attributes["connection"] = conn
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None:
            present = set(sa.inspect(conn).get_table_names())
            if not present & set(metadata.tables):
                metadata.create_all(conn)
                command.stamp(config, _head_revision())
                return
            if present >= _baseline_tables():
                command.stamp(config, BASELINE_REVISION)
        if current != _head_revision():
            command.upgrade(config, "head")


def _baseline_tables() -> set[str]:
    return {"orders", "attempts", "refund_requests", "charges", "charge_payloads", "refunds", "sync_state"}


def _in_memory(url: URL) -> bool:
    """Whether `url` names an in-memory SQLite store, which lives only as long as its connection."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _engine_for(url: str) -> sa.Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise UnsupportedDatabaseError(
            f"DATABASE_URL names a {backend} database; the shop runs on SQLite or PostgreSQL (postgresql+psycopg://…)."
        )
    if backend == "sqlite":
        if not _in_memory(parsed):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _prepare_sqlite(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    migrate(engine)
    return engine


_engines: dict[str, sa.Engine] = {}  # one per URL, for the life of the process
_engines_lock = threading.Lock()  # threads asking for a new URL at once: one builds and migrates, the rest wait


def get_engine(url: str | None = None) -> sa.Engine:
    """The engine for `url` (default: the configured DATABASE_URL), its store migrated once per URL and process."""
    if url is None:
        from shop.config import get_settings

        url = get_settings().database_url
    with _engines_lock:
        if url not in _engines:
            _engines[url] = _engine_for(url)
        return _engines[url]


def close_idle_connections() -> None:
    """Close the idle pooled connections of every engine this process made; an engine opens new ones when next used.

    For a process done with many stores, such as a test run that gives each test its own: each engine keeps its
    pool for the life of the process, and a SQLite connection holds three files open (the database, its WAL and
    its shared memory), so they would add up to thousands of open files.
    """
    with _engines_lock:
        engines = list(_engines.values())
    for engine in engines:
        # Closing an in-memory store's connection would drop the store; an engine without idle ones has none to close.
        if not _in_memory(engine.url) and engine.pool.checkedin():
            engine.dispose()


def reading(engine: sa.Engine) -> sa.Connection:
    """A connection for reads that need no transaction: each statement sees what was committed when it ran.

    On PostgreSQL a transaction costs two round trips of its own (BEGIN, then the ROLLBACK that returns the
    connection to the pool), as many as a one-query read itself; this connection runs each statement on its own
    instead. SQLite's driver begins no transaction for a read anyway, and switching its isolation level would cost
    a PRAGMA each way. Reads that must agree with each other, or decide a write, belong in the write's
    `engine.begin()`.
    """
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def dialect_insert(conn: sa.Connection, table: sa.Table):
    """`INSERT` for `conn`'s dialect (SQLite's or PostgreSQL's), the kind with `on_conflict_do_update/nothing`."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict],
    *,
    newer: str | None = None,
) -> None:
    """Insert `rows`, replacing the rows with the same primary key, in one `INSERT … ON CONFLICT DO UPDATE`.

    With `newer` (a column name), a stored row is replaced only when the new row's value of that column is at
    least the stored one, so an older copy of an object arriving late never overwrites a newer one.
    """
    if not rows:
        return
    statement = dialect_insert(conn, table)
    keys = [column.name for column in table.primary_key.columns]
    update = {column.name: statement.excluded[column.name] for column in table.columns if column.name not in keys}
    where = table.c[newer] <= statement.excluded[newer] if newer else None
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=update, where=where), list(rows))


def insert_missing(conn: sa.Connection, table: sa.Table, rows: Sequence[dict]) -> int:
    """Insert the rows whose primary key is not stored yet (`ON CONFLICT DO NOTHING`); returns how many were new."""
    if not rows:
        return 0
    keys = list(table.primary_key.columns)
    statement = dialect_insert(conn, table).on_conflict_do_nothing(index_elements=[key.name for key in keys])
    # Counted from RETURNING: a batch's rowcount is not reliable across drivers (-1 with psycopg).
    return len(conn.execute(statement.returning(*keys), list(rows)).all())


def next_number(conn: sa.Connection, counter: str) -> int:
    """The next number of `counter` (a `change_sequence` row, created at 1), inside `conn`'s transaction.

    One upsert that increments and returns: the row then stays locked until the transaction ends, so the numbers
    commit in the order they were handed out, and none is handed out twice.
    """
    statement = dialect_insert(conn, change_sequence).values(name=counter, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={"value": change_sequence.c.value + 1}
    ).returning(change_sequence.c.value)
    return int(conn.execute(statement).scalar_one())


def next_change(conn: sa.Connection) -> int:
    """The next number of the "changes" counter, taken inside `conn`'s transaction (see `next_number`).

    Every write to the local copy of Stripe's objects (a sync, a webhook, a dispute answered) takes one and tags its
    rows with it (`sync_seq`), so open pages see a new `data_version` and reload what changed.
    """
    return next_number(conn, CHANGES)


def data_version(engine: sa.Engine | None = None) -> int:
    """Number of the last committed change to the local copy (0 before any); rows carry theirs as `sync_seq`.

    Every row of a change numbered up to this one is committed, so a reader holding a copy as of version V reloads
    exactly the rows with `sync_seq > V`.
    """
    with (engine or get_engine()).connect() as conn:
        value = conn.execute(sa.select(change_sequence.c.value).where(change_sequence.c.name == CHANGES)).scalar()
    return int(value or 0)
