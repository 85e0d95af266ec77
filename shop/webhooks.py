"""Stripe's webhooks: verify a delivery, then apply its event once to the local copy and to the orders.

`handle(body, signature, secret)` is the whole endpoint (the HTTP glue is in ui/server.py, which stops reading a
body past MAX_BODY_BYTES): the signature is checked on the raw body with `stripe.WebhookSignature.verify_header`
(docs.stripe.com/webhooks/signature: a `Stripe-Signature` header `t=…,v1=…`, HMAC-SHA256 of "t.body", five
minutes of tolerance for old timestamps; the SDK checks none for future ones, so FUTURE_SKEW_S is checked here).

A signature proves only that the sender holds the endpoint's secret. So the delivered body is used for its event id
alone: the event itself is retrieved from Stripe (`GET /v1/events/{id}`) and Stripe's copy is what gets applied. A
secret that leaked can then make the shop re-read real events, never write an object Stripe does not have (a
forged charge, an altered amount). A delivery whose id Stripe does not know, or whose type or object differs from
Stripe's event of that id, is refused with a 400. Stripe's copy goes through the event sync's own path
(`shop.sync.apply_delivered_events`, then `shop.checkout.reconcile.settle_synced_charges`), so an event a webhook
applied is skipped by the next sync and the other way round. The sync stays the fallback: it still reads every event
from its cursor, so deliveries an endpoint missed are caught up by it.

Stripe may deliver an event late, twice, or after a newer one (docs.stripe.com/webhooks, "Handle duplicate events" and
"Event ordering"). Each event id is applied once; a copy older than the stored one never replaces it; when the stored
copy is from the same second (no way to tell which is newer) or the event carries another object (a refund, a dispute),
the charge is retrieved from Stripe and that copy is stored. Orders: `payment_intent.succeeded` (and a charge of an
intent) settles an unpaid order through `shop.checkout.intents.settle_order` (a customer who closed the tab after
confirming); `checkout.session.completed`, `.async_payment_succeeded` and `.async_payment_failed` through
`shop.checkout.sessions.settle_session` (a bank debit settling days later); a charge of the Charges flow runs
`shop.checkout.reconcile.reconcile_pending` for its order; refunds reach orders through the sync's order step. The order
work runs before the event is marked applied, so when Stripe does not answer the endpoint says 503 and Stripe's retry
does it all again.

In emulator mode the app registers its own endpoint (`ensure_endpoint`) and keeps the endpoint's id and secret in
the database (`sync_state`), so every process serving that URL verifies with the same secret; with real Stripe
the secret comes from STRIPE_WEBHOOK_SECRET (`stripe listen` prints one; so does a Dashboard endpoint).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
import stripe

from shop import attempts, orders
from shop.checkout import intents, reconcile, sessions
from shop.db import get_engine, upsert
from shop.lease import Lease
from shop.schema import applied_events, charges, disputes, refunds, sync_state
from shop.stripe_io import client_or_default, field

log = logging.getLogger(__name__)

PATH = "/webhooks/stripe"
TOLERANCE_S = 300  # the SDK's default, Stripe's recommendation (docs.stripe.com/webhooks/signature)
# How far ahead of this machine's clock a signature's timestamp may be: clocks of NTP-synced hosts differ by far
# less than a minute, and `stripe.WebhookSignature.verify_header` refuses only timestamps in the past.
FUTURE_SKEW_S = 60
# The largest body the endpoint reads. A Stripe event is a few kilobytes (one object; lists inside it carry at most
# a page of items), so 1 MiB leaves ample room while a client sending gigabytes is cut off after 1 MiB.
MAX_BODY_BYTES = 1024 * 1024
# Stripe's event ids: "evt_" and letters, digits and underscores (a test clock's and a Connect account's too).
_EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,100}")
_OBJECTS_WITH_ID = ("charge", "refund", "dispute", "payment_intent")
# What the app's own endpoint asks for (docs.stripe.com/api/events/types); the sync reads every event anyway.
ENABLED_EVENTS = [
    "charge.succeeded",
    "charge.failed",
    "charge.captured",
    "charge.expired",
    "charge.refunded",
    "charge.updated",
    "charge.refund.updated",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "payment_intent.succeeded",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
]
# The events of a Checkout Session that settle its order (docs.stripe.com/payments/checkout/fulfill-orders): a
# completed session (paid, or a bank debit processing), and a debit that settled later either way.
SESSION_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed"}
)
ENDPOINT_LEASE = "webhook-endpoint"
_ENDPOINT_KEY = "webhook_endpoint:"  # + the endpoint's URL: {"id": "we_…", "secret": "whsec_…"} in sync_state
RETRIEVED_PREFIX = "rtv_"  # ids of the pseudo-events carrying objects retrieved for an event (`applied_events`)

Result = tuple[int, str]


def handle(
    body: bytes,
    signature: str | None,
    secret: str | None,
    *,
    client: stripe.StripeClient | None = None,
    engine: sa.Engine | None = None,
) -> Result:
    """Verify one delivery and apply Stripe's copy of its event; returns the HTTP status and a short message.

    400 for a missing, malformed or wrong signature, a timestamp more than TOLERANCE_S old or FUTURE_SKEW_S ahead,
    a body that is not a well-formed event, or an event Stripe does not have as delivered; 413 for a body over
    MAX_BODY_BYTES; 503 when no secret is configured or Stripe did not answer (Stripe retries); 200 otherwise, also
    for an event applied before and for event types the shop has no use for.
    """
    if not secret:
        log.error("A webhook arrived but no secret is configured: set STRIPE_WEBHOOK_SECRET.")
        return 503, "No webhook secret is configured."
    if not signature:
        return 400, "Missing Stripe-Signature header."
    if len(body) > MAX_BODY_BYTES:
        return 413, "Body too large."
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance=TOLERANCE_S)
    except stripe.SignatureVerificationError:
        return 400, "Bad signature."
    except ValueError:  # not UTF-8
        return 400, "Invalid payload."
    if signed_at(signature) > time.time() + FUTURE_SKEW_S:
        log.warning("webhook: a signed delivery's timestamp is in the future; refused")
        return 400, "Timestamp in the future."
    try:
        delivered = json.loads(body)
    except ValueError:
        return 400, "Invalid payload."
    problem = malformed(delivered)
    if problem:
        log.warning("webhook: a signed delivery is not a well-formed event: %s", problem)
        return 400, problem
    engine = engine or get_engine()
    if _applied(engine, delivered["id"]):
        return 200, "Already applied."
    client = client_or_default(client)
    try:
        event = client.raw_request("get", f"/v1/events/{delivered['id']}").data
    except stripe.StripeError as exc:
        if isinstance(exc, stripe.InvalidRequestError) and exc.http_status == 404:
            log.warning("webhook: Stripe has no event %s; a signed delivery was refused", delivered["id"])
            return 400, "Stripe has no such event."
        log.warning("webhook %s: Stripe did not answer; the sender will retry", delivered["id"], exc_info=True)
        return 503, "Stripe did not answer; try again."
    if malformed(event) or _identity(event) != _identity(delivered):
        log.warning("webhook: delivery %s differs from Stripe's event of that id; refused", delivered["id"])
        return 400, "The event differs from Stripe's."
    return apply_event(event, client=client, engine=engine)


def signed_at(header: str) -> int:
    """The timestamp of a `Stripe-Signature` header the SDK verified: its first `t=`, read as the SDK reads it."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


def malformed(event: Any) -> str | None:
    """Why a parsed body is not a well-formed Stripe event, or None when it is one.

    An event is an object with an `evt_` id, a type, an integer `created` and a `data.object` naming its kind;
    charges, refunds, disputes and intents also carry their id.
    """
    if not isinstance(event, dict):
        return "Not an event."
    if not isinstance(event.get("id"), str) or not _EVENT_ID.fullmatch(event["id"]):
        return "The event has no valid id."
    if not isinstance(event.get("type"), str):
        return "The event has no type."
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        return "The event has no valid created time."
    obj = field(event, "data", "object")
    if not isinstance(obj, dict) or not isinstance(obj.get("object"), str):
        return "The event carries no object."
    if obj["object"] in _OBJECTS_WITH_ID and not (isinstance(obj.get("id"), str) and obj["id"]):
        return "The event's object has no id."
    return None


def _identity(event: dict) -> tuple:
    """What a delivery and Stripe's event of the same id must share (their data may be rendered differently)."""
    obj = event["data"]["object"]
    return event["id"], event["type"], event["created"], obj["object"], obj.get("id")


def apply_event(event: dict, *, client: stripe.StripeClient | None = None, engine: sa.Engine | None = None) -> Result:
    """Apply one event as Stripe has it (a plain dict): the orders it settles, then the local copy; each id once."""
    engine = engine or get_engine()
    if _applied(engine, event["id"]):
        return 200, "Already applied."
    client = client_or_default(client)
    try:
        retrieved = _retrieved_copies(event, client, engine)
        _settle_orders(event, client)
    except (stripe.StripeError, intents.IntentUnavailable):
        log.warning("webhook %s: Stripe did not answer; the sender will retry", event["id"], exc_info=True)
        return 503, "Stripe did not answer; try again."
    fresh = reconcile.apply_and_settle([event, *retrieved], client=client, engine=engine)
    return 200, "Applied." if fresh else "Already applied."


def _applied(engine: sa.Engine, event_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(applied_events.c.id).where(applied_events.c.id == event_id)).first() is not None


def _stored_created(engine: sa.Engine, table: sa.Table, object_id: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(table.c.event_created).where(table.c.id == object_id)).scalar()


def _retrieved_copies(event: dict, client: stripe.StripeClient, engine: sa.Engine) -> list[dict]:
    """Pseudo-events carrying objects retrieved from Stripe where the event's own copy may not be the newest.

    A charge event whose stored copy is from the same second: retrieve the charge. A refund event: the charge too
    (its refunded amount moved; a failed refund moves it back), and the refund when its stored copy is from the
    same second. A dispute event: the charge (its `disputed` flag), and the dispute when its stored copy is from the
    same second (a dispute changes several times in a second when the bank decides). A stored copy from a later
    second already wins.
    """
    obj = event["data"]["object"]
    kind, created = obj.get("object"), int(event["created"])
    wanted: list[tuple[str, str]] = []
    if kind == "charge":
        if _stored_created(engine, charges, obj["id"]) == created:
            wanted.append(("charges", obj["id"]))
    elif kind in ("refund", "dispute"):
        charge_id = obj.get("charge")
        charge_id = charge_id.get("id") if isinstance(charge_id, Mapping) else charge_id
        if kind == "refund" and _stored_created(engine, refunds, obj["id"]) == created:
            wanted.append(("refunds", obj["id"]))
        if kind == "dispute" and _stored_created(engine, disputes, obj["id"]) == created:
            wanted.append(("disputes", obj["id"]))
        if charge_id:
            wanted.append(("charges", charge_id))
    copies = []
    for resource, object_id in wanted:
        found = client.raw_request("get", f"/v1/{resource}/{object_id}").data
        copies.append(
            {
                # Derived from the event and the object, within the 64 characters of `applied_events.id`.
                "id": RETRIEVED_PREFIX + hashlib.sha256(f"{event['id']} {object_id}".encode()).hexdigest()[:40],
                "object": "event",
                "created": created,  # never newer than the event: a later event must still win over this copy
                "type": f"{found.get('object')}.retrieved",
                "data": {"object": found},
            }
        )
    return copies


def _settle_orders(event: dict, client: stripe.StripeClient) -> None:
    """Move the order an event is about: a paid intent or a completed (or later settled) Checkout Session settles
    it; a Charges-flow charge reconciles its attempts."""
    obj = event["data"]["object"]
    kind, event_type = obj.get("object"), event.get("type") or ""
    order_id = field(obj, "metadata", "order_id")
    if kind == "payment_intent" and event_type == "payment_intent.succeeded":
        _settle_intent_order(order_id, obj.get("id"), client)
    elif kind == "checkout.session" and event_type in SESSION_EVENTS:
        order = orders.get_order(order_id) if order_id else None
        if order is not None and not order.paid_at:
            sessions.settle_session(obj["id"], client=client)  # from the session as Stripe has it now
    elif kind == "charge" and event_type in ("charge.succeeded", "charge.captured"):
        intent_id = obj.get("payment_intent")
        if intent_id:
            _settle_intent_order(order_id, intent_id, client)
        elif order_id and any(a.order_id == order_id for a in attempts.unsettled_attempts()):
            reconcile.reconcile_pending(client, order_id=order_id)


def _settle_intent_order(order_id: str | None, intent_id: str | None, client: stripe.StripeClient) -> None:
    order = orders.get_order(order_id) if order_id else None
    if order is None or order.paid_at or not intent_id or order.payment_intent_id != intent_id:
        return  # not our order, already paid, or an intent the order no longer uses
    intents.settle_order(order.id, client=client)


# ------------------------------------------------------------------------- the app's own endpoint (emulator)


def _state_key(url: str) -> str:
    return _ENDPOINT_KEY + url


def stored_secret(url: str, *, engine: sa.Engine | None = None) -> str | None:
    """The secret of the endpoint registered for `url` (emulator mode), or None before it is registered."""
    with (engine or get_engine()).connect() as conn:
        value = conn.execute(sa.select(sync_state.c.value).where(sync_state.c.key == _state_key(url))).scalar()
    return json.loads(value)["secret"] if value else None


def _stored_endpoint(engine: sa.Engine, url: str) -> dict | None:
    with engine.connect() as conn:
        value = conn.execute(sa.select(sync_state.c.value).where(sync_state.c.key == _state_key(url))).scalar()
    return json.loads(value) if value else None


def ensure_endpoint(url: str, *, client: stripe.StripeClient | None = None, engine: sa.Engine | None = None) -> str:
    """Make sure Stripe (the emulator) has an enabled endpoint for `url` whose secret the database holds; its id.

    Keeps the stored endpoint while Stripe still has it enabled at that URL. Otherwise (first start, an emulator
    reset, a lost secret) deletes any other endpoint for the URL, whose secret nobody has, and creates a new one;
    the endpoint's `secret` is returned on create only (docs.stripe.com/api/webhook_endpoints/create). One process
    at a time registers (a lease), so replicas sharing the database share one endpoint.
    """
    engine = engine or get_engine()
    client = client_or_default(client)
    lease = Lease(engine, ENDPOINT_LEASE, 30.0)
    if not lease.take(30.0):
        raise TimeoutError("Another process is registering the webhook endpoint.")
    try:
        stored = _stored_endpoint(engine, url)
        if stored:
            try:
                found = client.v1.webhook_endpoints.retrieve(stored["id"])
            except stripe.InvalidRequestError:
                found = None  # gone (the emulator was reset)
            if found is not None and found.url == url and found.status == "enabled":
                enabled = set(found.enabled_events or [])
                if "*" not in enabled and not set(ENABLED_EVENTS) <= enabled:  # registered before an event was added
                    client.v1.webhook_endpoints.update(stored["id"], params={"enabled_events": ENABLED_EVENTS})
                return stored["id"]
        for endpoint in client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter():
            if endpoint.url == url:
                client.v1.webhook_endpoints.delete(endpoint.id)
        created = client.v1.webhook_endpoints.create(
            params={"url": url, "enabled_events": ENABLED_EVENTS, "description": "Stripe Press Shop"}
        )
        with engine.begin() as conn:
            value = json.dumps({"id": created.id, "secret": created.secret})
            upsert(conn, sync_state, [{"key": _state_key(url), "value": value}])
        log.info("registered webhook endpoint %s for %s", created.id, url)
        return created.id
    finally:
        lease.release()
