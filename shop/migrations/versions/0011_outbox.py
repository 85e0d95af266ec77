"""The email outbox (`outbox`), and what "Mark shipped" was told (`orders.carrier`, `orders.tracking_number`).

- `outbox`: one row per email to a customer, written with the order change that causes it (shop.mail).
- `orders.carrier`, `orders.tracking_number`: empty for every existing order.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("carrier", sa.String(60), nullable=True))
        batch.add_column(sa.Column("tracking_number", sa.String(60), nullable=True))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("message_id", sa.String(200), nullable=False, unique=True),
        sa.Column("order_id", sa.String(16), nullable=True, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False, server_default="email"),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("facts", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=False, server_default="0", index=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claim_expires", sa.Float, nullable=True),
        sa.Column("raw", sa.LargeBinary, nullable=True),
        sa.Column("sent_at", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("outbox")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_number")
        batch.drop_column("carrier")
