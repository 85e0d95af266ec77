"""Keys and error shapes: live or malformed keys, publishable keys, unknown routes."""

from __future__ import annotations

import pytest
import stripe


@pytest.mark.parametrize("bad_key", ["sk_live_" + "0" * 24, "sk_test", "not-a-key"])
def test_live_or_malformed_keys_are_refused(make_client, bad_key):
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(bad_key).v1.charges.list()
    assert info.value.http_status == 401
    assert bad_key not in info.value.user_message or len(bad_key) < 12


def test_a_publishable_key_cannot_list_charges(publishable_client):
    with pytest.raises((stripe.AuthenticationError, stripe.PermissionError)):
        publishable_client.v1.charges.list()


def test_unknown_route_is_stripes_404(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.raw_request("get", "/v1/no_such_things")
    assert info.value.http_status == 404
    assert "Unrecognized request URL" in info.value.user_message


def test_every_response_has_a_request_id(stripe_client):
    page = stripe_client.v1.charges.list(params={"limit": 1})
    assert page.last_response.request_id.startswith("req_")


@pytest.mark.parametrize("amount", ["１２３４", "١٢٣٤", "12３4"], ids=["full-width", "arabic-indic", "mixed"])
def test_an_amount_in_digits_other_than_ascii_is_refused(stripe_client, amount):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.charges.create(params={"amount": amount, "currency": "usd", "source": "tok_visa"})
    assert info.value.http_status == 400
    assert info.value.param == "amount"
