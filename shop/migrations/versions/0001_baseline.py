"""The schema as it was before migrations: orders, attempts, refund requests and the local copy of Stripe.

A store made before migrations existed has no alembic_version table. When it has every one of these tables,
`shop.db.migrate` stamps it with this revision instead of running it; when it has only some (it was made by code
older than the copy of Stripe or than `charge_payloads`), this revision creates the ones it lacks and leaves the
others, rows and all, to the next revisions.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("orders"):
        op.create_table(
            "orders",
            sa.Column("id", sa.String(16), primary_key=True),
            sa.Column("created", sa.Integer, nullable=False, index=True),
            sa.Column("updated", sa.Integer, nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("email", sa.String(320), nullable=False, index=True),
            sa.Column("phone", sa.String(40), nullable=False),
            sa.Column("line1", sa.String(200), nullable=False),
            sa.Column("line2", sa.String(200), nullable=False),
            sa.Column("city", sa.String(100), nullable=False),
            sa.Column("state", sa.String(100), nullable=False),
            sa.Column("postal_code", sa.String(20), nullable=False),
            sa.Column("country", sa.String(2), nullable=False),
            sa.Column("book_id", sa.String(64), nullable=False),
            sa.Column("quantity", sa.Integer, nullable=False),
            sa.Column("unit_amount", sa.Integer, nullable=False),
            sa.Column("amount", sa.Integer, nullable=False),
            sa.Column("currency", sa.String(3), nullable=False),
            sa.Column("status", sa.String(20), nullable=False, index=True),
            sa.Column("charge_id", sa.String(64), nullable=True, index=True),
            sa.Column("paid_at", sa.Integer, nullable=True),
            sa.Column("amount_refunded", sa.Integer, nullable=False),
            sa.Column("shipped_at", sa.Integer, nullable=True),
            sa.Column("cancelled_at", sa.Integer, nullable=True),
            sa.Column("last_error", sa.Text, nullable=True),
        )
    if _missing("attempts"):
        op.create_table(
            "attempts",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_id", sa.String(16), sa.ForeignKey("orders.id"), nullable=False, index=True),
            sa.Column("created", sa.Integer, nullable=False),
            sa.Column("updated", sa.Integer, nullable=False),
            sa.Column("nonce", sa.String(64), nullable=False),
            sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
            sa.Column("outcome", sa.String(12), nullable=False, index=True),
            sa.Column("code", sa.String(64), nullable=True),
            sa.Column("decline_code", sa.String(64), nullable=True),
            sa.Column("message", sa.Text, nullable=True),
            sa.Column("charge_id", sa.String(64), nullable=True),
            sa.Column("card_brand", sa.String(20), nullable=True),
            sa.Column("card_last4", sa.String(4), nullable=True),
            sa.UniqueConstraint("order_id", "nonce", name="uq_attempt_nonce"),
        )
    if _missing("refund_requests"):
        op.create_table(
            "refund_requests",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_id", sa.String(16), sa.ForeignKey("orders.id"), nullable=False, index=True),
            sa.Column("created", sa.Integer, nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("status", sa.String(10), nullable=False, index=True),
            sa.Column("decided_at", sa.Integer, nullable=True),
            sa.Column("refund_id", sa.String(64), nullable=True),
            sa.Column("note", sa.Text, nullable=True),
        )
    if _missing("charges"):
        op.create_table(
            "charges",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("created", sa.Integer, nullable=False, index=True),
            sa.Column("amount", sa.Integer, nullable=False),
            sa.Column("amount_captured", sa.Integer, nullable=False),
            sa.Column("amount_refunded", sa.Integer, nullable=False),
            sa.Column("currency", sa.String(8), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("paid", sa.Boolean, nullable=False),
            sa.Column("captured", sa.Boolean, nullable=False),
            sa.Column("refunded", sa.Boolean, nullable=False),
            sa.Column("failure_code", sa.String(64)),
            sa.Column("failure_message", sa.Text),
            sa.Column("decline_code", sa.String(64)),
            sa.Column("outcome_type", sa.String(32)),
            sa.Column("risk_level", sa.String(16)),
            sa.Column("card_brand", sa.String(32)),
            sa.Column("card_last4", sa.String(4)),
            sa.Column("receipt_email", sa.String(320), index=True),
            sa.Column("customer_name", sa.String(200)),
            sa.Column("description", sa.Text),
            sa.Column("order_id", sa.String(32), index=True),
            sa.Column("book_id", sa.String(64)),
            sa.Column("quantity", sa.Integer),
            sa.Column("sync_seq", sa.Integer, nullable=False, server_default="0", index=True),
        )
    if _missing("charge_payloads"):
        op.create_table(
            "charge_payloads",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("raw", sa.Text, nullable=False),
        )
    if _missing("refunds"):
        op.create_table(
            "refunds",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("charge_id", sa.String(64), nullable=False, index=True),
            sa.Column("created", sa.Integer, nullable=False, index=True),
            sa.Column("amount", sa.Integer, nullable=False),
            sa.Column("currency", sa.String(8), nullable=False),
            sa.Column("reason", sa.String(32)),
            sa.Column("status", sa.String(16)),
            sa.Column("raw", sa.Text, nullable=False),
        )
    if _missing("sync_state"):
        op.create_table(
            "sync_state",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )


def downgrade() -> None:
    # Going below the first revision would drop every table, and no store is ever dropped.
    raise NotImplementedError("the first revision has no downgrade")
