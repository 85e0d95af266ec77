"""What Stripe did, for the Developers page: the events as Stripe lists them, whether this app applied each, their
webhook deliveries and a resend (the emulator's delivery log in emulator mode; with Stripe, its Dashboard and CLI).

Events come from `GET /v1/events` (newest first, 30 days kept: docs.stripe.com/api/events/list); an event's
`pending_webhooks` counts the deliveries not yet made with success (docs.stripe.com/api/events/object).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import stripe

from shop.db import get_engine
from shop.schema import applied_events

LIST_LIMIT = 100  # one page of Stripe's list: the newest events, filtered here by the object they concern
RESPONSE_START = 120  # characters of a delivery's answer shown (Stripe's Dashboard shows the start too)


@dataclass(frozen=True)
class EventRow:
    """One event as the Developers page lists it."""

    id: str
    type: str
    object_id: str
    created: datetime
    pending_webhooks: int
    applied: bool  # in this app's local copy (by its webhook or by the event sync)
    charge_id: str | None  # the charge it concerns, for a link to the charge page
    order_id: str | None


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery of an event to one endpoint, with its latest attempt."""

    endpoint_url: str
    state: str  # pending | succeeded | failed | canceled
    attempts: int
    last_status: int | None
    last_at: datetime | None
    response_start: str
    resend: bool


def _related_ids(obj: dict[str, Any]) -> set[str]:
    """The ids an event's object answers to: its own, its intent's and charge's, and the order in its metadata."""
    ids = {obj.get("id"), obj.get("payment_intent"), obj.get("charge"), obj.get("latest_charge")}
    metadata = obj.get("metadata") or {}
    ids.add(metadata.get("order_id"))
    return {value for value in ids if isinstance(value, str) and value}


def _charge_of(obj: dict[str, Any]) -> str | None:
    if obj.get("object") == "charge":
        return obj.get("id")
    for name in ("charge", "latest_charge"):
        value = obj.get(name)
        if isinstance(value, str) and value.startswith("ch_"):
            return value
    return None


def recent_events(
    client: stripe.StripeClient,
    *,
    event_type: str = "",
    object_id: str = "",
    engine: sa.Engine | None = None,
) -> list[EventRow]:
    """The newest LIST_LIMIT events (of `event_type` when given: `charge.*` style wildcards work), newest first;
    with `object_id` only those whose object is, or belongs to, that charge, intent, refund, dispute or order."""
    params: dict[str, Any] = {"limit": LIST_LIMIT}
    if event_type.strip():
        params["type"] = event_type.strip()
    events = [event.to_dict() for event in client.v1.events.list(params=params).data]
    wanted = object_id.strip()
    if wanted:
        events = [event for event in events if wanted in _related_ids(event["data"]["object"])]
    ids = [event["id"] for event in events]
    with (engine or get_engine()).connect() as conn:
        applied = set(conn.execute(sa.select(applied_events.c.id).where(applied_events.c.id.in_(ids))).scalars())
    rows = []
    for event in events:
        obj = event["data"]["object"]
        rows.append(
            EventRow(
                id=event["id"],
                type=event["type"],
                object_id=str(obj.get("id") or ""),
                created=datetime.fromtimestamp(int(event["created"]), UTC),
                pending_webhooks=int(event.get("pending_webhooks") or 0),
                applied=event["id"] in applied,
                charge_id=_charge_of(obj),
                order_id=(obj.get("metadata") or {}).get("order_id"),
            )
        )
    return rows


def deliveries(client: stripe.StripeClient, event_id: str) -> list[Delivery]:
    """The emulator's delivery log of one event (emulator mode only: Stripe shows its own in the Dashboard)."""
    answer = client.raw_request("get", "/_emulator/deliveries", event=event_id)
    found = []
    for item in json.loads(answer.body)["data"]:
        attempts = item.get("attempts") or []
        last = attempts[-1] if attempts else {}
        response = last.get("response_body") or last.get("error") or ""
        found.append(
            Delivery(
                endpoint_url=item["url"],
                state=item["state"],
                attempts=len(attempts),
                last_status=last.get("status_code"),
                last_at=datetime.fromtimestamp(last["created"], UTC) if last.get("created") else None,
                response_start=str(response)[:RESPONSE_START],
                resend=bool(item.get("resend")),
            )
        )
    return found


def resend(client: stripe.StripeClient, event_id: str) -> int:
    """Deliver an event again to every endpoint its type matches (emulator mode); the number of endpoints.

    The app applies each event id once, so a resent event changes nothing that was already applied."""
    answer = client.raw_request("post", f"/_emulator/events/{event_id}/resend")
    return len(json.loads(answer.body)["webhook_endpoints"])


def resend_command(event_id: str) -> str:
    """How to resend an event with Stripe (the CLI's `events resend`, docs.stripe.com/cli/events/resend)."""
    return f"stripe events resend {event_id} --webhook-endpoint=we_…"
