"""Search: `GET /v1/charges/search`, `/v1/payment_intents/search`, `/v1/customers/search`.

The fields each resource can be searched by are those of docs.stripe.com/search#query-fields-for-charges,
#query-fields-for-customers and #query-fields-for-paymentintents (metadata on all three); the query language
and paging are stripe_emulator/query.py's. Unlike Stripe, whose search index lags writes by up to a minute
("don't use search for read-after-write flows"), an object is searchable here as soon as it is written.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import params as p
from stripe_emulator import query
from stripe_emulator.core import Context
from stripe_emulator.errors import invalid
from stripe_emulator.query import NUMERIC, STRING, TOKEN

SEARCH_PARAMS = {
    "query": (p.string(10_000), True),
    "limit": (p.integer(1, 100), False),
    "page": (p.string(), False),
    "expand": (p.string_list, False),
}

query.register(
    query.Searchable(
        "charges",
        "charges",
        query.fields(
            {
                "amount": NUMERIC,
                "billing_details.address.postal_code": STRING,
                "created": NUMERIC,
                "currency": TOKEN,
                "customer": TOKEN,
                "disputed": TOKEN,
                "payment_method_details.card.last4": TOKEN,
                "refunded": TOKEN,
                "status": TOKEN,
            }
        ),
    )
)
query.register(
    query.Searchable(
        "customers",
        "customers",
        query.fields({"created": NUMERIC, "email": STRING, "name": STRING, "phone": STRING}),
        hidden=lambda customer: bool(customer.get("deleted")),
    )
)
query.register(
    query.Searchable(
        "payment_intents",
        "payment_intents",
        query.fields({"amount": NUMERIC, "created": NUMERIC, "currency": TOKEN, "customer": TOKEN, "status": TOKEN}),
    )
)


def _search(ctx: Context, table: str, url: str) -> Any:
    params = p.check(ctx.params, SEARCH_PARAMS)
    if params["query"] is None:
        raise invalid("Missing required param: query.", param="query", code="parameter_missing")
    return query.search(ctx, table, url, params)


def search_charges(ctx: Context) -> Any:
    """GET /v1/charges/search (docs.stripe.com/api/charges/search)."""
    return _search(ctx, "charges", "/v1/charges/search")


def search_customers(ctx: Context) -> Any:
    """GET /v1/customers/search (docs.stripe.com/api/customers/search)."""
    return _search(ctx, "customers", "/v1/customers/search")


def search_payment_intents(ctx: Context) -> Any:
    """GET /v1/payment_intents/search (docs.stripe.com/api/payment_intents/search)."""
    return _search(ctx, "payment_intents", "/v1/payment_intents/search")
