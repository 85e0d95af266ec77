"""The shop's SQL database through SQLAlchemy Core: one engine per URL, every table created on first use.

SQLite (a file under the data directory) by default, any SQLAlchemy URL through DATABASE_URL (Postgres, say).
Modules define their tables on `metadata`; `get_engine` imports them so `create_all` sees every table.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

metadata = sa.MetaData()

# Modules whose tables live in the shop database (imported before create_all).
TABLE_MODULES = ("shop.orders", "shop.sync")


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


@functools.cache
def _engine_for(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _prepare_sqlite(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    for module in TABLE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real import error inside the module, not a module that is not there
                raise
    metadata.create_all(engine)
    return engine


def get_engine(url: str | None = None) -> sa.Engine:
    """The engine for `url` (default: the configured DATABASE_URL), with every table created."""
    if url is None:
        from shop.config import get_settings

        url = get_settings().database_url
    return _engine_for(url)
