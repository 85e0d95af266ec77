"""Webhook endpoints: `/v1/webhook_endpoints`, where the emulator posts each new event (see webhooks.py).

The object, its parameters and the secret shown on creation only follow docs.stripe.com/api/webhook_endpoints.
Creating an event queues one delivery per enabled endpoint whose `enabled_events` match it (`*` matches every
type) and sets the event's `pending_webhooks` to their number (docs.stripe.com/api/events/object).
"""

from __future__ import annotations

import re
import secrets
import time
import urllib.parse
from typing import Any

from stripe_emulator import params as p
from stripe_emulator.core import (
    EVENT_HOOKS,
    Context,
    apply_updates,
    get_object,
    list_objects,
    merge_metadata,
    new_id,
)
from stripe_emulator.errors import invalid
from stripe_emulator.guards import host_name, is_loopback
from stripe_emulator.resources.events import retrieve_event

# An event type such as `charge.succeeded` or `charge.refund.updated`, or `*` for all of them.
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_URL_LENGTH = 2048


def _enabled_events(value: Any, name: str) -> list[str]:
    events = p.string_list(value, name)
    if not events:
        raise invalid(f"Invalid array: {name} must contain at least one event type.", param=name)
    for index, event_type in enumerate(events):
        if event_type != "*" and not _EVENT_TYPE.match(event_type):
            raise invalid(
                f"Invalid {name}[{index}]: must be `*` or an event type such as `charge.succeeded`.",
                param=f"{name}[{index}]",
            )
    return events


def url_allowed(url: str, extra_hosts: frozenset[str] | set[str]) -> bool:
    """Whether the emulator may post to `url`: http(s) to a loopback host or one of `extra_hosts`."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    name = host_name(parts.hostname)
    return is_loopback(name) or name in extra_hosts


def _checked_url(ctx: Context, value: Any, name: str) -> str:
    url = p.string(MAX_URL_LENGTH)(value, name)
    parts = urllib.parse.urlsplit(url or "")
    if url is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"Invalid URL: {url or ''!r}. A webhook URL must be an http or https URL.", param=name)
    if not url_allowed(url, ctx.webhook_hosts):
        raise invalid(
            f"Invalid URL: {url!r}. The emulator posts webhooks only to loopback hosts (localhost, 127.0.0.1, "
            "::1) and hosts allowed with --allow-host or STRIPE_EMULATOR_ALLOWED_HOSTS.",
            param=name,
        )
    return url


CREATE_FIELDS = {
    "url": (p.string(MAX_URL_LENGTH), True),
    "enabled_events": (_enabled_events, True),
    "api_version": (p.string(), False),
    "connect": (p.boolean, False),
    "description": (p.string(5000), False),
    "metadata": (p.metadata, False),
    "expand": (p.string_list, False),
}
UPDATE_FIELDS = {
    "url": (p.string(MAX_URL_LENGTH), False),
    "enabled_events": (_enabled_events, False),
    "disabled": (p.boolean, False),
    "description": (p.string(5000), False),
    "metadata": (p.metadata, False),
    "expand": (p.string_list, False),
}


def webhook_endpoint_object(ctx: Context, params: dict[str, Any], url: str) -> dict[str, Any]:
    """The endpoint as Stripe shows it (docs.stripe.com/api/webhook_endpoints/object), without its secret."""
    return {
        "id": new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": params.get("api_version"),
        "application": None,
        "created": ctx.now,
        "description": params.get("description"),
        "enabled_events": params["enabled_events"],
        "livemode": False,
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "status": "enabled",
        "url": url,
    }


def endpoint_secret(store: Any, endpoint_id: str) -> str | None:
    """The whsec_ secret deliveries to an endpoint are signed with."""
    record = store.get("webhook_endpoint_secrets", endpoint_id)
    return None if record is None else record["secret"]


def create_webhook_endpoint(ctx: Context) -> dict[str, Any]:
    """POST /v1/webhook_endpoints: the answer alone carries the `secret` ("Only returned at creation")."""
    params = p.check(ctx.params, CREATE_FIELDS)
    url = _checked_url(ctx, ctx.params["url"], "url")
    endpoint = webhook_endpoint_object(ctx, params, url)
    secret = "whsec_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
    with ctx.store.transaction():
        ctx.store.insert("webhook_endpoints", endpoint)
        ctx.store.insert("webhook_endpoint_secrets", {"id": endpoint["id"], "created": ctx.now, "secret": secret})
    return {**endpoint, "secret": secret}


def retrieve_webhook_endpoint(ctx: Context, endpoint_id: str) -> dict[str, Any]:
    """GET /v1/webhook_endpoints/{id} (no secret)."""
    p.check(ctx.params, {"expand": (p.string_list, False)})
    return get_object(ctx, "webhook_endpoints", "webhook endpoint", endpoint_id)


def update_webhook_endpoint(ctx: Context, endpoint_id: str) -> dict[str, Any]:
    """POST /v1/webhook_endpoints/{id}: `url`, `enabled_events`, `disabled`, `description`, `metadata`."""
    params = p.check(ctx.params, UPDATE_FIELDS)
    with ctx.store.transaction():
        endpoint = get_object(ctx, "webhook_endpoints", "webhook endpoint", endpoint_id)
        if "url" in params:
            params["url"] = _checked_url(ctx, ctx.params["url"], "url")
        apply_updates(endpoint, params, ("url", "enabled_events", "description"))
        if "disabled" in params:
            endpoint["status"] = "disabled" if params["disabled"] else "enabled"
        ctx.store.update("webhook_endpoints", endpoint)
    return endpoint


def delete_webhook_endpoint(ctx: Context, endpoint_id: str) -> dict[str, Any]:
    """DELETE /v1/webhook_endpoints/{id}: gone for good; its pending deliveries stop."""
    p.check(ctx.params, {})
    with ctx.store.transaction():
        get_object(ctx, "webhook_endpoints", "webhook endpoint", endpoint_id)
        ctx.store.delete("webhook_endpoints", endpoint_id)
        ctx.store.delete("webhook_endpoint_secrets", endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def list_webhook_endpoints(ctx: Context) -> Any:
    """GET /v1/webhook_endpoints: newest first, Stripe's cursors."""
    return list_objects(ctx, "webhook_endpoints", "webhook endpoint", "/v1/webhook_endpoints", {})


def matches(endpoint: dict[str, Any], event_type: str) -> bool:
    """Whether an enabled endpoint subscribes to `event_type` (`*` for every type)."""
    wanted = endpoint["enabled_events"]
    return endpoint["status"] == "enabled" and ("*" in wanted or event_type in wanted)


def _queue(ctx: Context, event: dict[str, Any], endpoints: list[dict[str, Any]], *, resend: bool = False) -> None:
    now = time.time()
    for endpoint in endpoints:
        ctx.store.insert(
            "webhook_deliveries",
            {
                "id": new_id("wd_"),
                "object": "webhook_delivery",
                "created": int(now),
                "event": event["id"],
                "event_type": event["type"],
                "endpoint": endpoint["id"],
                "url": endpoint["url"],
                "state": "pending",
                "next_attempt_at": now,
                "attempts": [],
                "resend": resend,
            },
        )
    ctx.webhooks_queued += len(endpoints)


def queue_deliveries(ctx: Context, event: dict[str, Any]) -> None:
    """Queue the event for each matching endpoint (same transaction as the event) and count them in
    `pending_webhooks`: "Number of webhooks that haven't been successfully delivered" (docs.stripe.com/api/events)."""
    endpoints = [e for e in ctx.store.select("webhook_endpoints", [], limit=10_000) if matches(e, event["type"])]
    _queue(ctx, event, endpoints)
    event["pending_webhooks"] = len(endpoints)


def resend_event(ctx: Context, event_id: str) -> dict[str, Any]:
    """`POST /_emulator/events/{id}/resend[?webhook_endpoint=we_…]`: deliver an event again, as the Stripe CLI's
    `stripe events resend evt_… --webhook-endpoint=we_…` does (docs.stripe.com/cli/events/resend): to the given
    endpoint, else to every endpoint its type matches. Events older than 30 days cannot be resent. The receiver
    sees the same event id again, so a handler that applies each event once ignores it."""
    p.check(ctx.params, {"webhook_endpoint": (p.string(255), False)})
    wanted = ctx.params.pop("webhook_endpoint", None)
    event = retrieve_event(ctx, event_id)
    if wanted:
        endpoints = [get_object(ctx, "webhook_endpoints", "webhook_endpoint", wanted, param="webhook_endpoint")]
    else:
        endpoints = [e for e in ctx.store.select("webhook_endpoints", [], limit=10_000) if matches(e, event["type"])]
    _queue(ctx, event, endpoints, resend=True)
    return {"object": "resend", "event": event_id, "webhook_endpoints": [e["id"] for e in endpoints]}


EVENT_HOOKS.append(queue_deliveries)
