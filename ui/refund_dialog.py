"""Refunding a charge, on the Refunds page and the charge page: the form (all or part, a reason), then a confirmation
that says what will be refunded, to whom, why; refund once on the confirm button."""

from __future__ import annotations

import uuid

import streamlit as st

from shop import fulfilment
from shop.money import format_amount, to_minor_units
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
        return fulfilment.refund_charge(
            pending["charge_id"],
            amount=pending["amount"],
            reason=pending["reason"],
            idempotency_key=pending["idempotency_key"],
            actor=gate.actor(),
        )

    def done(made) -> str:
        return f"Refunded {amount} of {pending['charge_id']} (refund {made.id})."

    if flash_outcome(MESSAGE_KEY, refund, done, errors=(fulfilment.RefundError,)):
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
        caption="The money goes back to the card or bank account the customer paid with; this cannot be undone.",
        yes_label=f"Refund {amount}",
        no_label="Keep the money",
        on_yes=lambda: _refund(pending),
    )


def refund_form(amounts: fulfilment.ChargeAmounts, *, customer: str, card: str | None) -> None:
    """The refund form of one charge: everything left or a part, and a reason; a valid request is put up for
    confirmation (`confirm_refund`, drawn by the page while PENDING_KEY is set), a mistake is said under the form."""
    currency = amounts.currency
    remaining = fulfilment.refundable_amount(amounts)
    reset_form_if_refunded()
    with st.form("refund_form", border=True):
        how = st.radio("Refund", ["Everything left", "Part of it"], horizontal=True, key="refund_how")
        amount_text = st.text_input(
            "Amount ($) — for a partial refund",
            placeholder=f"at most {format_amount(remaining, currency)}",
            key="refund_amount",
        )
        reason = st.selectbox("Reason", list(REASONS), format_func=REASONS.get, key="refund_reason")
        asked = st.form_submit_button("Refund…", type="primary")
    if asked and how == "Everything left" and amount_text.strip():
        st.error(
            "You typed an amount but chose “Everything left”: choose “Part of it” to refund that amount, or clear "
            "the amount to refund everything left."
        )
    elif asked:
        try:
            amount = None if how == "Everything left" else to_minor_units(amount_text, currency)
            amount = fulfilment.check_refund(amounts, amount, reason)
        except ValueError as exc:
            st.error(f"{exc} Enter the amount in dollars, like 5 or 5.00.")
        except fulfilment.RefundError as exc:
            st.error(exc.message)
        else:
            st.session_state[PENDING_KEY] = {
                "charge_id": amounts.id,
                "amount": amount,
                "currency": currency,
                "reason": reason,
                "customer": customer,
                "card": card,
                # One key per confirmed intent: a double click or a retry after a timeout refunds once.
                "idempotency_key": f"ops-refund-{uuid.uuid4()}",
            }
