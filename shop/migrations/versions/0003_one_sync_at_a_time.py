"""One sync at a time and a change sequence that never loses rows: leases, change numbers, applied events.

- `leases`: the sync lease (one holder across processes).
- `change_sequence`: the "changes" counter, starting from the store's data version (kept in `sync_state` until
  now, where it was read and bumped outside the writing transactions).
- `applied_events`: ids of the Stripe events applied, so the event cursor can re-read an overlap.
- `event_created` on `charges` and `refunds`: how new the stored copy of the object is (0: from before).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    sequence = op.create_table(
        "change_sequence",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "applied_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created", sa.Integer, nullable=False, index=True),
    )
    for table in ("charges", "refunds"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("event_created", sa.Integer, nullable=False, server_default="0"))

    state = sa.table("sync_state", sa.column("key", sa.String), sa.column("value", sa.Text))
    bind = op.get_bind()
    version = bind.execute(sa.select(state.c.value).where(state.c.key == "data_version")).scalar()
    # The counter goes on from the data version (readers hold copies tagged with it), never back.
    op.bulk_insert(sequence, [{"name": "changes", "value": int(version or 0)}])
    op.execute(state.delete().where(state.c.key == "data_version"))


def downgrade() -> None:
    raise NotImplementedError("no downgrade: the sync of the revision before could lose rows of the copy")
