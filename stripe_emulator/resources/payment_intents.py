"""PaymentIntents: `/v1/payment_intents` — create, confirm (server or Stripe.js), 3-D Secure, capture, cancel.

Statuses and transitions follow docs.stripe.com/payments/paymentintents/lifecycle: requires_payment_method ->
requires_confirmation -> requires_action (3-D Secure) -> succeeded, or requires_capture with
capture_method=manual; canceled from any status but succeeded. A decline sends the intent back to
requires_payment_method with `last_payment_error`, and a confirm of a succeeded or canceled intent is a 400
payment_intent_unexpected_state (docs.stripe.com/error-codes#payment-intent-unexpected-state). Card payments settle
synchronously, so `processing` is never a resting status here. Each attempt's charge is made by the charges
builder, so it has the one charge shape, names its `payment_intent`, and is listed with the other charges.
"""

from __future__ import annotations

import copy
import secrets
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import params as p
from stripe_emulator.core import (
    Context,
    apply_updates,
    check_amount,
    check_currency,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
    shipping_object,
)
from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.resources import other_payment_methods as other_methods
from stripe_emulator.resources import payment_methods as pms
from stripe_emulator.resources.charges import capture, charge_object, check_descriptor_suffix, record_charge
from stripe_emulator.resources.payment_intent_params import (
    CONFIRM_PARAMS,
    CREATE_PARAMS,
    DEFAULT_CAPTURE_METHOD,
    UPDATE_PARAMS,
    UPDATED_AS_GIVEN,
    amount_details_object,
    automatic_payment_methods,
    check_redirect_rules,
)
from stripe_emulator.resources.refunds import refund_charge


@dataclass(frozen=True)
class ThreeDSecure:
    """A 3-D Secure test card: whether an on-session payment must authenticate, and how the charge goes after."""

    required: bool
    after: card_facts.Behaviour = card_facts.APPROVED


# docs.stripe.com/testing#regulatory-cards and docs.stripe.com/payments/3d-secure/authentication-flow#testing:
# 3155 needs authentication on session unless set up, 3184 always, 3220 is 3DS2 then succeeds, 3178
# authenticates then declines insufficient_funds, 1629 authenticates then card_declined, 3055 supports 3DS
# without requiring it (so it pays with no action).
THREE_D_SECURE: dict[str, ThreeDSecure] = {
    "4000002500003155": ThreeDSecure(required=True),
    "4000002760003184": ThreeDSecure(required=True),
    "4000000000003220": ThreeDSecure(required=True),
    "4000008260003178": ThreeDSecure(required=True, after=card_facts.TEST_CARDS["4000000000009995"]),
    "4000008400001629": ThreeDSecure(required=True, after=card_facts.TEST_CARDS["4000000000000002"]),
    "4000000000003055": ThreeDSecure(required=False),
}

# docs.stripe.com/error-codes#payment-intent-authentication-failure
AUTHENTICATION_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)
# A card needing authentication that cannot be asked for it (off session): docs.stripe.com/payments/save-and-reuse
# ("Charge the saved payment method later"): the 402 card_error's `code` is `authentication_required`, and so is
# its decline code (docs.stripe.com/declines/codes#authentication_required).
AUTHENTICATION_REQUIRED = card_facts.Behaviour(
    code="authentication_required",
    decline_code="authentication_required",
    message="Your card was declined. This transaction requires authentication.",
    outcome_type="issuer_declined",
    network_status="declined_by_network",
    reason="authentication_required",
    seller_message="The bank returned the decline code `authentication_required`.",
)

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")
# The fields a publishable key sees (docs.stripe.com/api/payment_intents/object: "retrievable with publishable key").
PUBLISHABLE_FIELDS = (
    "id", "object", "amount", "automatic_payment_methods", "canceled_at", "cancellation_reason", "capture_method",
    "client_secret", "confirmation_method", "created", "currency", "description", "last_payment_error",
    "livemode", "next_action", "payment_method", "payment_method_types", "processing", "receipt_email",
    "setup_future_usage", "shipping", "status",
)  # fmt: skip

# What only an intent that has not been paid may change: Stripe refuses new payment terms once it succeeded or
# was canceled, while metadata, description and the like stay editable (docs.stripe.com/api/payment_intents/update:
# "Depending on which properties you update, you might need to confirm the PaymentIntent again").
PAYMENT_TERMS = ("amount", "currency", "payment_method", "payment_method_types", "capture_method", "customer")


def payment_intent_object(ctx: Context, params: dict[str, Any], currency: str) -> dict[str, Any]:
    """A new PaymentIntent for checked create parameters (status from whether it has a payment method)."""
    intent_id = new_id("pi_")
    types = params.get("payment_method_types") or ["card"]
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": params["amount"],
        "amount_capturable": 0,
        "amount_details": amount_details_object(intent_id, params.get("amount_details")),
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": automatic_payment_methods(params),
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": params.get("capture_method") or DEFAULT_CAPTURE_METHOD,
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": params.get("confirmation_method") or "automatic",
        "created": ctx.now,
        "currency": currency,
        "customer": params.get("customer"),
        "description": params.get("description"),
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": types,
        "processing": None,
        "receipt_email": params.get("receipt_email"),
        "review": None,
        "setup_future_usage": params.get("setup_future_usage"),
        "shipping": shipping_object(params.get("shipping")),
        "source": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": params.get("transfer_group"),
    }


def publishable_view(intent: dict[str, Any]) -> dict[str, Any]:
    """The subset of an intent that a publishable key (Stripe.js) is shown."""
    return {key: intent[key] for key in PUBLISHABLE_FIELDS}


def _answer(ctx: Context, intent: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    if ctx.publishable:
        return publishable_view(intent)
    return expand(ctx, copy.deepcopy(intent), paths)


def _unexpected_state(intent: dict[str, Any], action: str, allowed: tuple[str, ...]) -> StripeError:
    if intent["status"] == "succeeded" and action == "confirm":
        message = (
            "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."
        )
    else:
        message = (
            f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}. Only a "
            f"PaymentIntent with one of the following statuses may be {action.rstrip('e')}ed: {', '.join(allowed)}."
        )
    return StripeError(
        400,
        "invalid_request_error",
        message,
        code="payment_intent_unexpected_state",
        extra={"payment_intent": publishable_view(intent)},
    )


def _get_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    return get_object(ctx, "payment_intents", "payment_intent", intent_id)


def _check_client_secret(ctx: Context, intent: dict[str, Any], given: str | None) -> None:
    """A publishable key acts on an intent only with its client_secret."""
    if not ctx.publishable and given is None:
        return
    if given is None:
        raise invalid(
            "A client_secret is required to use this PaymentIntent with a publishable key.", param="client_secret"
        )
    if not secrets.compare_digest(given, intent["client_secret"]):
        raise invalid(
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
            param="client_secret",
        )


def _customer_id(ctx: Context, customer_id: str | None) -> str | None:
    if not customer_id:
        return None
    customer = ctx.store.get("customers", customer_id)
    if customer is None or customer.get("deleted"):
        raise missing("customer", customer_id, "customer")
    return customer_id


def _payment_method_for(ctx: Context, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """The PaymentMethod a confirm uses: `payment_method`, new from `payment_method_data`, or the intent's own."""
    if params.get("payment_method"):
        payment_method = pms.resolve(ctx, params["payment_method"])
    elif params.get("payment_method_data"):
        data = params["payment_method_data"]
        if not data.get("card"):
            raise invalid(
                "Missing required param: payment_method_data[card].",
                param="payment_method_data[card]",
                code="parameter_missing",
            )
        payment_method, private = pms.payment_method_object(
            ctx, data["card"], data.get("billing_details"), data.get("metadata"), data.get("allow_redisplay")
        )
        pms.save(ctx, payment_method, private)
    elif intent["payment_method"]:
        payment_method = pms.resolve(ctx, intent["payment_method"])
    else:
        return None
    owner = payment_method["customer"]
    if owner is not None and owner != intent["customer"]:
        raise invalid(
            f"The provided PaymentMethod belongs to a customer other than the one of this PaymentIntent ({owner}).",
            param="payment_method",
        )
    return payment_method


def _last_payment_error(
    error_type: str, code: str, message: str, payment_method: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    error = {
        "type": error_type,
        "code": code,
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        "message": message,
        "payment_method": payment_method,
    }
    error.update({key: value for key, value in extra.items() if value is not None})
    return error


def _next_action(ctx: Context, intent: dict[str, Any], return_url: str | None, use_stripe_sdk: bool) -> dict[str, Any]:
    """The 3-D Secure challenge as Stripe.js handles it (use_stripe_sdk), or as a redirect to the same page."""
    query = urllib.parse.urlencode({"payment_intent": intent["id"], "client_secret": intent["client_secret"]})
    page = f"{ctx.base_url}/v3/3ds-challenge.html?{query}"
    if return_url and not use_stripe_sdk:
        url = page + "&" + urllib.parse.urlencode({"return_url": return_url})
        return {"type": "redirect_to_url", "redirect_to_url": {"url": url, "return_url": return_url}}
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": page, "source": new_id("src_")},
    }


def _charge(
    ctx: Context,
    intent: dict[str, Any],
    payment_method: dict[str, Any],
    behaviour: card_facts.Behaviour,
    three_d_secure: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """Charge the intent's amount to its payment method; move the intent on; return the decline error, if any."""
    private = pms.private_facts(ctx, payment_method["id"])
    terms = {
        "amount": intent["amount"],
        "currency": intent["currency"],
        "capture": intent["capture_method"] != "manual",
        "customer": intent["customer"],
        "description": intent["description"],
        "metadata": intent["metadata"],
        "receipt_email": intent["receipt_email"],
        "shipping": intent["shipping"],
        "statement_descriptor": intent["statement_descriptor"],
        "statement_descriptor_suffix": intent["statement_descriptor_suffix"],
        "transfer_group": intent["transfer_group"],
    }
    charge = charge_object(
        ctx,
        terms,
        pms.card_view(payment_method),
        private,
        behaviour,
        payment_intent=intent["id"],
        payment_method=payment_method["id"],
        billing_details=payment_method["billing_details"],
        three_d_secure=three_d_secure,
    )
    record_charge(ctx, charge)
    intent.update(latest_charge=charge["id"], next_action=None)
    if charge["status"] == "failed":
        intent.update(status="requires_payment_method", payment_method=None)
        intent["last_payment_error"] = _last_payment_error(
            "card_error",
            behaviour.code or "card_declined",
            behaviour.message or "Your card was declined.",
            payment_method,
            decline_code=behaviour.decline_code,
            charge=charge["id"],
        )
        ctx.emit("payment_intent.payment_failed", intent)
        return intent["last_payment_error"]
    intent.update(payment_method=payment_method["id"], last_payment_error=None)
    if intent["setup_future_usage"] and intent["customer"] and payment_method["customer"] is None:
        payment_method["customer"] = intent["customer"]
        ctx.store.update("payment_methods", payment_method)
        ctx.emit("payment_method.attached", payment_method, {"customer": None})
    if charge["captured"]:
        intent.update(status="succeeded", amount_received=charge["amount"], amount_capturable=0)
        ctx.emit("payment_intent.succeeded", intent)
    else:
        intent.update(status="requires_capture", amount_capturable=charge["amount"])
        ctx.emit("payment_intent.amount_capturable_updated", intent)
    return None


def _confirm(ctx: Context, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """Run a confirm on `intent` in place; return the card error to answer (402) for a decline, else None."""
    if intent["status"] not in CONFIRMABLE:
        raise _unexpected_state(intent, "confirm", CONFIRMABLE)
    for key in ("receipt_email", "setup_future_usage", "capture_method"):
        if key in params:
            intent[key] = params[key]
    if "shipping" in params:
        intent["shipping"] = shipping_object(params["shipping"])
    check_redirect_rules(intent, params)
    if (params.get("payment_method_data") or {}).get("type", "card") != "card":
        return other_methods.confirm(ctx, intent, params)  # a bank debit or a redirect: not a card's path
    payment_method = _payment_method_for(ctx, intent, params)
    if payment_method is None:
        raise StripeError(
            400,
            "invalid_request_error",
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update "
            "the PaymentIntent with a payment method and then confirm it again, or confirm it again directly "
            "with a payment method.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": publishable_view(intent)},
        )
    private = pms.private_facts(ctx, payment_method["id"])
    three_ds = THREE_D_SECURE.get(private["number"])
    if three_ds is not None and three_ds.required:
        if params.get("off_session") or params.get("error_on_requires_action"):
            return _charge(ctx, intent, payment_method, AUTHENTICATION_REQUIRED, None)
        intent.update(
            status="requires_action",
            payment_method=payment_method["id"],
            last_payment_error=None,
            next_action=_next_action(ctx, intent, params.get("return_url"), params.get("use_stripe_sdk", False)),
        )
        ctx.emit("payment_intent.requires_action", intent)
        return None
    behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
    return _charge(ctx, intent, payment_method, behaviour, None)


def _store(ctx: Context, intent: dict[str, Any], new: bool = False) -> None:
    if new:
        ctx.store.insert("payment_intents", intent)
    else:
        ctx.store.update("payment_intents", intent)


def _decline(ctx: Context, intent: dict[str, Any], error: dict[str, Any]) -> StripeError:
    """The 402 card_error a declined confirm answers, with the intent and its payment method, as Stripe."""
    return StripeError(
        402,
        "card_error",
        error["message"],
        code=error["code"],
        decline_code=error.get("decline_code"),
        charge=error.get("charge"),
        extra={"payment_intent": _answer(ctx, intent, []), "payment_method": error["payment_method"]},
    )


def create_payment_intent(ctx: Context) -> dict[str, Any]:
    """POST /v1/payment_intents (with `confirm=true`, confirmed at once)."""
    params = p.check(ctx.params, CREATE_PARAMS)
    currency = check_currency(params["currency"])
    check_amount(params["amount"], currency)
    check_descriptor_suffix(params.get("statement_descriptor_suffix"), "statement_descriptor_suffix")
    if params.get("automatic_payment_methods") and params.get("payment_method_types"):
        raise invalid(
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            param="automatic_payment_methods",
        )
    if params.get("return_url") and not params.get("confirm"):
        raise invalid("return_url can only be passed when confirm is true.", param="return_url")
    declined = None
    with ctx.store.transaction():
        params["customer"] = _customer_id(ctx, params.get("customer"))
        intent = payment_intent_object(ctx, params, currency)
        if params.get("payment_method"):
            method = _payment_method_for(ctx, intent, params)
            intent.update(payment_method=method["id"], status="requires_confirmation")
        _store(ctx, intent, new=True)
        ctx.emit("payment_intent.created", intent)
        if params.get("confirm"):
            declined = _confirm(ctx, intent, {**params, "payment_method": intent["payment_method"]})
            _store(ctx, intent)
    if declined:
        raise _decline(ctx, intent, declined)
    return _answer(ctx, intent, params.get("expand", []))


def retrieve_payment_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """GET /v1/payment_intents/{id} (a publishable key needs the `client_secret` query parameter)."""
    params = p.check(ctx.params, {"client_secret": (p.string(), False), "expand": (p.string_list, False)})
    intent = _get_intent(ctx, intent_id)
    _check_client_secret(ctx, intent, params.get("client_secret"))
    return _answer(ctx, intent, params.get("expand", []))


def update_payment_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}: amount and payment method only before it is paid; metadata any time."""
    params = p.check(ctx.params, UPDATE_PARAMS)
    with ctx.store.transaction():
        intent = _get_intent(ctx, intent_id)
        if any(key in params for key in PAYMENT_TERMS) and intent["status"] not in CONFIRMABLE:
            raise _unexpected_state(intent, "update", CONFIRMABLE)
        if "currency" in params:
            intent["currency"] = check_currency(params["currency"])
        if "amount" in params:
            check_amount(params["amount"], intent["currency"])
            intent["amount"] = params["amount"]
        if "customer" in params:
            intent["customer"] = _customer_id(ctx, params["customer"])
        check_descriptor_suffix(params.get("statement_descriptor_suffix"), "statement_descriptor_suffix")
        apply_updates(intent, params, UPDATED_AS_GIVEN)
        if params.get("payment_method"):
            method = _payment_method_for(ctx, intent, params)
            intent.update(payment_method=method["id"], status="requires_confirmation", next_action=None)
        _store(ctx, intent)
    return _answer(ctx, intent, params.get("expand", []))


def confirm_payment_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/confirm: with a secret key, or a publishable key and the client_secret."""
    for name in ("payment_user_agent", "time_on_page", "guid", "muid", "sid", "referrer"):
        if isinstance(ctx.params.get("payment_method_data"), dict):
            ctx.params["payment_method_data"].pop(name, None)  # Stripe.js telemetry inside the card data
    params = p.check(ctx.params, CONFIRM_PARAMS)
    with ctx.store.transaction():
        intent = _get_intent(ctx, intent_id)
        _check_client_secret(ctx, intent, params.get("client_secret"))
        if ctx.publishable and intent["confirmation_method"] == "manual":
            # docs.stripe.com/api/payment_intents/confirm: "If the confirmation_method is manual, all payment
            # attempts must be initiated using a secret key."
            raise invalid(
                "This PaymentIntent's confirmation_method is manual: it can only be confirmed with a secret key.",
                param="client_secret",
            )
        declined = _confirm(ctx, intent, params)
        _store(ctx, intent)
    if declined:
        raise _decline(ctx, intent, declined)
    return _answer(ctx, intent, params.get("expand", []))


def authenticate_payment_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /_emulator/3ds/{id}/authenticate: the test challenge page's answer, `result` complete or fail.

    The browser calls it (a publishable key or no key at all); the client_secret proves the caller may."""
    params = p.check(ctx.params, {"client_secret": (p.string(), True), "result": (p.enum("complete", "fail"), True)})
    ctx.publishable = True  # whoever calls, the answer is what a publishable key may see
    with ctx.store.transaction():
        intent = _get_intent(ctx, intent_id)
        _check_client_secret(ctx, intent, params["client_secret"])
        if intent["status"] != "requires_action":
            raise _unexpected_state(intent, "authenticate", ("requires_action",))
        payment_method = pms.resolve(ctx, intent["payment_method"])
        if params["result"] == "fail":
            # docs.stripe.com/payments/3d-secure/authentication-flow: a failed authentication leaves the intent
            # requires_payment_method, and no charge is attempted.
            intent.update(status="requires_payment_method", payment_method=None, next_action=None)
            intent["last_payment_error"] = _last_payment_error(
                "invalid_request_error", "payment_intent_authentication_failure", AUTHENTICATION_FAILED, payment_method
            )
            ctx.emit("payment_intent.payment_failed", intent)
        else:
            number = pms.private_facts(ctx, payment_method["id"])["number"]
            three_ds = {
                "authentication_flow": "challenge",
                "electronic_commerce_indicator": "05",
                "exemption_indicator": None,
                "result": "authenticated",
                "result_reason": None,
                "transaction_id": str(uuid.uuid4()),
                "version": "2.2.0",
            }
            _charge(ctx, intent, payment_method, THREE_D_SECURE[number].after, three_ds)
        _store(ctx, intent)
    return publishable_view(intent)


def capture_payment_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/capture: capture a requires_capture intent, all or `amount_to_capture`."""
    params = p.check(
        ctx.params,
        {
            "amount_to_capture": (p.integer(minimum=1), False),
            "metadata": (p.metadata, False),
            "statement_descriptor": (p.string(22), False),
            "statement_descriptor_suffix": (p.string(22), False),
            "expand": (p.string_list, False),
        },
    )
    with ctx.store.transaction():
        intent = _get_intent(ctx, intent_id)
        if intent["status"] != "requires_capture":
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent could not be captured because it has a status of {intent['status']}. Only a "
                "PaymentIntent with one of the following statuses may be captured: requires_capture.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": publishable_view(intent)},
            )
        amount = params.get("amount_to_capture", intent["amount_capturable"])
        if amount > intent["amount_capturable"]:
            raise invalid(
                f"The amount_to_capture ({amount}) cannot be greater than the amount_capturable "
                f"({intent['amount_capturable']}).",
                param="amount_to_capture",
                code="amount_too_large",
            )
        charge = get_object(ctx, "charges", "charge", intent["latest_charge"], "charge")
        extra = {key: params.get(key) for key in ("statement_descriptor", "statement_descriptor_suffix")}
        capture(ctx, charge, amount, extra)
        if "metadata" in params:
            intent["metadata"] = merge_metadata(intent["metadata"], params["metadata"])
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        _store(ctx, intent)
        ctx.emit("payment_intent.succeeded", intent)
    return _answer(ctx, intent, params.get("expand", []))


def cancel_payment_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/payment_intents/{id}/cancel: any status but succeeded; an authorization is released."""
    params = p.check(
        ctx.params,
        {
            "cancellation_reason": (
                p.enum("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
                False,
            ),
            "expand": (p.string_list, False),
        },
    )
    with ctx.store.transaction():
        intent = _get_intent(ctx, intent_id)
        # docs.stripe.com/api/payment_intents/cancel: processing only "in rare cases"; a bank debit sent is not one.
        if intent["status"] not in CANCELABLE or other_methods.settles_later(ctx, intent):
            raise _unexpected_state(intent, "cancel", CANCELABLE)
        if intent["status"] == "requires_capture":
            charge = get_object(ctx, "charges", "charge", intent["latest_charge"], "charge")
            refund_charge(ctx, charge, None, None, {})
        intent.update(
            status="canceled",
            canceled_at=ctx.now,
            cancellation_reason=params.get("cancellation_reason"),
            amount_capturable=0,
            next_action=None,
        )
        _store(ctx, intent)
        ctx.emit("payment_intent.canceled", intent)
    return _answer(ctx, intent, params.get("expand", []))


def list_payment_intents(ctx: Context) -> Any:
    """GET /v1/payment_intents: newest first, `customer` and `created` filters."""
    return list_objects(
        ctx, "payment_intents", "payment_intent", "/v1/payment_intents", {"customer": p.string()}, ("customer",)
    )
