"""PaymentIntent confirms that pay with something other than a card: a US bank account (bank_debits.py) or Klarna.

Klarna is the redirect method the Payment Element offers here because Stripe offers it to US businesses in USD
(docs.stripe.com/payments/klarna lists the US among its business and customer locations and USD among its
presentment currencies), where iDEAL takes only EUR and Cash App Pay confirms through a QR code or app handoff
rather than a plain redirect. A Klarna confirm needs a `return_url`; the intent goes `requires_action` with a
`redirect_to_url` next action (docs.stripe.com/payments/klarna/accept-a-payment), here to the emulator's test page
(`/v3/redirect-authorize.html`), whose Authorize or Fail decides the payment
(`POST /_emulator/redirect/{intent}/authorize`); the customer then returns to `return_url` with
`payment_intent`, `payment_intent_client_secret` and `redirect_status` appended, as Stripe sends them back.
A failed authorization leaves the intent `requires_payment_method` with `payment_intent_payment_attempt_failed`
(docs.stripe.com/error-codes#payment-intent-payment-attempt-failed).
"""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

from stripe_emulator import params as p
from stripe_emulator.cards import APPROVED
from stripe_emulator.core import Context, get_object, new_id
from stripe_emulator.errors import StripeError, invalid
from stripe_emulator.resources import bank_debits
from stripe_emulator.resources import payment_methods as pms
from stripe_emulator.resources.charges import charge_object, record_charge

REDIRECT_PAGE = "/v3/redirect-authorize.html"
# docs.stripe.com/payments/klarna, "Presentment currency".
KLARNA_CURRENCIES = ("aud", "cad", "chf", "czk", "dkk", "eur", "gbp", "nok", "nzd", "pln", "ron", "sek", "usd")
PRIVATE = {"number": "", "cvc_given": False}  # no card behind these PaymentMethods


def confirm(ctx: Context, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Confirm `intent` in place with `payment_method_data` of a type other than card."""
    data = params["payment_method_data"]
    kind = data["type"]
    if kind not in intent["payment_method_types"]:
        allowed = ", ".join(intent["payment_method_types"])
        raise invalid(
            f"The PaymentMethod provided ({kind}) is not allowed for this PaymentIntent. Please attach a "
            f"PaymentMethod of one of the following types: {allowed}. Alternatively, update the allowed "
            f'payment_method_types for this PaymentIntent to include "{kind}".',
            param="payment_method_data[type]",
            code="payment_intent_invalid_parameter",
        )
    if kind == "us_bank_account":
        if intent["currency"] != "usd":
            raise invalid("us_bank_account PaymentMethods take payments in usd only.", "payment_method_data[type]")
        bank_debits.confirm(ctx, intent, data)
    else:
        _confirm_klarna(ctx, intent, data, params.get("return_url"))


def settles_later(ctx: Context, intent: dict[str, Any]) -> bool:
    """Whether `intent` is a bank debit still processing (its outcome is the bank's, not the merchant's)."""
    charge = ctx.store.get("charges", intent["latest_charge"]) if intent.get("latest_charge") else None
    return intent["status"] == "processing" and charge is not None and charge["status"] == "pending"


def _confirm_klarna(ctx: Context, intent: dict[str, Any], data: dict[str, Any], return_url: str | None) -> None:
    if intent["currency"] not in KLARNA_CURRENCIES:
        raise invalid(
            f"klarna PaymentMethods do not take payments in {intent['currency']}.", "payment_method_data[type]"
        )
    if not return_url:
        raise invalid(
            "A return_url is required to confirm a PaymentIntent with a klarna PaymentMethod.",
            param="return_url",
            code="parameter_missing",
        )
    method = {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": data.get("allow_redisplay") or "unspecified",
        "billing_details": pms.billing_details_object(data.get("billing_details")),
        "created": ctx.now,
        "customer": None,
        "klarna": {"dob": None},
        "livemode": False,
        "metadata": data.get("metadata") or {},
        "type": "klarna",
    }
    pms.save(ctx, method, PRIVATE)
    query = urllib.parse.urlencode(
        {"payment_intent": intent["id"], "client_secret": intent["client_secret"], "return_url": return_url}
    )
    intent.update(
        status="requires_action",
        payment_method=method["id"],
        last_payment_error=None,
        next_action={
            "type": "redirect_to_url",
            "redirect_to_url": {"url": f"{ctx.base_url}{REDIRECT_PAGE}?{query}", "return_url": return_url},
        },
    )
    ctx.emit("payment_intent.requires_action", intent)


def _klarna_charge(ctx: Context, intent: dict[str, Any], method: dict[str, Any]) -> dict[str, Any]:
    terms = {key: intent[key] for key in ("amount", "currency", "customer", "description", "metadata")}
    terms.update({key: intent[key] for key in ("receipt_email", "shipping", "statement_descriptor")})
    terms.update(statement_descriptor_suffix=intent["statement_descriptor_suffix"], capture=True)
    terms["transfer_group"] = intent["transfer_group"]
    # The charge builder reads a card's facts; Klarna has none, and its details replace the card's below.
    holder = {"id": method["id"], "last4": None, "country": "US"}
    holder.update(dict.fromkeys(("exp_month", "exp_year", "fingerprint", "funding")))
    charge = charge_object(
        ctx,
        terms,
        holder,
        PRIVATE,
        APPROVED,
        payment_intent=intent["id"],
        payment_method=method["id"],
        billing_details=method["billing_details"],
    )
    charge["payment_method_details"] = {
        "type": "klarna",
        "klarna": {"payment_method_category": "pay_later", "preferred_locale": "en-US"},
    }
    return charge


def authorize_redirect(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /_emulator/redirect/{id}/authorize: the test redirect page's answer, `result` authorize or fail.

    The browser calls it with the intent's client_secret, which proves it may; answers where to send the
    customer back (`return_url` with Stripe's query parameters)."""
    params = p.check(ctx.params, {"client_secret": (p.string(), True), "result": (p.enum("authorize", "fail"), True)})
    with ctx.store.transaction():
        intent = get_object(ctx, "payment_intents", "payment_intent", intent_id)
        if not secrets.compare_digest(params["client_secret"], intent["client_secret"]):
            raise invalid("The client_secret does not match this PaymentIntent.", param="client_secret")
        action = intent["next_action"] or {}
        if intent["status"] != "requires_action" or action.get("type") != "redirect_to_url":
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent has no redirect to answer: its status is {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        return_url = action["redirect_to_url"]["return_url"]
        method = get_object(ctx, "payment_methods", "payment_method", intent["payment_method"])
        if params["result"] == "fail":
            intent.update(status="requires_payment_method", payment_method=None, next_action=None)
            intent["last_payment_error"] = {
                "type": "invalid_request_error",
                "code": "payment_intent_payment_attempt_failed",
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-payment-attempt-failed",
                "message": "The customer did not approve the payment with Klarna. Choose another payment method.",
                "payment_method": method,
            }
            ctx.store.update("payment_intents", intent)
            ctx.emit("payment_intent.payment_failed", intent)
            status = "failed"
        else:
            charge = _klarna_charge(ctx, intent, method)
            record_charge(ctx, charge)
            intent.update(
                status="succeeded",
                amount_received=charge["amount"],
                latest_charge=charge["id"],
                next_action=None,
                last_payment_error=None,
            )
            ctx.store.update("payment_intents", intent)
            ctx.emit("payment_intent.succeeded", intent)
            status = "succeeded"
    back = {"payment_intent": intent["id"], "payment_intent_client_secret": intent["client_secret"]}
    separator = "&" if "?" in return_url else "?"
    return {"return_url": f"{return_url}{separator}{urllib.parse.urlencode({**back, 'redirect_status': status})}"}
