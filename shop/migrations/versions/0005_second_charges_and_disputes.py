"""Second charges refunded automatically (`second_charges`), and Stripe's `disputed` flag on the copy of charges.

- `second_charges`: a charge Stripe made for an order already paid with another charge, with the refund that
  gave it back; the Orders page lists them.
- `charges.disputed`: false for every stored row until the next sync copies Stripe's value.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "second_charges",
        sa.Column("charge_id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(16), sa.ForeignKey("orders.id"), nullable=False, index=True),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("found_by", sa.String(16), nullable=False),
        sa.Column("found_at", sa.Integer, nullable=False, index=True),
        sa.Column("refund_id", sa.String(64), nullable=True),
        sa.Column("refunded_at", sa.Integer, nullable=True),
    )
    with op.batch_alter_table("charges") as batch:
        batch.add_column(sa.Column("disputed", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("disputed")
    op.drop_table("second_charges")
