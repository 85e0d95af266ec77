"""Who made each refund, by the refund's id: `audit_log.refund_id`.

The charge page named the person behind a refund by finding the refund's id in an entry's free-text detail, which
missed refunds made by approving a request or cancelling an order. Existing entries keep an empty refund_id.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("refund_id", sa.String(64), nullable=True))
        batch.create_index("ix_audit_log_refund_id", ["refund_id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_refund_id")
        batch.drop_column("refund_id")
