"""The one table of card decline and failure codes: what the customer reads, what staff read, what to do next.

Facts from Stripe's decline codes (https://docs.stripe.com/declines/codes) and error codes
(https://docs.stripe.com/error-codes). Payments show `customer_message`; the Failures page and the notebooks
show `explanation`, `next_step` and `doc_url`. The emulator keeps its own table (Stripe's side of the wire).
"""

from __future__ import annotations

from dataclasses import dataclass

from shop import payment_methods

DECLINES_DOC = "https://docs.stripe.com/declines/codes"
ERRORS_DOC = "https://docs.stripe.com/error-codes"
GENERIC_DECLINE_MESSAGE = "Your card was declined. Please use another card or contact your bank."


@dataclass(frozen=True)
class DeclineCode:
    """One code: the customer's sentence, the staff explanation and next step, and Stripe's page about it."""

    customer_message: str
    explanation: str
    next_step: str
    doc_url: str


DECLINE_CODES: dict[str, DeclineCode] = {
    "insufficient_funds": DeclineCode(
        "Your card has insufficient funds. Try another card.",
        "The card does not have enough funds for the purchase.",
        "Ask the customer to use another card or another payment method.",
        f"{DECLINES_DOC}#insufficient_funds",
    ),
    "generic_decline": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The issuer declined the card without saying why.",
        "Ask the customer to call their bank, or to pay with another card.",
        f"{DECLINES_DOC}#generic_decline",
    ),
    "lost_card": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The card was reported lost.",
        "Do not retry. Tell the customer only that the card was declined (not why).",
        f"{DECLINES_DOC}#lost_card",
    ),
    "stolen_card": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The card was reported stolen.",
        "Do not retry. Tell the customer only that the card was declined (not why).",
        f"{DECLINES_DOC}#stolen_card",
    ),
    "card_velocity_exceeded": DeclineCode(
        "Your card was declined: its spending limit was reached. Try another card.",
        "The customer went over the balance, credit limit or transaction count allowed on the card.",
        "Ask the customer to contact their bank, or to use another card.",
        f"{DECLINES_DOC}#card_velocity_exceeded",
    ),
    "do_not_honor": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The issuer declined the card without saying why.",
        "Ask the customer to call their bank, or to pay with another card.",
        f"{DECLINES_DOC}#do_not_honor",
    ),
    "fraudulent": DeclineCode(
        # Never tell a suspected fraudster why (docs.stripe.com/declines/codes#fraudulent).
        GENERIC_DECLINE_MESSAGE,
        "Stripe suspects fraud (Radar blocked the payment or the issuer flagged it).",
        "Do not retry. Review the payment in Radar; tell the customer only that the card was declined.",
        f"{DECLINES_DOC}#fraudulent",
    ),
    "expired_card": DeclineCode(
        "Your card has expired. Check the expiry date or use another card.",
        "The card has expired.",
        "Ask the customer to use another card.",
        f"{DECLINES_DOC}#expired_card",
    ),
    "incorrect_cvc": DeclineCode(
        "Your card's security code (CVC) is incorrect. Check it and try again.",
        "The security code (CVC) does not match the card.",
        "Ask the customer to try again with the correct CVC.",
        f"{DECLINES_DOC}#incorrect_cvc",
    ),
    "incorrect_number": DeclineCode(
        "Your card number is incorrect. Check it or use another card.",
        "The card number is incorrect.",
        "Ask the customer to check the number and try again.",
        f"{DECLINES_DOC}#incorrect_number",
    ),
    "processing_error": DeclineCode(
        "An error occurred while processing your card. Please try again in a moment.",
        "An error occurred while the card was processed.",
        "Let the customer try again; if it keeps failing, try later or use another card.",
        f"{DECLINES_DOC}#processing_error",
    ),
    "highest_risk_level": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "Radar blocked the payment: Stripe rated its fraud risk highest.",
        "Do not retry. Review the payment in Radar; tell the customer only that the card was declined.",
        "https://docs.stripe.com/radar/risk-evaluation",
    ),
    "elevated_risk_level": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "Radar rated the payment's fraud risk elevated and a rule blocked it.",
        "Review the payment in Radar before asking the customer to try again.",
        "https://docs.stripe.com/radar/risk-evaluation",
    ),
    "card_declined": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The card was declined (no finer reason given).",
        "Ask the customer to contact their bank, or to use another card.",
        f"{ERRORS_DOC}#card-declined",
    ),
    "card_not_supported": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The card does not support this kind of purchase.",
        "Ask the customer to contact their bank, or to use another card.",
        f"{DECLINES_DOC}#card_not_supported",
    ),
    "invalid_cvc": DeclineCode(
        "Your card's security code is invalid. Check it and try again.",
        "The security code (CVC) is not a valid one for the card (wrong length or not digits).",
        "Ask the customer to check the CVC and try again.",
        f"{ERRORS_DOC}#invalid-cvc",
    ),
    "invalid_expiry_month": DeclineCode(
        "Your card's expiration month is invalid. Check it and try again.",
        "The expiry month is not a valid month.",
        "Ask the customer to check the expiry date and try again.",
        f"{ERRORS_DOC}#invalid-expiry-month",
    ),
    "invalid_expiry_year": DeclineCode(
        "Your card's expiration year is invalid. Check it and try again.",
        "The expiry year is not a valid year.",
        "Ask the customer to check the expiry date and try again.",
        f"{ERRORS_DOC}#invalid-expiry-year",
    ),
}
# Codes of the PaymentIntent flow (docs.stripe.com/error-codes, docs.stripe.com/declines/codes).
DECLINE_CODES |= {
    "authentication_required": DeclineCode(
        "Your bank needs you to confirm this payment. Pay again and complete the check your bank shows, "
        "or use another card.",
        "The card needs 3-D Secure authentication and the payment was attempted without it.",
        "Let the customer pay again on the page, which shows their bank's check.",
        f"{DECLINES_DOC}#authentication_required",
    ),
    "payment_intent_authentication_failure": DeclineCode(
        "Your bank could not confirm this payment, so your card was not charged. Try again and complete the "
        "check, or use another card.",
        "The customer failed or closed their bank's 3-D Secure check.",
        "Nothing to do unless it repeats: the customer can try again or use another card.",
        f"{ERRORS_DOC}#payment-intent-authentication-failure",
    ),
    "merchant_blacklist": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The card or customer is on this account's Radar block list.",
        "Do not retry; tell the customer only that the card was declined.",
        f"{DECLINES_DOC}#merchant_blacklist",
    ),
    "payment_intent_payment_attempt_failed": DeclineCode(
        GENERIC_DECLINE_MESSAGE,
        "The latest payment attempt of the PaymentIntent failed.",
        "Look at the failed charge for its decline code.",
        f"{ERRORS_DOC}#payment-intent-payment-attempt-failed",
    ),
    "payment_method_unactivated": DeclineCode(
        "This card cannot be used for online payments. Please use another card.",
        "The payment method is not activated for this kind of payment.",
        "Ask the customer to use another card.",
        f"{ERRORS_DOC}#payment-method-unactivated",
    ),
}
UNKNOWN_CODE = DeclineCode(
    GENERIC_DECLINE_MESSAGE,
    "Stripe gave no code this shop knows.",
    "Look the charge up in the Stripe Dashboard.",
    DECLINES_DOC,
)


def decline_code(code: str | None) -> DeclineCode:
    """The table's entry for a decline or failure code (UNKNOWN_CODE for one it does not list)."""
    return DECLINE_CODES.get(code or "", UNKNOWN_CODE)


def customer_message(code: str | None, decline: str | None) -> str:
    """The customer's sentence for a card error: its decline code's when listed, else its error code's."""
    for candidate in (decline, code):
        if candidate in DECLINE_CODES:
            return DECLINE_CODES[candidate].customer_message
    return GENERIC_DECLINE_MESSAGE


# A bank debit fails days after the customer paid, when the bank returns it; Stripe's test accounts fail with these
# two codes (docs.stripe.com/payments/ach-direct-debit/accept-a-payment, "Test your integration"). The same code
# means something else for a card, so the Failures page keeps a bank debit's failures apart, marked BANK_DEBIT_MARK.
ACH_DOC = "https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment"
BANK_DEBIT_MARK = " (bank debit)"
BANK_DEBIT_CODES: dict[str, DeclineCode] = {
    "insufficient_funds": DeclineCode(
        "Your bank returned the payment: the account did not have enough money. Pay by card or another account.",
        "The bank returned the debit: the account did not have enough money when it was debited.",
        "The order stays unpaid and does not ship. Ask the customer to pay by card, or from another account.",
        ACH_DOC,
    ),
    "account_closed": DeclineCode(
        "Your bank returned the payment: the account is closed. Pay by card or another account.",
        "The bank returned the debit: the account is closed.",
        "Do not debit this account again. Ask the customer to pay by card, or from an open account.",
        ACH_DOC,
    ),
}
UNKNOWN_BANK_DEBIT_CODE = DeclineCode(
    "Your bank returned the payment. Pay by card or another account.",
    "The bank returned the debit with a code this shop does not know.",
    "Look the charge up in the Stripe Dashboard, and ask the customer to pay another way.",
    ACH_DOC,
)


def advice_for(label: str | None) -> DeclineCode:
    """The entry for a code as the Failures page groups them: a card's (or a payment's) code, or a bank debit's
    marked with BANK_DEBIT_MARK ("insufficient_funds (bank debit)")."""
    label = label or ""
    if label.endswith(BANK_DEBIT_MARK):
        return BANK_DEBIT_CODES.get(label.removesuffix(BANK_DEBIT_MARK), UNKNOWN_BANK_DEBIT_CODE)
    return decline_code(label)


def payment_failed_message(code: str | None, decline: str | None, method: str | None) -> str:
    """The customer's sentence for a failed payment by its method (Stripe's `payment_method.type`): a bank's
    returned debit, a redirect method the customer did not approve (Klarna), else a card's decline."""
    if payment_methods.is_bank_debit(method):
        return advice_for(f"{code}{BANK_DEBIT_MARK}").customer_message
    if method in payment_methods.METHOD_NAMES:
        name = payment_methods.METHOD_NAMES[method]
        return f"Your payment with {name} was not completed. Nothing was charged: try again, or pay another way."
    return customer_message(code, decline)
