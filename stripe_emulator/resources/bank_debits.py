"""US bank account debits (ACH Direct Debit) of a PaymentIntent: they settle later, on the emulator's clock.

docs.stripe.com/payments/ach-direct-debit: ACH Direct Debit is a "delayed notification" payment method — the
confirmed PaymentIntent goes `processing` (its charge `pending`) and succeeds or fails days later
(`payment_intent.succeeded` / `payment_intent.payment_failed`, `charge.succeeded` / `charge.failed`). Here it
settles `STRIPE_EMULATOR_BANK_DEBIT_SECONDS` (5 by default) after the confirm on the emulator's clock: every
request settles what is due first, and the app's ticker does so once a second when no request comes, so a
webhook follows with no click. Tests move the clock (`/_emulator/clock`) instead of waiting.

Test bank accounts (docs.stripe.com/payments/ach-direct-debit/accept-a-payment, "Test your integration"): routing
number 110000000 with account 000123456789 succeeds, 000222222227 fails with `insufficient_funds`, 000111111113
with `account_closed`, 000111111116 with `no_account`; any other valid account succeeds. The customer's account is
taken as verified at once, as instant verification (Financial Connections) does; micro-deposits are not
emulated, nor is a Mandate object (the charge names a mandate id).

The fee is Stripe's US ACH Direct Debit price (balance_transactions.ach_fee); the balance transaction is made when
the debit succeeds.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from stripe_emulator import params as p
from stripe_emulator import store
from stripe_emulator.cards import APPROVED
from stripe_emulator.core import Context, new_id
from stripe_emulator.errors import invalid
from stripe_emulator.resources import balance_transactions
from stripe_emulator.resources import payment_methods as pms
from stripe_emulator.resources.charges import charge_object

TABLE = "bank_debits"  # what only the emulator knows of a debit, by its charge's id: how it ends
store.TABLES.setdefault(TABLE, ())
SETTLES_AT = "bank_debit_settles_at"

DELAY_ENV = "STRIPE_EMULATOR_BANK_DEBIT_SECONDS"
DEFAULT_DELAY_S = 5
TEST_ROUTING_NUMBER = "110000000"
TEST_BANK_NAME = "STRIPE TEST BANK"
# account number -> (failure code, charge failure message); absent: the debit succeeds.
TEST_FAILURES = {
    "000222222227": ("insufficient_funds", "The customer's account has insufficient funds to cover this payment."),
    "000111111113": ("account_closed", "The customer's bank account has been closed."),
    "000111111116": ("no_account", "The customer's bank account could not be located."),
}

BANK_DETAILS = {
    "routing_number": (p.string(9), False),
    "account_number": (p.string(17), False),
    "account_holder_type": (p.enum("individual", "company"), False),
    "account_type": (p.enum("checking", "savings"), False),
    "financial_connections_account": (p.string(), False),
}


def delay_seconds() -> int:
    """How long a debit stays processing: STRIPE_EMULATOR_BANK_DEBIT_SECONDS, else 5 seconds."""
    raw = os.environ.get(DELAY_ENV, "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_DELAY_S


def settles_at(charge: dict[str, Any]) -> int | None:
    """When a pending debit's charge settles (an indexed column of the charges table); None for other charges."""
    pending = charge.get("status") == "pending"
    if not pending or (charge.get("payment_method_details") or {}).get("type") != "us_bank_account":
        return None
    return int(charge["created"]) + delay_seconds()


store.DERIVED.setdefault("charges", {})[SETTLES_AT] = settles_at


def _routing_valid(number: str) -> bool:
    """An ABA routing number: nine digits whose weighted sum (3, 7, 1, …) is a multiple of ten."""
    if len(number) != 9 or not number.isdigit():
        return False
    return sum(int(digit) * (3, 7, 1)[i % 3] for i, digit in enumerate(number)) % 10 == 0


def payment_method_object(ctx: Context, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(A `us_bank_account` PaymentMethod for `payment_method_data`, its account number), checked as Stripe does."""
    details = data.get("us_bank_account") or {}
    param = "payment_method_data[us_bank_account]"
    routing, account = details.get("routing_number") or "", details.get("account_number") or ""
    if not routing or not account:
        name = "routing_number" if not routing else "account_number"
        raise invalid(f"Missing required param: {param}[{name}].", param=f"{param}[{name}]", code="parameter_missing")
    if not _routing_valid(routing):
        raise invalid(
            "Routing number must have 9 digits and be a valid ABA routing number.", f"{param}[routing_number]"
        )
    if not account.isdigit() or not 4 <= len(account) <= 17:
        raise invalid("Account number must have 4 to 17 digits.", param=f"{param}[account_number]")
    billing = data.get("billing_details") or {}
    if not billing.get("name"):
        # docs.stripe.com/payments/ach-direct-debit/accept-a-payment: the account holder's name is required.
        raise invalid(
            "Missing required param: payment_method_data[billing_details][name].",
            param="payment_method_data[billing_details][name]",
            code="parameter_missing",
        )
    fingerprint = hashlib.sha256(f"{routing}:{account}".encode()).hexdigest()[:16]
    return {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": data.get("allow_redisplay") or "unspecified",
        "billing_details": pms.billing_details_object(billing),
        "created": ctx.now,
        "customer": None,
        "livemode": False,
        "metadata": data.get("metadata") or {},
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": details.get("account_holder_type") or "individual",
            "account_type": details.get("account_type") or "checking",
            "bank_name": TEST_BANK_NAME if routing == TEST_ROUTING_NUMBER else None,
            "financial_connections_account": details.get("financial_connections_account"),
            "fingerprint": fingerprint,
            "last4": account[-4:],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": routing,
            "status_details": {},
        },
    }, account


def _charge(ctx: Context, intent: dict[str, Any], method: dict[str, Any]) -> dict[str, Any]:
    """The pending charge of a debit: Stripe's one charge shape, with the bank account's payment details."""
    terms = {key: intent[key] for key in ("amount", "currency", "customer", "description", "metadata")}
    terms.update({key: intent[key] for key in ("receipt_email", "shipping", "statement_descriptor")})
    terms.update(statement_descriptor_suffix=intent["statement_descriptor_suffix"], capture=True)
    terms["transfer_group"] = intent["transfer_group"]
    # The charge builder reads a card's facts; a bank account has none, and its details replace the card's below.
    holder = {"id": method["id"], "last4": method["us_bank_account"]["last4"], "country": "US"}
    holder.update(dict.fromkeys(("exp_month", "exp_year", "fingerprint", "funding")))
    charge = charge_object(
        ctx,
        terms,
        holder,
        {"number": "", "cvc_given": False},
        APPROVED,
        payment_intent=intent["id"],
        payment_method=method["id"],
        billing_details=method["billing_details"],
    )
    bank = method["us_bank_account"]
    charge.update(
        status="pending",
        paid=False,
        payment_method_details={
            "type": "us_bank_account",
            "us_bank_account": {
                "account_holder_type": bank["account_holder_type"],
                "account_type": bank["account_type"],
                "bank_name": bank["bank_name"],
                "fingerprint": bank["fingerprint"],
                "last4": bank["last4"],
                "mandate": new_id("mandate_"),
                "payment_reference": None,
                "routing_number": bank["routing_number"],
            },
        },
    )
    charge["outcome"].update(
        network_status="approved_by_network", seller_message="Payment complete.", risk_level="not_assessed"
    )
    charge["outcome"]["risk_score"] = None
    return charge


def confirm(ctx: Context, intent: dict[str, Any], data: dict[str, Any]) -> None:
    """Confirm `intent` with a new bank account: it goes `processing`, its charge `pending`, until it settles."""
    method, account = payment_method_object(ctx, data)
    pms.save(ctx, method, {"number": "", "cvc_given": False})
    charge = _charge(ctx, intent, method)
    ctx.store.insert("charges", charge)
    ctx.emit("charge.pending", charge)
    failure = TEST_FAILURES.get(account) if method["us_bank_account"]["routing_number"] == TEST_ROUTING_NUMBER else None
    ctx.store.insert(TABLE, {"id": charge["id"], "created": ctx.now, "failure": list(failure) if failure else None})
    intent.update(
        status="processing",
        payment_method=method["id"],
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
    )
    ctx.store.update("payment_intents", intent)
    ctx.emit("payment_intent.processing", intent)


def _settle(ctx: Context, charge: dict[str, Any]) -> None:
    row = ctx.store.get(TABLE, charge["id"]) or {"failure": None}
    intent = ctx.store.get("payment_intents", charge["payment_intent"])
    method = ctx.store.get("payment_methods", charge["payment_method"])
    if row["failure"]:
        code, message = row["failure"]
        charge.update(status="failed", failure_code=code, failure_message=message, captured=False)
        charge.update(amount_captured=0)
        charge["outcome"].update(
            network_status="declined_by_network", reason=code, seller_message=message, type="issuer_declined"
        )
        ctx.store.update("charges", charge)
        ctx.emit("charge.failed", charge)
        # The error's type for a failed debit is not documented; it is shaped as a decline's.
        intent.update(status="requires_payment_method", payment_method=None)
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": code,
            "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
            "message": message,
            "charge": charge["id"],
            "payment_method": method,
        }
        ctx.store.update("payment_intents", intent)
        ctx.emit("payment_intent.payment_failed", intent)
        return
    charge.update(status="succeeded", paid=True)
    charge["balance_transaction"] = balance_transactions.for_charge(ctx, charge)
    ctx.store.update("charges", charge)
    ctx.emit("charge.succeeded", charge)
    intent.update(status="succeeded", amount_received=charge["amount"], amount_capturable=0)
    ctx.store.update("payment_intents", intent)
    ctx.emit("payment_intent.succeeded", intent)


def settle_due(ctx: Context) -> int:
    """Settle every debit due by the request's time (one index lookup when none is); returns how many."""
    settled = 0
    # The bank's answer is no request's doing: its events name none, as Stripe's automatic events do.
    request = ctx.request_id, ctx.idempotency_key
    ctx.request_id, ctx.idempotency_key = None, None  # type: ignore[assignment]
    try:
        while due := ctx.store.select("charges", [(f"{SETTLES_AT} <= ?", [ctx.now])], limit=100, order_by=SETTLES_AT):
            for charge in due:
                _settle(ctx, charge)
            settled += len(due)
    finally:
        ctx.request_id, ctx.idempotency_key = request
    return settled


def any_due(ctx: Context) -> bool:
    """Whether a debit is due: the ticker's cheap check before it opens a transaction."""
    return bool(ctx.store.select("charges", [(f"{SETTLES_AT} <= ?", [ctx.now])], limit=1, order_by=SETTLES_AT))
