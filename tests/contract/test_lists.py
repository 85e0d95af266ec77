"""Lists: newest first, limit, starting_after / ending_before cursors, created and customer filters."""

from __future__ import annotations

import pytest
import stripe

from tests.contract.calls import charge


@pytest.fixture
def five_charges(stripe_client):
    """A fresh customer's five charges, newest first."""
    customer = stripe_client.v1.customers.create(params={"source": "tok_visa", "email": "lists@example.com"})
    created = [
        stripe_client.v1.charges.create(params={"amount": 100 * (n + 1), "currency": "usd", "customer": customer.id})
        for n in range(5)
    ]
    return customer.id, [item.id for item in reversed(created)]


def test_list_is_newest_first_with_has_more(stripe_client, five_charges):
    customer, ids = five_charges
    page = stripe_client.v1.charges.list(params={"customer": customer, "limit": 2})
    assert page.object == "list"
    assert page.url == "/v1/charges"
    assert [item.id for item in page.data] == ids[:2]
    assert page.has_more is True
    full = stripe_client.v1.charges.list(params={"customer": customer, "limit": 5})
    assert [item.id for item in full.data] == ids
    assert full.has_more is False


def test_starting_after_pages_towards_older(stripe_client, five_charges):
    customer, ids = five_charges
    page = stripe_client.v1.charges.list(params={"customer": customer, "limit": 2, "starting_after": ids[1]})
    assert [item.id for item in page.data] == ids[2:4]
    assert page.has_more is True


def test_ending_before_gives_the_nearest_newer_page(stripe_client, five_charges):
    customer, ids = five_charges
    page = stripe_client.v1.charges.list(params={"customer": customer, "limit": 2, "ending_before": ids[4]})
    assert [item.id for item in page.data] == ids[2:4]
    assert page.has_more is True
    top = stripe_client.v1.charges.list(params={"customer": customer, "limit": 2, "ending_before": ids[1]})
    assert [item.id for item in top.data] == ids[:1]
    assert top.has_more is False


def test_auto_paging_both_ways(stripe_client, five_charges):
    customer, ids = five_charges
    forward = stripe_client.v1.charges.list(params={"customer": customer, "limit": 2}).auto_paging_iter()
    assert [item.id for item in forward] == ids
    backward = stripe_client.v1.charges.list(
        params={"customer": customer, "limit": 2, "ending_before": ids[4]}
    ).auto_paging_iter()
    assert [item.id for item in backward] == list(reversed(ids[:4]))


def test_created_filters(stripe_client, five_charges):
    customer, ids = five_charges
    newest = stripe_client.v1.charges.retrieve(ids[0])
    oldest = stripe_client.v1.charges.retrieve(ids[-1])
    inside = stripe_client.v1.charges.list(
        params={"customer": customer, "created": {"gte": oldest.created, "lte": newest.created}, "limit": 10}
    )
    assert [item.id for item in inside.data] == ids
    after = stripe_client.v1.charges.list(params={"customer": customer, "created": {"gt": newest.created}})
    assert after.data == []
    exact = stripe_client.v1.charges.list(params={"customer": customer, "created": newest.created, "limit": 10})
    assert ids[0] in [item.id for item in exact.data]


def test_limit_bounds(stripe_client):
    assert len(stripe_client.v1.charges.list(params={"limit": 1}).data) <= 1
    for bad in (0, 101):
        with pytest.raises(stripe.InvalidRequestError) as info:
            stripe_client.v1.charges.list(params={"limit": bad})
        assert info.value.param == "limit"


def test_unknown_cursor_is_an_error(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.list(params={"starting_after": "ch_doesNotExist000000000000"})
    assert info.value.param == "starting_after"


def test_default_limit_is_ten(stripe_client):
    for _ in range(11):
        charge(stripe_client, amount=60)
    assert len(stripe_client.v1.charges.list().data) == 10


def test_unknown_list_filter_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.list(params={"status": "failed"})
    assert info.value.param == "status"
