"""Every table of the shop's database, on one MetaData: the order store and the local copy of Stripe.

This module is the schema as the code expects it now (the head of the migrations in `shop/migrations`). Change a
table here and add a migration that brings existing stores to it; `shop.db.get_engine` runs the migrations.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# ---------------------------------------------------------------------------------------------- the order store

orders_table = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("created", sa.Integer, nullable=False, index=True),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("phone", sa.String(40), nullable=False),
    sa.Column("line1", sa.String(200), nullable=False),
    sa.Column("line2", sa.String(200), nullable=False, default=""),
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
    sa.Column("amount_refunded", sa.Integer, nullable=False, default=0),
    sa.Column("shipped_at", sa.Integer, nullable=True),
    sa.Column("cancelled_at", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # The order's one PaymentIntent (PaymentIntents checkout); unique, so two intents can never claim one order.
    sa.Column("payment_intent_id", sa.String(64), nullable=True),
    sa.Index("ix_orders_payment_intent_id", "payment_intent_id", unique=True),
    # "manual" for an order only authorized at checkout (CAPTURE=at_shipment) and captured when it ships;
    # "automatic" (charged at checkout) otherwise. `captured_at`: when its capture succeeded; `released_at`: when
    # its authorization was given back uncaptured (cancelled before shipping, or expired after 7 days).
    sa.Column("capture_method", sa.String(16), nullable=False, default="automatic", server_default="automatic"),
    sa.Column("captured_at", sa.Integer, nullable=True),
    sa.Column("released_at", sa.Integer, nullable=True),
    # What "Mark shipped" was told (both optional): the carrier and its tracking number, shown to the customer.
    sa.Column("carrier", sa.String(60), nullable=True),
    sa.Column("tracking_number", sa.String(60), nullable=True),
)

attempts_table = sa.Table(
    "attempts",
    metadata,
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

refund_requests_table = sa.Table(
    "refund_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(16), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("decided_at", sa.Integer, nullable=True),
    sa.Column("refund_id", sa.String(64), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

# A charge Stripe made for an order that was already paid with another one (a late answer, found by reconciliation
# or by the sync): refunded automatically (reason duplicate) and kept here so staff see it. `refunded_at` is set
# once Stripe confirmed the refund; until then every reconciliation and sync tries the refund again (same key).
second_charges_table = sa.Table(
    "second_charges",
    metadata,
    sa.Column("charge_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(16), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("found_by", sa.String(16), nullable=False),  # late_answer | reconcile | sync | mismatch
    sa.Column("found_at", sa.Integer, nullable=False, index=True),
    sa.Column("refund_id", sa.String(64), nullable=True),
    sa.Column("refunded_at", sa.Integer, nullable=True),
)

# ---------------------------------------------------------------------------------- the local copy of Stripe

charges = sa.Table(
    "charges",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created", sa.Integer, nullable=False, index=True),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("amount_captured", sa.Integer, nullable=False, default=0),
    sa.Column("amount_refunded", sa.Integer, nullable=False, default=0),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("paid", sa.Boolean, nullable=False, default=False),
    sa.Column("captured", sa.Boolean, nullable=False, default=False),
    sa.Column("refunded", sa.Boolean, nullable=False, default=False),
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
    # Stripe's `disputed`: the customer disputed the charge with their bank.
    sa.Column("disputed", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    # The charge's balance transaction (`txn_…`) and, once synced, its fee and net (minor units): null until the
    # sync has seen the transaction (an uncaptured or failed charge has none).
    sa.Column("balance_transaction", sa.String(64)),
    sa.Column("fee", sa.Integer),
    sa.Column("net", sa.Integer),
    # The change (a number from `change_sequence`) that last stored the row: readers holding a copy reload only
    # rows of newer changes.
    sa.Column("sync_seq", sa.Integer, nullable=False, default=0, server_default="0", index=True),
    # `created` of the event whose copy of the charge this row is (for a backfill: of the newest event before it),
    # so that an older copy arriving late never overwrites a newer one.
    sa.Column("event_created", sa.Integer, nullable=False, default=0, server_default="0"),
)

# The charge as Stripe sent it, apart from `charges`: 4 kB of JSON per row inside `charges` made every scan of
# the pages' columns read 100 MB per 25k charges.
charge_payloads = sa.Table(
    "charge_payloads",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("raw", sa.Text, nullable=False),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("charge_id", sa.String(64), nullable=False, index=True),
    sa.Column("created", sa.Integer, nullable=False, index=True),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(32)),
    sa.Column("status", sa.String(16)),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("event_created", sa.Integer, nullable=False, default=0, server_default="0"),  # as in `charges`
    sa.Column("balance_transaction", sa.String(64)),  # the refund's `txn_…` (in `balance_transactions` once synced)
)

# Stripe's balance transactions of charges and refunds (and whatever else the sync meets), as synced: what each
# moved through the balance, the fee Stripe kept and the net (minor units; a refund's amount is negative).
balance_transactions = sa.Table(
    "balance_transactions",
    metadata,
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

# Stripe's disputes (docs.stripe.com/api/disputes/object), kept by the sync and the webhooks: the columns the
# Disputes page reads, and the object as Stripe sent it. `event_created` as in `charges`.
disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("charge_id", sa.String(64), nullable=False, index=True),
    sa.Column("payment_intent_id", sa.String(64), nullable=True),
    sa.Column("created", sa.Integer, nullable=False, index=True),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("due_by", sa.Integer, nullable=True),
    # Withdrawn (negative) and reinstated (positive) amounts and fees of its balance transactions, in minor units.
    sa.Column("net_amount", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("fees", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("event_created", sa.Integer, nullable=False, default=0, server_default="0"),
)

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Counters that only go up, one row each, incremented inside the transaction that writes what they count: an
# UPDATE of the row holds it until commit, so numbers are unique and committed in order. "changes" numbers the
# writes to the local copy (`charges.sync_seq`); a reader that has seen number N has every row up to N.
change_sequence = sa.Table(
    "change_sequence",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Stripe events already applied to the local copy (the event cursor re-reads a little overlap; these are skipped).
applied_events = sa.Table(
    "applied_events",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created", sa.Integer, nullable=False, index=True),
)

# ------------------------------------------------------------------------------ coordination between processes

# A named lease: one holder at a time until `expires_at` (Unix time); the holder renews it while it works.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# ---------------------------------------------------------------------------------------------------- the outbox

# Emails to customers (shop.mail), one row each, written in the same transaction as the order change that causes
# it, so a change rolled back sends nothing and a committed one cannot lose its message. `key` ("SP-…:confirmed")
# is unique: a replayed change (webhook, sync, reconcile) finds its email queued already. A sender claims a row
# (`claimed_by` until `claim_expires`), renders it once into `raw` (so a second delivery carries the same bytes and
# Message-ID), sends it and marks it sent; a temporary refusal sets `next_attempt_at` further out each time, a
# permanent one ends at status "failed" with the server's answer in `last_error` for staff.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(120), nullable=False, unique=True),
    sa.Column("message_id", sa.String(200), nullable=False, unique=True),
    sa.Column("order_id", sa.String(16), nullable=True, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False, default="email", server_default="email"),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("facts", sa.Text, nullable=False, default="{}", server_default="{}"),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("status", sa.String(8), nullable=False, index=True),  # queued | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=False, default=0, server_default="0", index=True),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claim_expires", sa.Float, nullable=True),
    sa.Column("raw", sa.LargeBinary, nullable=True),
    sa.Column("sent_at", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
)

# ------------------------------------------------------------------------------------------------- the audit log

# Who did what to an order or a charge, one row per action (shop.audit): shipping, cancelling, refunding,
# deciding a refund request, capturing, answering a dispute. `actor` is "staff", a signed-in email, "customer" or
# "system"; rows are only ever added.
audit_log_table = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Integer, nullable=False, index=True),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("order_id", sa.String(32), nullable=True, index=True),
    sa.Column("charge_id", sa.String(64), nullable=True, index=True),
    sa.Column("detail", sa.Text, nullable=False, default="", server_default=""),
    sa.Column("refund_id", sa.String(64), nullable=True, index=True),  # the refund the action made, if any
)

# ------------------------------------------------------------------------------------------ staff sign-in sessions

# One row per signed-in staff browser (shop.staff_sessions). The cookie carries the session's id; the row keeps
# only its SHA-256, so a copy of the database gives no working cookie. Signing out deletes the row.
staff_sessions_table = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("expires", sa.Integer, nullable=False, index=True),
)
