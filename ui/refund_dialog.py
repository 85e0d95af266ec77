"""The Refunds page's confirmation: say what will be refunded, to whom, why; refund once on the confirm button."""

from __future__ import annotations

import streamlit as st

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
FORM_KEYS = ("refund_how", "refund_amount", "refund_reason")  # the refund form's widgets
RESET_KEY = "refund_form_reset"  # set by a refund made: the next run draws the form empty


def reset_form_if_refunded() -> None:
    """Empty the refund form after a refund was made, so a second click cannot send the same refund again.

    Called before the form is drawn: a widget's value can only be changed before the widget exists in a run.
    """
    if st.session_state.pop(RESET_KEY, False):
        for key in FORM_KEYS:
            st.session_state.pop(key, None)


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
        st.session_state[RESET_KEY] = True
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
