"""PaymentMethods: `/v1/payment_methods` (type card), attach/detach to customers, and Stripe's test PaymentMethods.

Stripe.js creates them from its card iframe with a publishable key; servers use the test ids such as
`pm_card_visa` (docs.stripe.com/testing, "PaymentMethods"), each standing for one test card, so that a
`pm_card_*` behaves exactly as its card does with charges (the card rules come from cards.py).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from stripe_emulator import cards as card_facts
from stripe_emulator import params as p
from stripe_emulator.core import Context, changes, expand, get_object, list_objects, merge_metadata, new_id
from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.resources.charges import decline_error
from stripe_emulator.resources.tokens import build_card

# docs.stripe.com/testing ("PaymentMethods" tab) names the test PaymentMethods after the test tokens
# (tok_visa -> pm_card_visa, tok_chargeDeclined -> pm_card_chargeDeclined, ...), and lists the declines also as
# pm_card_visa_chargeDeclined*; the 3-D Secure ones are on docs.stripe.com/payments/3d-secure/authentication-flow
# ("Test the 3DS flow") and on the testing page's "Authentication and setup" section.
TEST_PAYMENT_METHODS: dict[str, str] = {
    **{"pm_card_" + name.removeprefix("tok_"): number for name, number in card_facts.TEST_TOKENS.items()},
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequiredChargeDeclined": "4000008400001629",
    "pm_card_threeDSecureOptional": "4000000000003055",
    "pm_card_amex_threeDSecureNotSupported": "378282246310005",
}

CARD_DETAILS = {
    "number": (p.string(), True),
    "exp_month": (p.string(), True),
    "exp_year": (p.string(), True),
    "cvc": (p.string(), False),
}
BILLING_DETAILS = {
    "address": (p.hash_of(p.ADDRESS), False),
    "email": (p.email, False),
    "name": (p.string(), False),
    "phone": (p.string(), False),
    "tax_id": (p.string(), False),
}
CREATE_PARAMS = {
    "type": (p.enum("card"), True),
    "card": (p.hash_of(CARD_DETAILS), False),
    "billing_details": (p.hash_of(BILLING_DETAILS), False),
    "metadata": (p.metadata, False),
    "allow_redisplay": (p.enum("always", "limited", "unspecified"), False),
    "expand": (p.string_list, False),
}


def billing_details_object(details: dict[str, Any] | None) -> dict[str, Any]:
    """`billing_details` with every key present."""
    details = details or {}
    address = {key: None for key in p.ADDRESS}
    address.update(details.get("address") or {})
    return {
        "address": address,
        "email": details.get("email"),
        "name": details.get("name"),
        "phone": details.get("phone"),
        "tax_id": details.get("tax_id"),
    }


def payment_method_object(
    ctx: Context,
    card_details: dict[str, Any],
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    allow_redisplay: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(A card PaymentMethod for raw card details, validated as Stripe does; what only the emulator may know of
    its card: number and whether a CVC was given). Not yet stored: see `save`."""
    card, private = build_card(card_details, ctx.now)
    brand = card_facts.brand_of(private["number"])
    return {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": allow_redisplay or "unspecified",
        "billing_details": billing_details_object(billing_details),
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "unchecked" if private["cvc_given"] else None,
            },
            "country": card["country"],
            "display_brand": brand.replace("amex", "american_express"),
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "generated_from": None,
            "last4": card["last4"],
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": brand != "amex"},
            "wallet": None,
        },
        "created": ctx.now,
        "customer": None,
        "livemode": False,
        "metadata": merge_metadata({}, metadata or {}),
        "type": "card",
    }, private


def _test_payment_method(ctx: Context, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    number = TEST_PAYMENT_METHODS[name]
    details = {"number": number, "exp_month": "12", "exp_year": str(time.gmtime(ctx.now).tm_year + 1)}
    if name in ("pm_card_cvcCheckFail",):
        details["cvc"] = "123"  # so that the CVC check runs, as with its token
    return payment_method_object(ctx, details)


def save(ctx: Context, payment_method: dict[str, Any], private: dict[str, Any]) -> None:
    """Store a new PaymentMethod; its card number goes to a table of its own, never into a listed body."""
    ctx.store.insert("payment_methods", payment_method)
    ctx.store.insert("payment_method_cards", {"id": payment_method["id"], "created": ctx.now, **private})


def private_facts(ctx: Context, payment_method_id: str) -> dict[str, Any]:
    """{number, cvc_given} of a stored PaymentMethod's card."""
    facts = ctx.store.get("payment_method_cards", payment_method_id)
    if facts is None:
        raise missing("payment_method", payment_method_id, "payment_method")
    return {"number": facts["number"], "cvc_given": facts["cvc_given"]}


def resolve(ctx: Context, payment_method_id: str, param: str = "payment_method") -> dict[str, Any]:
    """A stored PaymentMethod by id; a test id (`pm_card_visa`) makes and stores a new one, as Stripe does."""
    if payment_method_id in TEST_PAYMENT_METHODS:
        payment_method, private = _test_payment_method(ctx, payment_method_id)
        save(ctx, payment_method, private)
        return payment_method
    return get_object(ctx, "payment_methods", "payment_method", payment_method_id, param)


def card_view(payment_method: dict[str, Any]) -> dict[str, Any]:
    """What the charge builder needs of a card PaymentMethod: the card's facts in the card object's terms."""
    address = payment_method["billing_details"]["address"]
    card = payment_method["card"]
    return {
        "id": payment_method["id"],
        "address_city": address["city"],
        "address_country": address["country"],
        "address_line1": address["line1"],
        "address_line2": address["line2"],
        "address_state": address["state"],
        "address_zip": address["postal_code"],
        "name": payment_method["billing_details"]["name"],
        "country": card["country"],
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "fingerprint": card["fingerprint"],
        "funding": card["funding"],
        "last4": card["last4"],
    }


def create_payment_method(ctx: Context) -> dict[str, Any]:
    """POST /v1/payment_methods: a card PaymentMethod from raw details (publishable keys allowed, as Stripe.js)."""
    params = p.check(ctx.params, CREATE_PARAMS)
    if "card" not in params or params["card"] is None:
        raise invalid("Missing required param: card.", param="card", code="parameter_missing")
    payment_method, private = payment_method_object(
        ctx, params["card"], params.get("billing_details"), params.get("metadata"), params.get("allow_redisplay")
    )
    with ctx.store.transaction():
        save(ctx, payment_method, private)
    return expand(ctx, payment_method, params.get("expand", []))


def retrieve_payment_method(ctx: Context, payment_method_id: str) -> dict[str, Any]:
    """GET /v1/payment_methods/{id} (a test id answers a fresh PaymentMethod of its card)."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    if payment_method_id in TEST_PAYMENT_METHODS:
        payment_method, _ = _test_payment_method(ctx, payment_method_id)
    else:
        payment_method = get_object(ctx, "payment_methods", "payment_method", payment_method_id)
    return expand(ctx, payment_method, params.get("expand", []))


def update_payment_method(ctx: Context, payment_method_id: str) -> dict[str, Any]:
    """POST /v1/payment_methods/{id}: billing_details, metadata, allow_redisplay."""
    params = p.check(
        ctx.params,
        {
            "billing_details": (p.hash_of(BILLING_DETAILS), False),
            "metadata": (p.metadata, False),
            "allow_redisplay": (p.enum("always", "limited", "unspecified"), False),
            "expand": (p.string_list, False),
        },
    )
    with ctx.store.transaction():
        payment_method = get_object(ctx, "payment_methods", "payment_method", payment_method_id)
        before = copy.deepcopy(payment_method)
        if params.get("billing_details") is not None:
            merged = {**payment_method["billing_details"], **params["billing_details"]}
            merged["address"] = {
                **payment_method["billing_details"]["address"],
                **(params["billing_details"].get("address") or {}),
            }
            payment_method["billing_details"] = billing_details_object(merged)
        if "metadata" in params:
            payment_method["metadata"] = merge_metadata(payment_method["metadata"], params["metadata"])
        if params.get("allow_redisplay"):
            payment_method["allow_redisplay"] = params["allow_redisplay"]
        previous = changes(before, payment_method, ["billing_details", "metadata", "allow_redisplay"])
        if previous:
            ctx.store.update("payment_methods", payment_method)
            ctx.emit("payment_method.updated", payment_method, previous)
    return expand(ctx, payment_method, params.get("expand", []))


def attach_payment_method(ctx: Context, payment_method_id: str) -> dict[str, Any]:
    """POST /v1/payment_methods/{id}/attach: save the card to a customer (a declining card fails, as Stripe)."""
    params = p.check(ctx.params, {"customer": (p.string(), True), "expand": (p.string_list, False)})
    with ctx.store.transaction():
        customer = ctx.store.get("customers", params["customer"])
        if customer is None or customer.get("deleted"):
            raise missing("customer", params["customer"], "customer")
        payment_method = resolve(ctx, payment_method_id, "id")
        if payment_method["customer"] not in (None, customer["id"]):
            raise invalid(
                "The payment method you provided has already been attached to a customer.",
                param="payment_method",
            )
        private = private_facts(ctx, payment_method["id"])
        behaviour = card_facts.behaviour_of(private["number"], private["cvc_given"])
        # docs.stripe.com/testing: declining test cards fail when attached to a customer, except 4000000000000341.
        if behaviour.code and behaviour.declines_on_attach:
            raise decline_error(behaviour, None, param="")
        if payment_method["customer"] is None:
            payment_method["customer"] = customer["id"]
            ctx.store.update("payment_methods", payment_method)
            ctx.emit("payment_method.attached", payment_method, {"customer": None})
    return expand(ctx, payment_method, params.get("expand", []))


def detach_payment_method(ctx: Context, payment_method_id: str) -> dict[str, Any]:
    """POST /v1/payment_methods/{id}/detach: remove the card from its customer."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    with ctx.store.transaction():
        payment_method = get_object(ctx, "payment_methods", "payment_method", payment_method_id)
        if payment_method["customer"] is None:
            raise StripeError(
                400,
                "invalid_request_error",
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                code="payment_method_unexpected_state",
            )
        previous = {"customer": payment_method["customer"]}
        payment_method["customer"] = None
        ctx.store.update("payment_methods", payment_method)
        ctx.emit("payment_method.detached", payment_method, previous)
    return expand(ctx, payment_method, params.get("expand", []))


def list_payment_methods(ctx: Context) -> Any:
    """GET /v1/payment_methods: newest first, by `customer` and `type`."""
    filters = {"customer": p.string(), "type": p.enum("card")}
    return list_objects(ctx, "payment_methods", "payment_method", "/v1/payment_methods", filters, ("customer",))


def list_customer_payment_methods(ctx: Context, customer_id: str) -> Any:
    """GET /v1/customers/{id}/payment_methods: the customer's saved PaymentMethods, newest first."""
    get_object(ctx, "customers", "customer", customer_id)
    ctx.params = {**ctx.params, "customer": customer_id}
    return list_objects(
        ctx,
        "payment_methods",
        "payment_method",
        f"/v1/customers/{customer_id}/payment_methods",
        {"customer": p.string(), "type": p.enum("card")},
        ("customer",),
    )


def retrieve_customer_payment_method(ctx: Context, customer_id: str, payment_method_id: str) -> dict[str, Any]:
    """GET /v1/customers/{id}/payment_methods/{pm}: one of the customer's saved PaymentMethods
    (docs.stripe.com/api/payment_methods/customer); another customer's, or an unattached one, is not found."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    get_object(ctx, "customers", "customer", customer_id)
    payment_method = ctx.store.get("payment_methods", payment_method_id)
    if payment_method is None or payment_method["customer"] != customer_id:
        raise missing("payment_method", payment_method_id)
    return expand(ctx, payment_method, params.get("expand", []))
