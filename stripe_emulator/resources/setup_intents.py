"""SetupIntents: `/v1/setup_intents` — save a card for later payments, with 3-D Secure when the card asks for it.

docs.stripe.com/api/setup_intents and docs.stripe.com/payments/setupintents/lifecycle: requires_payment_method ->
requires_confirmation -> requires_action (3-D Secure) -> succeeded, or canceled. Confirming checks the card without
charging it: a declining test card fails as it does when attached to a customer (a 402 card_error, the intent back
to requires_payment_method with `last_setup_error`); a card that needs authentication on session (4000002500003155,
4000002760003184, 4000000000003220, …) answers requires_action with the same challenge page as PaymentIntents. On
success the card is attached to the intent's customer, if it has one.
"""

from __future__ import annotations

import copy
import secrets
import urllib.parse
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import params as p
from stripe_emulator import store
from stripe_emulator.core import (
    EXPANDABLE,
    Context,
    apply_updates,
    expand,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
)
from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.resources import payment_methods as pms
from stripe_emulator.resources.payment_intent_params import PAYMENT_METHOD_DATA
from stripe_emulator.resources.payment_intents import AUTHENTICATION_FAILED, THREE_D_SECURE

TABLE = "setup_intents"
store.TABLES.setdefault(TABLE, ("customer", "payment_method"))
EXPANDABLE[("setup_intent", "customer")] = "customers"
EXPANDABLE[("setup_intent", "payment_method")] = "payment_methods"
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
# docs.stripe.com/api/setup_intents/object: the fields a publishable key (Stripe.js) may see.
PUBLISHABLE_FIELDS = (
    "id", "object", "cancellation_reason", "client_secret", "created", "description", "last_setup_error",
    "livemode", "next_action", "payment_method", "payment_method_types", "status", "usage",
)  # fmt: skip

CONFIRM_PARAMS = {
    "payment_method": (p.string(), False),
    "payment_method_data": (p.hash_of(PAYMENT_METHOD_DATA), False),
    "payment_method_options": (lambda value, name: value, False),
    "return_url": (p.string(2048), False),
    "use_stripe_sdk": (p.boolean, False),
    "mandate_data": (lambda value, name: value, False),
    "client_secret": (p.string(), False),
    "expand": (p.string_list, False),
}
CREATE_PARAMS = {
    "customer": (p.string(), False),
    "description": (p.string(1000), False),
    "metadata": (p.metadata, False),
    "usage": (p.enum("off_session", "on_session"), False),
    "payment_method_types": (p.string_list, False),
    "automatic_payment_methods": (
        p.hash_of({"enabled": (p.boolean, True), "allow_redirects": (p.enum("always", "never"), False)}),
        False,
    ),
    "confirm": (p.boolean, False),
    **{name: rule for name, rule in CONFIRM_PARAMS.items() if name != "client_secret"},
}
UPDATE_PARAMS = {
    "customer": (p.string(), False),
    "description": (p.string(1000), False),
    "metadata": (p.metadata, False),
    "payment_method": (p.string(), False),
    "payment_method_types": (p.string_list, False),
    "expand": (p.string_list, False),
}


def setup_intent_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """A new SetupIntent for checked create parameters."""
    intent_id = new_id("seti_")
    automatic = params.get("automatic_payment_methods")
    return {
        "id": intent_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": (
            {"allow_redirects": automatic.get("allow_redirects", "always"), "enabled": automatic["enabled"]}
            if automatic
            else None
        ),
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "created": ctx.now,
        "customer": params.get("customer"),
        "description": params.get("description"),
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": params.get("usage") or "off_session",
    }


def publishable_view(intent: dict[str, Any]) -> dict[str, Any]:
    """The subset of a SetupIntent that a publishable key (Stripe.js) is shown."""
    return {key: intent[key] for key in PUBLISHABLE_FIELDS}


def _answer(ctx: Context, intent: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    if ctx.publishable:
        return publishable_view(intent)
    return expand(ctx, copy.deepcopy(intent), paths)


def _get(ctx: Context, intent_id: str) -> dict[str, Any]:
    return get_object(ctx, TABLE, "setup_intent", intent_id)


def _check_client_secret(ctx: Context, intent: dict[str, Any], given: str | None) -> None:
    """A publishable key acts on a SetupIntent only with its client_secret."""
    if not ctx.publishable and given is None:
        return
    if given is None or not secrets.compare_digest(given, intent["client_secret"]):
        raise invalid(
            "The client_secret provided does not match the client_secret associated with the SetupIntent.",
            param="client_secret",
        )


def _customer_id(ctx: Context, customer_id: str | None) -> str | None:
    if not customer_id:
        return None
    customer = ctx.store.get("customers", customer_id)
    if customer is None or customer.get("deleted"):
        raise missing("customer", customer_id, "customer")
    return customer_id


def _unexpected_state(intent: dict[str, Any], action: str, allowed: tuple[str, ...]) -> StripeError:
    return StripeError(
        400,
        "invalid_request_error",
        f"You cannot {action} this SetupIntent because it has a status of {intent['status']}. Only a SetupIntent "
        f"with one of the following statuses may be {action.rstrip('e')}ed: {', '.join(allowed)}.",
        code="setup_intent_unexpected_state",
        extra={"setup_intent": publishable_view(intent)},
    )


def _payment_method_for(ctx: Context, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """The PaymentMethod a confirm sets up: `payment_method`, new from `payment_method_data`, or the intent's."""
    if params.get("payment_method"):
        method = pms.resolve(ctx, params["payment_method"])
    elif params.get("payment_method_data"):
        data = params["payment_method_data"]
        if not data.get("card"):
            raise invalid(
                "Missing required param: payment_method_data[card].",
                param="payment_method_data[card]",
                code="parameter_missing",
            )
        card, billing = data["card"], data.get("billing_details")
        method, private = pms.payment_method_object(ctx, card, billing, data.get("metadata"))
        pms.save(ctx, method, private)
    elif intent["payment_method"]:
        method = pms.resolve(ctx, intent["payment_method"])
    else:
        return None
    if method["customer"] is not None and method["customer"] != intent["customer"]:
        raise invalid(
            "The provided PaymentMethod is attached to a customer other than the one of this SetupIntent.",
            param="payment_method",
        )
    return method


def _next_action(ctx: Context, intent: dict[str, Any], return_url: str | None, use_stripe_sdk: bool) -> dict[str, Any]:
    """The 3-D Secure challenge as Stripe.js handles it (use_stripe_sdk), or as a redirect to the same page."""
    query = urllib.parse.urlencode({"setup_intent": intent["id"], "client_secret": intent["client_secret"]})
    page = f"{ctx.base_url}/v3/3ds-challenge.html?{query}"
    if return_url and not use_stripe_sdk:
        url = page + "&" + urllib.parse.urlencode({"return_url": return_url})
        return {"type": "redirect_to_url", "redirect_to_url": {"url": url, "return_url": return_url}}
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": page, "source": new_id("src_")},
    }


def _fail(ctx: Context, intent: dict[str, Any], method: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    intent.update(status="requires_payment_method", payment_method=None, next_action=None)
    intent["last_setup_error"] = {**error, "payment_method": method}
    ctx.emit("setup_intent.setup_failed", intent)
    return intent["last_setup_error"]


def _succeed(ctx: Context, intent: dict[str, Any], method: dict[str, Any]) -> None:
    intent.update(status="succeeded", payment_method=method["id"], last_setup_error=None, next_action=None)
    if intent["customer"] and method["customer"] is None:
        method["customer"] = intent["customer"]
        ctx.store.update("payment_methods", method)
        ctx.emit("payment_method.attached", method, {"customer": None})
    ctx.emit("setup_intent.succeeded", intent)


def _card_error(behaviour: card_facts.Behaviour) -> dict[str, Any]:
    code = behaviour.code or "card_declined"
    error = {
        "type": "card_error",
        "code": code,
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        "message": behaviour.message or "Your card was declined.",
    }
    if behaviour.decline_code:
        error["decline_code"] = behaviour.decline_code
    return error


def _confirm(ctx: Context, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """Run a confirm in place; return the card error to answer (402) for a declining card, else None."""
    if intent["status"] not in CONFIRMABLE:
        raise _unexpected_state(intent, "confirm", CONFIRMABLE)
    method = _payment_method_for(ctx, intent, params)
    if method is None:
        raise StripeError(
            400,
            "invalid_request_error",
            "You cannot confirm this SetupIntent because it's missing a payment method. Update it with a payment "
            "method, or confirm it again with one.",
            code="setup_intent_unexpected_state",
            extra={"setup_intent": publishable_view(intent)},
        )
    private = pms.private_facts(ctx, method["id"])
    behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
    # docs.stripe.com/testing: declining test cards fail when saved, except 4000000000000341 (fails at charges).
    if behaviour.code and behaviour.declines_on_attach:
        return _fail(ctx, intent, method, _card_error(behaviour))
    three_ds = THREE_D_SECURE.get(private["number"])
    if three_ds is not None and three_ds.required:
        intent.update(
            status="requires_action",
            payment_method=method["id"],
            last_setup_error=None,
            next_action=_next_action(ctx, intent, params.get("return_url"), params.get("use_stripe_sdk", False)),
        )
        ctx.emit("setup_intent.requires_action", intent)
        return None
    _succeed(ctx, intent, method)
    return None


def _decline(ctx: Context, intent: dict[str, Any], error: dict[str, Any]) -> StripeError:
    return StripeError(
        402,
        "card_error",
        error["message"],
        code=error["code"],
        decline_code=error.get("decline_code"),
        extra={"setup_intent": _answer(ctx, intent, []), "payment_method": error["payment_method"]},
    )


# ---------------------------------------------------------------- handlers


def create_setup_intent(ctx: Context) -> dict[str, Any]:
    """POST /v1/setup_intents (with `confirm=true`, confirmed at once)."""
    params = p.check(ctx.params, CREATE_PARAMS)
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
        intent = setup_intent_object(ctx, params)
        if params.get("payment_method"):
            method = _payment_method_for(ctx, intent, params)
            intent.update(payment_method=method["id"], status="requires_confirmation")
        ctx.store.insert(TABLE, intent)
        ctx.emit("setup_intent.created", intent)
        if params.get("confirm"):
            declined = _confirm(ctx, intent, {**params, "payment_method": intent["payment_method"]})
            ctx.store.update(TABLE, intent)
    if declined:
        raise _decline(ctx, intent, declined)
    return _answer(ctx, intent, params.get("expand", []))


def retrieve_setup_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """GET /v1/setup_intents/{id} (a publishable key needs the `client_secret` query parameter)."""
    params = p.check(ctx.params, {"client_secret": (p.string(), False), "expand": (p.string_list, False)})
    intent = _get(ctx, intent_id)
    _check_client_secret(ctx, intent, params.get("client_secret"))
    return _answer(ctx, intent, params.get("expand", []))


def update_setup_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/setup_intents/{id}: metadata and description any time; the card and customer before success."""
    params = p.check(ctx.params, UPDATE_PARAMS)
    with ctx.store.transaction():
        intent = _get(ctx, intent_id)
        terms = ("customer", "payment_method", "payment_method_types")
        if any(key in params for key in terms) and intent["status"] not in CONFIRMABLE:
            raise _unexpected_state(intent, "update", CONFIRMABLE)
        if "customer" in params:
            intent["customer"] = _customer_id(ctx, params["customer"])
        apply_updates(intent, params, ("description", "payment_method_types"))
        if params.get("payment_method"):
            method = _payment_method_for(ctx, intent, params)
            intent.update(payment_method=method["id"], status="requires_confirmation", next_action=None)
        ctx.store.update(TABLE, intent)
    return _answer(ctx, intent, params.get("expand", []))


def confirm_setup_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/setup_intents/{id}/confirm: with a secret key, or a publishable key and the client_secret."""
    for name in ("payment_user_agent", "time_on_page", "guid", "muid", "sid", "referrer"):
        if isinstance(ctx.params.get("payment_method_data"), dict):
            ctx.params["payment_method_data"].pop(name, None)  # Stripe.js telemetry inside the card data
    params = p.check(ctx.params, CONFIRM_PARAMS)
    with ctx.store.transaction():
        intent = _get(ctx, intent_id)
        _check_client_secret(ctx, intent, params.get("client_secret"))
        declined = _confirm(ctx, intent, params)
        ctx.store.update(TABLE, intent)
    if declined:
        raise _decline(ctx, intent, declined)
    return _answer(ctx, intent, params.get("expand", []))


def cancel_setup_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /v1/setup_intents/{id}/cancel: any status but succeeded and canceled."""
    reasons = p.enum("abandoned", "duplicate", "requested_by_customer")
    params = p.check(ctx.params, {"cancellation_reason": (reasons, False), "expand": (p.string_list, False)})
    with ctx.store.transaction():
        intent = _get(ctx, intent_id)
        if intent["status"] not in CONFIRMABLE:
            raise _unexpected_state(intent, "cancel", CONFIRMABLE)
        intent.update(status="canceled", cancellation_reason=params.get("cancellation_reason"), next_action=None)
        ctx.store.update(TABLE, intent)
        ctx.emit("setup_intent.canceled", intent)
    return _answer(ctx, intent, params.get("expand", []))


def authenticate_setup_intent(ctx: Context, intent_id: str) -> dict[str, Any]:
    """POST /_emulator/3ds-setup/{id}/authenticate: the challenge page's answer, `result` complete or fail."""
    params = p.check(ctx.params, {"client_secret": (p.string(), True), "result": (p.enum("complete", "fail"), True)})
    ctx.publishable = True  # whoever calls, the answer is what a publishable key may see
    with ctx.store.transaction():
        intent = _get(ctx, intent_id)
        _check_client_secret(ctx, intent, params["client_secret"])
        if intent["status"] != "requires_action":
            raise _unexpected_state(intent, "authenticate", ("requires_action",))
        method = pms.resolve(ctx, intent["payment_method"])
        if params["result"] == "fail":
            code = "setup_intent_authentication_failure"
            error = {
                "type": "invalid_request_error",
                "code": code,
                "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
                "message": AUTHENTICATION_FAILED.replace("PaymentIntent", "SetupIntent"),
            }
            _fail(ctx, intent, method, error)
        else:
            _succeed(ctx, intent, method)
        ctx.store.update(TABLE, intent)
    return publishable_view(intent)


def list_setup_intents(ctx: Context) -> Any:
    """GET /v1/setup_intents: newest first; `customer`, `payment_method` and `created` filters."""
    filters = {"customer": p.string(), "payment_method": p.string()}
    return list_objects(ctx, TABLE, "setup_intent", "/v1/setup_intents", filters, ("customer", "payment_method"))
