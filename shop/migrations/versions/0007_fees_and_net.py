"""Fees and net per charge: Stripe's balance transactions in the local copy.

- `balance_transactions`: the synced `txn_…` objects of charges and refunds (amount, fee, net, type, status).
- `charges.balance_transaction`, `charges.fee`, `charges.net`: null for stored rows until the next sync fills them
  (a backfill brings every charge's transaction).
- `refunds.balance_transaction`: the refund's `txn_…`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "balance_transactions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), index=True),
        sa.Column("created", sa.Integer, nullable=False, index=True),
        sa.Column("available_on", sa.Integer),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("net", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("reporting_category", sa.String(32)),
    )
    with op.batch_alter_table("charges") as batch:
        batch.add_column(sa.Column("balance_transaction", sa.String(64)))
        batch.add_column(sa.Column("fee", sa.Integer))
        batch.add_column(sa.Column("net", sa.Integer))
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("balance_transaction", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("balance_transaction")
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("net")
        batch.drop_column("fee")
        batch.drop_column("balance_transaction")
    op.drop_table("balance_transactions")
