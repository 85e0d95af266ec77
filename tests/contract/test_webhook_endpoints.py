"""Webhook endpoints (docs.stripe.com/api/webhook_endpoints), through the SDK only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import stripe


@pytest.fixture
def hook_url(real_stripe: bool) -> str:
    """A URL each API accepts: Stripe wants a public one, the emulator posts only to loopback by default."""
    return "https://example.com/contract-hooks" if real_stripe else "http://127.0.0.1:9/contract-hooks"


@pytest.fixture
def made(stripe_client: stripe.StripeClient) -> Iterator[list[str]]:
    """Ids of the endpoints a test creates, deleted afterwards."""
    ids: list[str] = []
    yield ids
    for endpoint_id in ids:
        with contextlib.suppress(stripe.InvalidRequestError):  # the test deleted it itself
            stripe_client.v1.webhook_endpoints.delete(endpoint_id)


def create(client: stripe.StripeClient, made: list[str], url: str, **params: Any) -> Any:
    endpoint = client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["charge.succeeded"], **params})
    made.append(endpoint.id)
    return endpoint


def test_create_answers_the_endpoint_with_its_secret(stripe_client, made, hook_url):
    endpoint = create(
        stripe_client,
        made,
        hook_url,
        enabled_events=["charge.succeeded", "charge.refunded"],
        description="contract",
        metadata={"suite": "contract"},
    )
    assert endpoint.id.startswith("we_")
    assert endpoint.object == "webhook_endpoint"
    assert endpoint.url == hook_url
    assert endpoint.enabled_events == ["charge.succeeded", "charge.refunded"]
    assert endpoint.status == "enabled"
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.description == "contract"
    assert endpoint.metadata.to_dict() == {"suite": "contract"}
    assert endpoint.livemode is False
    assert isinstance(endpoint.created, int)


def test_the_secret_is_shown_on_create_only(stripe_client, made, hook_url):
    endpoint = create(stripe_client, made, hook_url)
    retrieved = stripe_client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert retrieved.id == endpoint.id
    assert retrieved.url == hook_url
    assert "secret" not in retrieved
    listed = [item for item in stripe_client.v1.webhook_endpoints.list(params={"limit": 100}).data]
    assert endpoint.id in [item.id for item in listed]
    assert all("secret" not in item for item in listed)
    updated = stripe_client.v1.webhook_endpoints.update(endpoint.id, params={"description": "renamed"})
    assert "secret" not in updated


def test_star_enables_every_event(stripe_client, made, hook_url):
    endpoint = create(stripe_client, made, hook_url, enabled_events=["*"])
    assert stripe_client.v1.webhook_endpoints.retrieve(endpoint.id).enabled_events == ["*"]


def test_update_events_url_and_disabled(stripe_client, made, hook_url):
    endpoint = create(stripe_client, made, hook_url)
    other = hook_url + "/other"
    updated = stripe_client.v1.webhook_endpoints.update(
        endpoint.id, params={"enabled_events": ["charge.failed"], "url": other, "disabled": True}
    )
    assert (updated.enabled_events, updated.url, updated.status) == (["charge.failed"], other, "disabled")
    again = stripe_client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": False})
    assert again.status == "enabled"
    assert stripe_client.v1.webhook_endpoints.retrieve(endpoint.id).url == other


def test_list_is_newest_first_with_cursors(stripe_client, made, hook_url):
    first = create(stripe_client, made, hook_url)
    second = create(stripe_client, made, hook_url)
    page = stripe_client.v1.webhook_endpoints.list(params={"limit": 1})
    assert page.object == "list"
    assert [item.id for item in page.data] == [second.id]
    assert page.has_more is True
    following = stripe_client.v1.webhook_endpoints.list(params={"limit": 1, "starting_after": second.id})
    assert [item.id for item in following.data] == [first.id]


def test_delete_then_it_is_gone(stripe_client, made, hook_url):
    endpoint = create(stripe_client, made, hook_url)
    deleted = stripe_client.v1.webhook_endpoints.delete(endpoint.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (endpoint.id, "webhook_endpoint", True)
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


@pytest.mark.parametrize("action", ["retrieve", "update", "delete"])
def test_unknown_ids_are_404s(stripe_client, action):
    call = getattr(stripe_client.v1.webhook_endpoints, action)
    with pytest.raises(stripe.InvalidRequestError) as info:
        call("we_doesnotexist000", params={"description": "x"}) if action == "update" else call("we_doesnotexist000")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"
    assert info.value.param == "id"


@pytest.mark.parametrize("missing", ["url", "enabled_events"])
def test_url_and_enabled_events_are_required(stripe_client, hook_url, missing):
    params = {"url": hook_url, "enabled_events": ["charge.succeeded"]}
    del params[missing]
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.webhook_endpoints.create(params=params)
    assert info.value.http_status == 400
    assert info.value.param == missing


def test_an_unknown_parameter_is_refused(stripe_client, hook_url):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.webhook_endpoints.create(
            params={"url": hook_url, "enabled_events": ["charge.succeeded"], "colour": "blue"}  # type: ignore[typeddict-unknown-key]
        )
    assert info.value.http_status == 400
    assert info.value.param == "colour"


def test_a_url_that_is_no_url_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.webhook_endpoints.create(params={"url": "not a url", "enabled_events": ["charge.succeeded"]})
    assert info.value.http_status == 400
    assert info.value.param == "url"
