"""Search on charges, PaymentIntents and customers with Stripe's query language (docs.stripe.com/search).

Stripe's search index lags writes by up to a minute ("Don't use search for read-after-write flows"), so against
real Stripe each search is repeated until the objects just made show up; the emulator answers at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from tests.contract.calls import charge, declined


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def searched(search: Callable[..., Any], query: str, expected: int, timeout: float = 90.0, **params: Any) -> Any:
    """The search result once it holds `expected` objects (or the last one after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        result = search(params={"query": query, **params})
        if len(result.data) >= expected or time.monotonic() > deadline:
            return result
        time.sleep(2)  # polling interval: Stripe's search index catches up within about a minute


def test_charges_by_metadata_newest_first_in_a_search_result(stripe_client):
    tag = _tag()
    first = charge(stripe_client, amount=1200, metadata={"run": tag})
    second = charge(stripe_client, amount=3400, metadata={"run": tag})
    charge(stripe_client, amount=1200, metadata={"run": _tag()})
    result = searched(stripe_client.v1.charges.search, f"metadata['run']:'{tag}'", 2)
    assert result.object == "search_result"
    assert result.url == "/v1/charges/search"
    assert [item.id for item in result.data] == [second.id, first.id]
    assert result.has_more is False and result.next_page is None


def test_numeric_comparators_and_and(stripe_client):
    tag = _tag()
    small = charge(stripe_client, amount=1000, metadata={"run": tag})
    big = charge(stripe_client, amount=5000, metadata={"run": tag})
    searched(stripe_client.v1.charges.search, f"metadata['run']:'{tag}'", 2)
    over = stripe_client.v1.charges.search(params={"query": f"metadata['run']:'{tag}' AND amount>1000"})
    assert [item.id for item in over.data] == [big.id]
    at_most = stripe_client.v1.charges.search(params={"query": f"metadata['run']:'{tag}' amount<=1000"})
    assert [item.id for item in at_most.data] == [small.id]
    since = stripe_client.v1.charges.search(params={"query": f"metadata['run']:'{tag}' AND created>={small.created}"})
    assert {item.id for item in since.data} == {small.id, big.id}


def test_or_and_negation(stripe_client):
    one, other = _tag(), _tag()
    paid = charge(stripe_client, metadata={"run": one})
    failed_id = declined(stripe_client, "tok_chargeDeclined", metadata={"run": other}).json_body["error"]["charge"]
    result = searched(stripe_client.v1.charges.search, f"metadata['run']:'{one}' OR metadata['run']:'{other}'", 2)
    assert {item.id for item in result.data} == {paid.id, failed_id}
    not_failed = stripe_client.v1.charges.search(params={"query": f"metadata['run']:'{other}' -status:'failed'"})
    assert not_failed.data == []
    failed = stripe_client.v1.charges.search(params={"query": f"metadata['run']:'{other}' AND status:'failed'"})
    assert [item.id for item in failed.data] == [failed_id]


def test_last4_and_paging_with_next_page(stripe_client):
    tag = _tag()
    made = [charge(stripe_client, "tok_mastercard", amount=1000 + n, metadata={"run": tag}) for n in range(3)]
    query = f"metadata['run']:'{tag}' AND payment_method_details.card.last4:'4444'"
    searched(stripe_client.v1.charges.search, query, 3)
    first = stripe_client.v1.charges.search(params={"query": query, "limit": 2})
    assert first.has_more is True and isinstance(first.next_page, str)
    rest = stripe_client.v1.charges.search(params={"query": query, "limit": 2, "page": first.next_page})
    assert rest.has_more is False and rest.next_page is None
    assert [item.id for item in [*first.data, *rest.data]] == [item.id for item in reversed(made)]


def test_total_count_when_expanded(stripe_client):
    tag = _tag()
    for _ in range(3):
        charge(stripe_client, metadata={"run": tag})
    searched(stripe_client.v1.charges.search, f"metadata['run']:'{tag}'", 3)
    result = stripe_client.v1.charges.search(
        params={"query": f"metadata['run']:'{tag}'", "limit": 1, "expand": ["total_count"]}
    )
    assert (len(result.data), result.total_count) == (1, 3)


def test_customers_by_email_substring_and_name(stripe_client):
    tag = _tag()
    email = f"reader-{tag}@example.com"
    ada = stripe_client.v1.customers.create(params={"email": email, "name": f"Ada {tag}"})
    stripe_client.v1.customers.create(params={"email": f"other-{_tag()}@example.com", "name": "Grace"})
    exact = searched(stripe_client.v1.customers.search, f"email:'{email}'", 1)
    assert [item.id for item in exact.data] == [ada.id]
    assert exact.url == "/v1/customers/search"
    part = stripe_client.v1.customers.search(params={"query": f"email~'{tag}'"})
    assert [item.id for item in part.data] == [ada.id]
    named = stripe_client.v1.customers.search(params={"query": f"name:'Ada {tag}'"})
    assert [item.id for item in named.data] == [ada.id]


def test_payment_intents_by_metadata_and_status(stripe_client):
    tag = _tag()
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 2500, "currency": "usd", "payment_method_types": ["card"], "metadata": {"order": tag}}
    )
    paid = stripe_client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method_types": ["card"],
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"order": tag},
        }
    )
    found = searched(stripe_client.v1.payment_intents.search, f"metadata['order']:'{tag}'", 2)
    assert [item.id for item in found.data] == [paid.id, intent.id]
    assert found.url == "/v1/payment_intents/search"
    open_ones = stripe_client.v1.payment_intents.search(
        params={"query": f"metadata['order']:'{tag}' AND -status:'succeeded'"}
    )
    assert [item.id for item in open_ones.data] == [intent.id]


@pytest.mark.parametrize(
    "query",
    [
        "amount>100 AND currency:'usd' OR status:'failed'",  # AND and OR are mutually exclusive
        "no_such_field:'x'",
        "currency",  # a field with no operator or value
        "metadata['run']:",  # no value
    ],
)
def test_malformed_queries_are_refused(stripe_client, query):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.search(params={"query": query})
    assert info.value.http_status == 400


def test_a_substring_needs_three_characters(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.search(params={"query": "email~'ab'"})
    assert info.value.http_status == 400
    assert stripe_client.v1.customers.search(params={"query": f"email~'{_tag()}'"}).data == []
