"""Charge JSON in its own table, for stores whose `charges` table still carries it (made before that change).

Earlier code kept each charge's JSON in `charges.raw` (4 kB a row, read by every scan of the pages' columns) and,
earlier still, had no `sync_seq`. Those stores were dropped and backfilled again; this revision keeps their rows:
the JSON moves to `charge_payloads`, `raw` goes, and `sync_seq` is added (0: stored before any counted sync).
A store already in the first revision's layout is left as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    columns = {column["name"] for column in sa.inspect(bind).get_columns("charges")}
    if "raw" in columns:
        payloads = sa.table("charge_payloads", sa.column("id"), sa.column("raw"))
        charges = sa.table("charges", sa.column("id"), sa.column("raw"))
        # Rows the payload table already has (written by newer code) are newer than the JSON inside `charges`.
        already = sa.select(payloads.c.id).where(payloads.c.id == charges.c.id)
        op.execute(
            payloads.insert().from_select(
                ["id", "raw"], sa.select(charges.c.id, charges.c.raw).where(~already.exists())
            )
        )
        with op.batch_alter_table("charges") as batch:
            batch.drop_column("raw")
    if "sync_seq" not in columns:
        with op.batch_alter_table("charges") as batch:
            batch.add_column(sa.Column("sync_seq", sa.Integer, nullable=False, server_default="0"))
            batch.create_index("ix_charges_sync_seq", ["sync_seq"])


def downgrade() -> None:
    # The JSON is kept in `charge_payloads` by every later revision; there is no layout to go back to.
    raise NotImplementedError("this revision has no downgrade")
