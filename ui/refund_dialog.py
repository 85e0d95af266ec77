"""The Refunds page's confirmation: say what will be refunded, to whom, why; refund once on the confirm button."""

from __future__ import annotations

from shop import payments
from shop.money import format_amount
from ui import dialogs, gate
from ui.data import data_changed
from ui.messages import flash_outcome, inert

REASONS = {
    "requested_by_customer": "Requested by customer",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
}
PENDING_KEY = "refund_pending"  # the refund waiting for confirmation: charge, amount, reason, idempotency key
MESSAGE_KEY = "refund_message"


def _refund(pending: dict) -> None:
    amount = format_amount(pending["amount"], pending["currency"])

    def refund() -> object:
        return payments.refund_charge(
            pending["charge_id"],
            amount=pending["amount"],
            reason=pending["reason"],
            idempotency_key=pending["idempotency_key"],
            actor=gate.actor(),
        )

    def done(made) -> str:
        return f"Refunded {amount} of {pending['charge_id']} (refund {made.id})."

    if flash_outcome(MESSAGE_KEY, refund, done, errors=(payments.RefundError,)):
        data_changed()


def confirm_refund(pending: dict) -> None:
    """The dialog that asks to confirm `pending` (charge_id, amount, currency, reason, customer, card, key)."""
    amount = format_amount(pending["amount"], pending["currency"])
    dialogs.confirm(
        "Confirm the refund",
        key=PENDING_KEY,
        body=(
            f"Refund <strong>{amount}</strong> of charge <code>{pending['charge_id']}</code> "
            f"({inert(pending['customer'])}) to {inert(pending['card'] or 'the card')}, reason "
            f"<strong>{REASONS[pending['reason']].lower()}</strong>?"
        ),
        caption="The money goes back to the customer's card; this cannot be undone.",
        yes_label=f"Refund {amount}",
        no_label="Keep the money",
        on_yes=lambda: _refund(pending),
    )
