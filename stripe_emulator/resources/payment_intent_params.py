"""The parameters of `/v1/payment_intents` requests, and the pinned API version's defaults for a new intent.

Schemas follow docs.stripe.com/api/payment_intents/create, /update and /confirm for the pinned version.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import params as p
from stripe_emulator.core import new_id
from stripe_emulator.errors import invalid
from stripe_emulator.resources import payment_methods as pms
from stripe_emulator.resources.bank_debits import BANK_DETAILS


def list_of(schema: dict[str, tuple[p.Converter, bool]]) -> p.Converter:
    """An array of hashes, each checked against `schema` (`x[0][a]=…&x[1][a]=…`)."""

    def convert(value: Any, name: str) -> list[dict[str, Any]]:
        if value == "":
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise invalid("Invalid array", param=name)
        return [p.check(item, schema, prefix=f"{name}[{index}]") for index, item in enumerate(value)]

    return convert


TAX = {"total_tax_amount": (p.integer(minimum=0), True)}
# docs.stripe.com/api/payment_intents/create#create_payment_intent-amount_details-line_items
LINE_ITEM = {
    "product_name": (p.string(1024), True),
    "quantity": (p.integer(minimum=1), True),
    "unit_cost": (p.integer(minimum=0), True),
    "discount_amount": (p.integer(minimum=0), False),
    "product_code": (p.string(12), False),
    "unit_of_measure": (p.string(12), False),
    "tax": (p.hash_of(TAX), False),
    "payment_method_options": (lambda value, name: value, False),
}
AMOUNT_DETAILS = {
    "line_items": (list_of(LINE_ITEM), False),
    "discount_amount": (p.integer(minimum=0), False),
    "shipping": (
        p.hash_of(
            {
                "amount": (p.integer(minimum=0), False),
                "from_postal_code": (p.string(10), False),
                "to_postal_code": (p.string(10), False),
            }
        ),
        False,
    ),
    "tax": (p.hash_of(TAX), False),
}

PAYMENT_METHOD_DATA = {
    **pms.CREATE_PARAMS,
    # A confirm may also pay with a US bank account (ACH Direct Debit) or Klarna (a redirect): see
    # other_payment_methods.py. POST /v1/payment_methods itself stays card-only.
    "type": (p.enum("card", "us_bank_account", "klarna"), True),
    "us_bank_account": (p.hash_of(BANK_DETAILS), False),
    "klarna": (p.hash_of({"dob": (lambda value, name: value, False)}), False),
    "expand": (p.string_list, False),
}
CONFIRM_PARAMS = {
    "payment_method": (p.string(), False),
    "payment_method_data": (p.hash_of(PAYMENT_METHOD_DATA), False),
    "payment_method_options": (lambda value, name: value, False),
    "payment_method_types": (p.string_list, False),
    "return_url": (p.string(2048), False),
    "use_stripe_sdk": (p.boolean, False),
    "off_session": (p.boolean, False),
    "error_on_requires_action": (p.boolean, False),
    "receipt_email": (p.email, False),
    "shipping": (p.hash_of(p.SHIPPING), False),
    "setup_future_usage": (p.enum("off_session", "on_session"), False),
    "capture_method": (p.enum("automatic", "automatic_async", "manual"), False),
    "mandate_data": (lambda value, name: value, False),
    "expected_payment_method_type": (p.string(), False),
    "client_secret": (p.string(), False),
    "expand": (p.string_list, False),
}
CREATE_PARAMS = {
    "amount": (p.integer(), True),
    "currency": (p.string(), True),
    "automatic_payment_methods": (
        p.hash_of({"enabled": (p.boolean, True), "allow_redirects": (p.enum("always", "never"), False)}),
        False,
    ),
    "customer": (p.string(), False),
    "description": (p.string(1000), False),
    "metadata": (p.metadata, False),
    "statement_descriptor": (p.string(22), False),
    "statement_descriptor_suffix": (p.string(22), False),
    "transfer_group": (p.string(), False),
    "confirm": (p.boolean, False),
    "confirmation_method": (p.enum("automatic", "manual"), False),
    "amount_details": (p.hash_of(AMOUNT_DETAILS), False),
    **{name: rule for name, rule in CONFIRM_PARAMS.items() if name != "client_secret"},
}
UPDATE_PARAMS = {
    "amount": (p.integer(), False),
    "currency": (p.string(), False),
    "customer": (p.string(), False),
    "description": (p.string(1000), False),
    "metadata": (p.metadata, False),
    "payment_method": (p.string(), False),
    "payment_method_types": (p.string_list, False),
    "receipt_email": (p.email, False),
    "shipping": (p.hash_of(p.SHIPPING), False),
    "setup_future_usage": (p.enum("off_session", "on_session"), False),
    "capture_method": (p.enum("automatic", "automatic_async", "manual"), False),
    "amount_details": (p.hash_of(AMOUNT_DETAILS), False),
    "statement_descriptor": (p.string(22), False),
    "statement_descriptor_suffix": (p.string(22), False),
    "transfer_group": (p.string(), False),
    "expand": (p.string_list, False),
}
UPDATED_AS_GIVEN = (
    "description", "receipt_email", "setup_future_usage", "capture_method", "transfer_group", "statement_descriptor",
    "statement_descriptor_suffix", "payment_method_types",
)  # fmt: skip


def amount_details_object(intent_id: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """An intent's `amount_details`: the tip, and the line items, shipping, tax and discount when given."""
    details: dict[str, Any] = {"tip": {}}
    if not given:
        return details
    for key in ("discount_amount", "shipping", "tax"):
        if given.get(key) is not None:
            details[key] = given[key]
    if given.get("line_items"):
        items = [
            {
                "id": new_id("uli_"),
                "object": "payment_intent_amount_details_line_item",
                "discount_amount": item.get("discount_amount"),
                "payment_method_options": item.get("payment_method_options"),
                "product_code": item.get("product_code"),
                "product_name": item["product_name"],
                "quantity": item["quantity"],
                "tax": item.get("tax"),
                "unit_cost": item["unit_cost"],
                "unit_of_measure": item.get("unit_of_measure"),
            }
            for item in given["line_items"]
        ]
        url = f"/v1/payment_intents/{intent_id}/amount_details_line_items"
        details["line_items"] = {"object": "list", "data": items, "has_more": False, "url": url}
    return details


def automatic_payment_methods(params: dict[str, Any]) -> dict[str, Any] | None:
    """`automatic_payment_methods` of a new intent under the pinned version.

    docs.stripe.com/changelog/2023-08-16/automatic-payment-methods: without `payment_method_types`, automatic
    payment methods are enabled by default (redirects allowed unless `allow_redirects=never`)."""
    given = params.get("automatic_payment_methods")
    if params.get("payment_method_types") and not given:
        return None
    given = given or {"enabled": True}
    return {"allow_redirects": given.get("allow_redirects", "always"), "enabled": given["enabled"]}


# docs.stripe.com/changelog/2024-04-10: `automatic_async` is the default capture method of a new intent.
DEFAULT_CAPTURE_METHOD = "automatic_async"
RETURN_URL_REQUIRED = (
    "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these "
    "payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't "
    "want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents."
)


def check_redirect_rules(intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Stripe's 400s for confirming an intent whose automatic payment methods may redirect.

    docs.stripe.com/changelog/2023-08-16/automatic-payment-methods: such a confirm needs a `return_url` unless
    `off_session=true` (or `allow_redirects=never`), and cannot use `error_on_requires_action`. Stripe.js
    (`use_stripe_sdk`) handles any next action in the page itself, so its confirms are not refused here."""
    automatic = intent.get("automatic_payment_methods") or {}
    if not automatic.get("enabled"):
        return
    if params.get("error_on_requires_action"):
        raise invalid(
            "You cannot use `error_on_requires_action` with a PaymentIntent that has `automatic_payment_methods` "
            "enabled. Use `payment_method_types` instead.",
            param="error_on_requires_action",
        )
    redirects = automatic.get("allow_redirects") != "never"
    if redirects and not (params.get("return_url") or params.get("off_session") or params.get("use_stripe_sdk")):
        raise invalid(RETURN_URL_REQUIRED, param="return_url")
