"""Durable storage: one SQLite file (WAL) with a table per object kind, JSON bodies and indexed filter columns."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# kind -> columns (besides seq, id, created, body) that lists filter on
TABLES: dict[str, tuple[str, ...]] = {
    "charges": ("customer", "payment_intent"),
    "refunds": ("charge", "payment_intent"),
    "customers": ("email",),
    "events": ("type",),
    "tokens": (),
    "cards": ("customer",),
    "payment_methods": ("customer",),
    "payment_method_cards": (),  # what only the emulator knows of a PaymentMethod's card: kept out of its body
    "payment_intents": ("customer",),
    "webhook_endpoints": (),
    "webhook_endpoint_secrets": (),  # each endpoint's whsec_ secret: kept out of its body, shown on create only
    "webhook_deliveries": ("event", "endpoint", "state"),  # the delivery log (stripe_emulator/webhooks.py)
    "balance_transactions": ("type", "source", "status"),
    "disputes": ("charge", "payment_intent"),
    "payouts": (),
    "payout_members": ("payout",),  # which payout paid out each balance transaction (not in Stripe's txn shape)
    "files": ("purpose",),  # uploads (resources/files.py)
    "file_contents": (),  # each upload's bytes (base64): kept out of its body
}


# kind -> {column: function of an object giving an integer or None}: indexed columns computed from an object's
# state on every write, for rules that must find objects by it cheaply (resources/authorizations.py registers the
# expiry of authorizations).
DERIVED: dict[str, dict[str, Callable[[dict[str, Any]], Any]]] = {}


# kind -> function giving an object's search terms [(field, text, number)]: kept in `<kind>_terms` on every
# write, for stripe_emulator/query.py (the search endpoints) to find objects by any searchable value cheaply.
SEARCH_TERMS: dict[str, Callable[[dict[str, Any]], list[tuple[str, str | None, int | None]]]] = {}


@dataclass(frozen=True)
class Ledger:
    """A table SQLite keeps up to date itself, by triggers on the object tables, so that a read which would
    otherwise go over every stored object (the balance, the transactions waiting for a payout) reads a few rows.

    `schema` are its CREATE … IF NOT EXISTS statements (table, indexes, triggers); `fill` fills the table from the
    objects already stored, once, when a store made before the ledger existed is opened."""

    table: str
    schema: tuple[str, ...]
    fill: str


# Registered by the resource modules (resources/balance_transactions.py, resources/payouts.py).
LEDGERS: list[Ledger] = []


def _columns(table: str) -> tuple[str, ...]:
    return (*TABLES[table], *DERIVED.get(table, {}))


def _values(table: str, obj: dict[str, Any]) -> list[Any]:
    derived = DERIVED.get(table, {})
    return [*(_column(obj, column) for column in TABLES[table]), *(rule(obj) for rule in derived.values())]


class Store:
    """Objects by kind; every write is committed (WAL) before the caller answers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # Bodies are 2-3 KB of JSON: large pages hold several rows each instead of one (new files only).
        self.conn.execute("PRAGMA page_size=16384")
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only an OS crash could lose the last commits.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        # A write that fires the ledgers' triggers needs a statement journal: in memory, not a temporary file
        # created for each such write (which doubled the time of a charge create).
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self._create()

    def _create(self) -> None:
        with self.transaction():
            for table in TABLES:
                columns = _columns(table)
                extra = "".join(f", {column} TEXT" for column in TABLES[table])
                extra += "".join(f", {column} INTEGER" for column in DERIVED.get(table, {}))
                self.conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                    f" id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL{extra}, body TEXT NOT NULL)"
                )
                self._add_derived_columns(table)
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_created ON {table} (created, seq)")
                for column in columns:
                    self.conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {table}_{column} ON {table} ({column}, created, seq)"
                    )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, endpoint TEXT NOT NULL,"
                " params_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,"
                " request_id TEXT NOT NULL, created INTEGER NOT NULL)"
            )
            self.conn.execute("CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created)")
            for ledger in LEDGERS:
                known = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
                new = self.conn.execute(known, (ledger.table,)).fetchone() is None
                for statement in ledger.schema:
                    self.conn.execute(statement)
                if new:
                    self.conn.execute(ledger.fill)
            for table in SEARCH_TERMS:
                self._create_terms(table)

    def _create_terms(self, table: str) -> None:
        """A searchable kind's term table; a store made before it existed gets its objects' terms.

        One row per (object, field, value), with the object's `created`: text terms have num 0, numeric ones value
        '' (key columns cannot be NULL). The primary key (seq, field, ...) answers "does this object have that
        term"; the two indexes answer "which objects have it, newest first"."""
        terms = f"{table}_terms"
        existed = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (terms,)).fetchone()
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {terms} (seq INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,"
            " num INTEGER NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (seq, field, value, num)) WITHOUT ROWID"
        )
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {terms}_value ON {terms} (field, value, created)")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {terms}_num ON {terms} (field, num, created) WHERE value = ''")
        if not existed:
            for seq, body in self.conn.execute(f"SELECT seq, body FROM {table}").fetchall():
                self._write_terms(table, seq, json.loads(body), new=True)

    def _write_terms(self, table: str, seq: int, obj: dict[str, Any], new: bool) -> None:
        rule = SEARCH_TERMS.get(table)
        if rule is None:
            return
        terms = f"{table}_terms"
        wanted = {(field, value or "", num or 0) for field, value, num in rule(obj)}
        if not new:  # an update rewrites only the terms that changed (most updates change one or two)
            held = set(self.conn.execute(f"SELECT field, value, num FROM {terms} WHERE seq = ?", (seq,)))
            self.conn.executemany(
                f"DELETE FROM {terms} WHERE seq = ? AND field = ? AND value = ? AND num = ?",
                [(seq, *term) for term in held - wanted],
            )
            wanted -= held
        self.conn.executemany(
            f"INSERT INTO {terms} (seq, field, value, num, created) VALUES (?, ?, ?, ?, ?)",
            [(seq, *term, obj["created"]) for term in wanted],
        )

    def _add_derived_columns(self, table: str) -> None:
        """A store made before a derived column existed gains it, filled in from every stored object."""
        present = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
        for column, rule in DERIVED.get(table, {}).items():
            if column in present:
                continue
            self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER")
            rows = self.conn.execute(f"SELECT id, body FROM {table}").fetchall()
            self.conn.executemany(
                f"UPDATE {table} SET {column} = ? WHERE id = ?", [(rule(json.loads(body)), id_) for id_, body in rows]
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic, committed unit of work (nested calls join the outer one)."""
        with self.lock:
            if self.conn.in_transaction:
                yield
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def insert(self, table: str, obj: dict[str, Any]) -> None:
        """Store a new object."""
        columns = _columns(table)
        values = [obj["id"], obj["created"], *_values(table, obj), _dump(obj)]
        names = ", ".join(["id", "created", *columns, "body"])
        marks = ", ".join("?" * len(values))
        with self.lock:
            cursor = self.conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
            self._write_terms(table, cursor.lastrowid, obj, new=True)

    def insert_many(self, table: str, objects: list[dict[str, Any]]) -> None:
        """Store many new objects in one transaction (used to seed large stores quickly)."""
        columns = _columns(table)
        names = ", ".join(["id", "created", *columns, "body"])
        marks = ", ".join("?" * (len(columns) + 3))
        rows = [[obj["id"], obj["created"], *_values(table, obj), _dump(obj)] for obj in objects]
        with self.transaction():
            if table not in SEARCH_TERMS:
                self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
                return
            for obj, row in zip(objects, rows, strict=True):
                cursor = self.conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", row)
                self._write_terms(table, cursor.lastrowid, obj, new=True)

    def update(self, table: str, obj: dict[str, Any]) -> None:
        """Replace a stored object's body (and its filter columns)."""
        columns = _columns(table)
        sets = ", ".join([*(f"{column} = ?" for column in columns), "body = ?"])
        values = [*_values(table, obj), _dump(obj), obj["id"]]
        with self.lock:
            self.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", values)
            if table in SEARCH_TERMS:
                row = self.conn.execute(f"SELECT seq FROM {table} WHERE id = ?", (obj["id"],)).fetchone()
                if row is not None:
                    self._write_terms(table, row[0], obj, new=False)

    def get(self, table: str, object_id: str) -> dict[str, Any] | None:
        """An object by id, or None."""
        with self.lock:
            row = self.conn.execute(f"SELECT body FROM {table} WHERE id = ?", (object_id,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def position(self, table: str, object_id: str) -> tuple[int, int] | None:
        """(created, seq) of an object: its place in the newest-first order."""
        with self.lock:
            row = self.conn.execute(f"SELECT created, seq FROM {table} WHERE id = ?", (object_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def page(
        self,
        table: str,
        where: list[tuple[str, list[Any]]],
        limit: int,
        after: tuple[int, int] | None = None,
        before: tuple[int, int] | None = None,
        raw: bool = False,
    ) -> tuple[list[Any], bool]:
        """Newest first: `limit` objects older than `after`, or the `limit` closest ones newer than `before`.

        Returns (objects newest first — JSON texts when `raw` —, whether more exist in the paging direction)."""
        clauses = [clause for clause, _ in where]
        args: list[Any] = [arg for _, values in where for arg in values]
        order = "DESC"
        if after is not None:
            clauses.append("(created < ? OR (created = ? AND seq < ?))")
            args += [after[0], after[0], after[1]]
        elif before is not None:
            clauses.append("(created > ? OR (created = ? AND seq > ?))")
            args += [before[0], before[0], before[1]]
            order = "ASC"
        sql = f"SELECT body FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY created {order}, seq {order} LIMIT ?"
        args.append(limit + 1)
        with self.lock:
            rows = self.conn.execute(sql, args).fetchall()
        has_more = len(rows) > limit
        objects = [row[0] if raw else orjson.loads(row[0]) for row in rows[:limit]]
        if order == "ASC":
            objects.reverse()
        return objects, has_more

    def select(
        self, table: str, where: list[tuple[str, list[Any]]], limit: int = 100, order_by: str = "seq"
    ) -> list[dict[str, Any]]:
        """Up to `limit` objects matching every clause, in `order_by` order (default: insertion).

        Order by the indexed column the clauses filter on, or SQLite walks the whole table in `seq` order to avoid a
        sort."""
        sql = f"SELECT body FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(clause for clause, _ in where)
        args = [arg for _, values in where for arg in values]
        with self.lock:
            rows = self.conn.execute(sql + f" ORDER BY {order_by}, seq LIMIT ?", [*args, limit]).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def delete(self, table: str, object_id: str) -> None:
        """Remove an object for good."""
        with self.lock:
            if table in SEARCH_TERMS:
                self.conn.execute(
                    f"DELETE FROM {table}_terms WHERE seq IN (SELECT seq FROM {table} WHERE id = ?)", (object_id,)
                )
            self.conn.execute(f"DELETE FROM {table} WHERE id = ?", (object_id,))

    def count(self, table: str) -> int:
        """How many objects of a kind are stored."""
        with self.lock:
            return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # ---- idempotency ----

    def idempotent_result(self, key: str) -> tuple[str, str, int, str, str] | None:
        """(endpoint, params hash, status, body, request id) saved for a key, or None."""
        with self.lock:
            return self.conn.execute(
                "SELECT endpoint, params_hash, status, body, request_id FROM idempotency WHERE key = ?", (key,)
            ).fetchone()

    def save_idempotent_result(
        self, key: str, endpoint: str, params_hash: str, status: int, body: str, request_id: str, now: int
    ) -> None:
        """Remember the first response for a key."""
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, endpoint, params_hash, status, body, request_id, now),
            )

    def prune_idempotency(self, older_than: int) -> None:
        """Forget keys saved before `older_than` (Stripe keeps them at least 24 hours)."""
        with self.transaction():
            self.conn.execute("DELETE FROM idempotency WHERE created < ?", (older_than,))

    def reset(self) -> None:
        """Delete every object and idempotency key."""
        with self.transaction():
            for table in (
                *TABLES,
                *(f"{kind}_terms" for kind in SEARCH_TERMS),
                "idempotency",
                *(ledger.table for ledger in LEDGERS),
            ):
                self.conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self.conn.close()


def _column(obj: dict[str, Any], column: str) -> Any:
    value = obj.get(column)
    if isinstance(value, dict):  # an expanded reference
        return value.get("id")
    return value


def _dump(obj: dict[str, Any]) -> str:
    # orjson: bodies are parsed and written on every request, several times faster than the json module.
    return orjson.dumps(obj).decode()
