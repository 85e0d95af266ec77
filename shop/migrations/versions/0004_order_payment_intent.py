"""The order's PaymentIntent: `payment_intent_id` on `orders`, unique (one intent per order, one order per intent).

A nullable column and a unique index rather than a UNIQUE column, which SQLite cannot add to an existing table.
Orders paid through the Charges flow keep it empty.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("payment_intent_id", sa.String(64), nullable=True))
    op.create_index("ix_orders_payment_intent_id", "orders", ["payment_intent_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_orders_payment_intent_id", table_name="orders")
    op.drop_column("orders", "payment_intent_id")
