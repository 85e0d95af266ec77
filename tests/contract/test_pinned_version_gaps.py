"""What the pinned API version (2026-10-28) has that the emulator once lacked; each test names its docs page."""

from __future__ import annotations

import pytest
import stripe

from tests.contract.calls import charge
from tests.contract.money import wait_for

PAID_INTENT = {
    "amount": 2300,
    "currency": "usd",
    "payment_method_types": ["card"],
    "payment_method": "pm_card_visa",
    "confirm": True,
}


def _customer_with_card(client: stripe.StripeClient) -> tuple[str, str]:
    customer = client.v1.customers.create(params={"email": "gaps@example.com"})
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    return customer.id, method.id


def test_a_customers_default_payment_method_for_invoices_is_settable_and_expandable(stripe_client):
    # docs.stripe.com/api/customers/update#update_customer-invoice_settings-default_payment_method
    customer, method = _customer_with_card(stripe_client)
    updated = stripe_client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": method}}
    )
    assert updated.invoice_settings.default_payment_method == method
    expanded = stripe_client.v1.customers.retrieve(
        customer, params={"expand": ["invoice_settings.default_payment_method"]}
    )
    assert (
        expanded.invoice_settings.default_payment_method.id,
        expanded.invoice_settings.default_payment_method.object,
    ) == (
        method,
        "payment_method",
    )
    _, someone_elses = _customer_with_card(stripe_client)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": someone_elses}}
        )


def test_a_customers_payment_method_is_retrieved_through_the_customer(stripe_client):
    # docs.stripe.com/api/payment_methods/customer
    customer, method = _customer_with_card(stripe_client)
    found = stripe_client.v1.customers.payment_methods.retrieve(customer, method)
    assert (found.id, found.customer, found.card.last4) == (method, customer, "4242")
    stranger, _ = _customer_with_card(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.payment_methods.retrieve(stranger, method)
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")


def test_a_refunds_payment_intent_expands(stripe_client):
    # docs.stripe.com/api/refunds/object#refund_object-payment_intent ("Expandable")
    intent = stripe_client.v1.payment_intents.create(params=PAID_INTENT)
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    expanded = stripe_client.v1.refunds.retrieve(refund.id, params={"expand": ["payment_intent"]})
    assert (expanded.payment_intent.id, expanded.payment_intent.object) == (intent.id, "payment_intent")


def test_expansions_go_four_levels_deep_and_no_deeper(stripe_client):
    # docs.stripe.com/api/expanding_objects: "Expansions have a maximum depth of four levels (for example, the
    # deepest expansion allowed when listing charges is data.payment_intent.customer.default_source)."
    customer, method = _customer_with_card(stripe_client)
    stripe_client.v1.payment_intents.create(params={**PAID_INTENT, "customer": customer, "payment_method": method})
    deepest = stripe_client.v1.charges.list(
        params={"customer": customer, "expand": ["data.payment_intent.customer.default_source"]}
    )
    assert deepest.data[0].payment_intent.customer.id == customer
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.list(
            params={
                "customer": customer,
                "expand": ["data.payment_intent.customer.invoice_settings.default_payment_method"],
            }
        )
    assert (info.value.http_status, info.value.param) == (400, "expand")


def test_every_error_body_has_a_request_log_url(stripe_client):
    # docs.stripe.com/api/errors#errors-request_log_url
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.retrieve("ch_doesNotExist000000000000")
    assert info.value.error.request_log_url.startswith("https://dashboard.stripe.com/")
    assert info.value.request_id in info.value.error.request_log_url
    with pytest.raises(stripe.CardError) as declined:
        charge(stripe_client, "tok_chargeDeclined")
    assert declined.value.error.request_log_url.startswith("https://dashboard.stripe.com/")


def test_listed_disputes_carry_the_fields_the_spec_requires(stripe_client):
    # Stripe's OpenAPI spec (github.com/stripe/openapi): dispute_evidence_details.submission_method and
    # dispute_payment_method_details_card.network are required
    intent = stripe_client.v1.payment_intents.create(params={**PAID_INTENT, "payment_method": "pm_card_createDispute"})
    listed = wait_for(
        lambda: stripe_client.v1.disputes.list(params={"payment_intent": intent.id}).data,
        bool,
        "the dispute",
        timeout=120,
    )
    dispute = listed[0]
    assert dispute.evidence_details.submission_method == "not_submitted"
    assert dispute.payment_method_details.card.network == "visa"
