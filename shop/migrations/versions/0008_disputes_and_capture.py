"""Disputes copied from Stripe (`disputes`), and orders captured at shipment (`orders.capture_method` and times).

- `disputes`: one row per Stripe dispute, kept by the sync and the webhooks; the Disputes page reads it.
- `orders.capture_method`: "automatic" for every existing order (they were charged at checkout);
  `captured_at` and `released_at` stay empty for them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("capture_method", sa.String(16), nullable=False, server_default="automatic"))
        batch.add_column(sa.Column("captured_at", sa.Integer, nullable=True))
        batch.add_column(sa.Column("released_at", sa.Integer, nullable=True))
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("charge_id", sa.String(64), nullable=False, index=True),
        sa.Column("payment_intent_id", sa.String(64), nullable=True),
        sa.Column("created", sa.Integer, nullable=False, index=True),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("due_by", sa.Integer, nullable=True),
        sa.Column("net_amount", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fees", sa.Integer, nullable=False, server_default="0"),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("event_created", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("disputes")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("released_at")
        batch.drop_column("captured_at")
        batch.drop_column("capture_method")
