"""Events: `/v1/events`, the record every state change leaves (written through `Context.emit`)."""

from __future__ import annotations

from typing import Any

from stripe_emulator import params as p
from stripe_emulator.core import Context, created_where, get_object, paginate
from stripe_emulator.errors import invalid, missing

# docs.stripe.com/api/events/list: "List events, going back up to 30 days"; retrieve: "if it was created in the
# last 30 days".
RETENTION_S = 30 * 24 * 3600


def list_events(ctx: Context) -> dict[str, Any]:
    """GET /v1/events: newest first; `type` (with `*` wildcards), `types[]`, `created`, `delivery_success`."""
    ctx.params = p.check(
        ctx.params,
        {
            **p.PAGINATION,
            "type": (p.string(), False),
            "types": (p.string_list, False),
            "created": (p.created_filter, False),
            "delivery_success": (p.boolean, False),
        },
    )
    if ctx.params.get("type") and ctx.params.get("types"):
        raise invalid("You may only specify one of these parameters: type, types.", param="types")
    where = created_where(ctx.params.get("created"))
    where.append(("created >= ?", [ctx.now - RETENTION_S]))
    if ctx.params.get("type"):
        pattern = ctx.params["type"]
        if "*" in pattern:
            where.append(("type GLOB ?", [pattern]))
        else:
            where.append(("type = ?", [pattern]))
    if ctx.params.get("types"):
        types = ctx.params["types"]
        if len(types) > 20:
            raise invalid("You may pass at most 20 types.", param="types")
        where.append((f"type IN ({', '.join('?' * len(types))})", types))
    if "delivery_success" in ctx.params:
        # docs.stripe.com/api/events/list: "Filter events by whether all webhooks were successfully delivered. If
        # false, events which are still pending or have failed all delivery attempts ... will be returned."
        op = "=" if ctx.params["delivery_success"] else ">"
        where.append((f"json_extract(body, '$.pending_webhooks') {op} 0", []))
    return paginate(ctx, "events", "event", "/v1/events", where)


def retrieve_event(ctx: Context, event_id: str) -> dict[str, Any]:
    """GET /v1/events/{id}."""
    p.check(ctx.params, {"expand": (p.string_list, False)})
    event = get_object(ctx, "events", "event", event_id)
    if event["created"] < ctx.now - RETENTION_S:
        raise missing("event", event_id)
    return event
