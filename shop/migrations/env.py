"""Alembic's environment: migrations run on the connection `shop.db.migrate` hands over.

From the command line (`alembic -c <an ini with script_location = shop:migrations> revision --autogenerate`) the
connection is made from the configured DATABASE_URL instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from shop.schema import metadata


def _run(connection: sa.Connection) -> None:
    # Batch mode: SQLite can only change a column by copying the table, which batch operations do for it.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from shop.config import get_settings

    engine = sa.create_engine(get_settings().database_url)
    with engine.begin() as own_connection:
        _run(own_connection)
