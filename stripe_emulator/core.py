"""What every resource shares: ids, the clock, the request context and its events, metadata, amounts, lists, expand.

A resource module (`stripe_emulator/resources/`) holds one Stripe object kind: its object builder, its rules and
its handlers. Each handler takes a `Context` and returns the JSON body (or `(status, body)`); it raises
`StripeError` for Stripe's error answers. `app.py` wraps handlers with auth, parsing and idempotency.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import re
import secrets
import string as _string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator import money
from stripe_emulator import params as p
from stripe_emulator.errors import invalid, missing
from stripe_emulator.store import Store

API_VERSION = "2026-10-28.endive"
# A version is a date, with a release name since 2024-09-30 ("2024-09-30.acacia"); the first is 2011-01-01.
_VERSION = re.compile(r"(\d{4})-(\d{2})-(\d{2})(\.[a-z]+)?")
FIRST_API_VERSION = dt.date(2011, 1, 1)
_ALPHABET = _string.ascii_letters + _string.digits


def requested_api_version(header: str | None) -> str:
    """The API version a request asks for with `Stripe-Version` (the account's when absent), or Stripe's 400.

    docs.stripe.com/api/versioning: a request may set the version it is written for. Any dated version up to this
    emulator's own is answered (objects keep this emulator's shapes); other values are refused as Stripe does."""
    if not header:
        return API_VERSION
    match = _VERSION.fullmatch(header.strip())
    try:
        day = dt.date(*(int(part) for part in match.groups()[:3])) if match else None
    except ValueError:
        day = None
    newest = dt.date.fromisoformat(API_VERSION.split(".")[0])
    if day is None or not FIRST_API_VERSION <= day <= newest:
        raise invalid(f"Invalid Stripe API version: {header}")
    return header.strip()


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-like id: prefix + random base62."""
    number = int.from_bytes(secrets.token_bytes(length), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return prefix + "".join(chars)


class Clock:
    """'Now' for every object: real time unless frozen for seeding history."""

    def __init__(self) -> None:
        self.frozen: int | None = None

    def now(self) -> int:
        """The current Unix time of the emulated account."""
        return self.frozen if self.frozen is not None else int(time.time())


@dataclass
class Context:
    """What a handler needs to know about the request it serves."""

    store: Store
    clock: Clock
    params: dict[str, Any]
    request_id: str
    base_url: str
    client_ip: str | None = None
    idempotency_key: str | None = None
    now: int = 0
    expand: list[str] = field(default_factory=list)
    publishable: bool = False  # the request was made with a publishable key (as Stripe.js does)
    webhook_hosts: frozenset[str] = frozenset()  # hosts besides loopback that webhook endpoints may point at
    webhooks_queued: int = 0  # deliveries this request queued: the worker is woken once it has committed

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        """Record Stripe's event for a state change, with the object as it is now (stored serialized at once)."""
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": type_,
        }
        for hook in EVENT_HOOKS:  # e.g. queueing its webhook deliveries, which sets pending_webhooks
            hook(self, event)
        self.store.insert("events", event)
        for follower in EVENT_FOLLOWERS:  # e.g. a Checkout Session completed by its PaymentIntent's success
            follower(self, event)


# Functions called with each new event before it is stored, in the same transaction.
EVENT_HOOKS: list[Callable[[Context, dict[str, Any]], None]] = []
# Functions called with each new event once it is stored, in the same transaction: the events they emit follow it.
EVENT_FOLLOWERS: list[Callable[[Context, dict[str, Any]], None]] = []


def changes(before: dict[str, Any], after: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """previous_attributes: the old values of the keys that changed (metadata per key, as Stripe)."""
    previous: dict[str, Any] = {}
    for key in keys:
        if before.get(key) == after.get(key):
            continue
        if key == "metadata":
            old, new = before.get(key) or {}, after.get(key) or {}
            previous[key] = {k: old.get(k, "") for k in set(old) | set(new) if old.get(k) != new.get(k)}
        else:
            previous[key] = before.get(key)
    return previous


def merge_metadata(current: dict[str, str], update: dict[str, str | None]) -> dict[str, str]:
    """Stripe's metadata update: '' for the whole hash clears it, a None value removes one key."""
    if update == {}:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# ---------------------------------------------------------------- amounts


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    """Stripe's bounds on an amount: positive, at least the currency's minimum, at most eight digits."""
    minimum = money.MINIMUM.get(currency, 1)
    if amount < 1:
        raise invalid(f"Invalid positive integer: {amount}", param=param)
    if amount < minimum:
        raise invalid(
            f"Amount must be at least {money.display(minimum, currency)} {currency}",
            param=param,
            code="amount_too_small",
        )
    if amount > money.MAXIMUM:
        raise invalid(
            f"Amount must be no more than {money.display(money.MAXIMUM, currency)}",
            param=param,
            code="amount_too_large",
        )


def check_currency(value: str | None) -> str:
    """A supported currency code, lower-cased."""
    currency = (value or "").lower()
    if currency not in money.SUPPORTED:
        raise invalid(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(money.SUPPORTED)),
            param="currency",
        )
    return currency


def shipping_object(shipping: dict[str, Any] | None) -> dict[str, Any] | None:
    """A charge's or intent's `shipping` with every address key present."""
    if shipping is None:
        return None
    address = {key: None for key in p.ADDRESS}
    address.update(shipping.get("address") or {})
    return {
        "address": address,
        "carrier": shipping.get("carrier"),
        "name": shipping.get("name"),
        "phone": shipping.get("phone"),
        "tracking_number": shipping.get("tracking_number"),
    }


def apply_updates(obj: dict[str, Any], params: dict[str, Any], keys: tuple[str, ...]) -> None:
    """An update's plain `keys` copied from `params` when given; `shipping` and `metadata` updated as Stripe does."""
    for key in keys:
        if key in params:
            obj[key] = params[key]
    if "shipping" in params:
        obj["shipping"] = shipping_object(params["shipping"])
    if "metadata" in params:
        obj["metadata"] = merge_metadata(obj["metadata"], params["metadata"])


# ---------------------------------------------------------------- lists


def list_response(url: str, objects: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """Stripe's list object."""
    return {"object": "list", "data": objects, "has_more": has_more, "url": url}


def created_where(created: dict[str, int] | None) -> list[tuple[str, list[Any]]]:
    """SQL clauses for a `created` filter."""
    ops = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    return [(f"created {ops[op]} ?", [value]) for op, value in (created or {}).items()]


@dataclass
class RawList:
    """A list page whose objects are still the stored JSON texts: sent as they are, without parsing them."""

    url: str
    bodies: list[str]
    has_more: bool

    def render(self) -> str:
        """The list's JSON text."""
        head = json.dumps({"object": "list", "has_more": self.has_more, "url": self.url})[:-1]
        return head + ', "data": [' + ",".join(self.bodies) + "]}"


def paginate(
    ctx: Context, table: str, kind: str, url: str, where: list[tuple[str, list[Any]]]
) -> dict[str, Any] | RawList:
    """Stripe's cursor pagination over a table, newest first (unparsed when nothing is to be expanded)."""
    limit = ctx.params.get("limit", 10)
    after = before = None
    if ctx.params.get("starting_after"):
        after = ctx.store.position(table, ctx.params["starting_after"])
        if after is None:
            raise missing(kind, ctx.params["starting_after"], "starting_after")
    elif ctx.params.get("ending_before"):
        before = ctx.store.position(table, ctx.params["ending_before"])
        if before is None:
            raise missing(kind, ctx.params["ending_before"], "ending_before")
    raw = not ctx.params.get("expand")
    objects, has_more = ctx.store.page(table, where, limit, after, before, raw=raw)
    return RawList(url, objects, has_more) if raw else list_response(url, objects, has_more)


def list_objects(
    ctx: Context,
    table: str,
    kind: str,
    url: str,
    filters: dict[str, p.Converter],
    columns: tuple[str, ...] = (),
    json_fields: tuple[str, ...] = (),
    where: list[tuple[str, list[Any]]] | None = None,
    conditions: dict[str, Callable[[Any], tuple[str, list[Any]]]] | None = None,
) -> dict[str, Any] | RawList:
    """A list endpoint: pagination, `created` and the given filters (on indexed `columns` or JSON fields).

    `conditions` build the SQL condition of a filter that is not a plain equality (a list of ids, a boolean, a
    converted value) from its checked value, when the request gives one (`false` included)."""
    ctx.params = p.check(
        ctx.params,
        {**p.PAGINATION, "created": (p.created_filter, False), **{n: (c, False) for n, c in filters.items()}},
    )
    clauses = created_where(ctx.params.get("created")) + list(where or [])
    for name in columns:
        if ctx.params.get(name):
            clauses.append((f"{name} = ?", [ctx.params[name]]))
    for name in json_fields:
        if ctx.params.get(name):
            clauses.append((f"json_extract(body, '$.{name}') = ?", [ctx.params[name]]))
    for name, condition in (conditions or {}).items():
        if ctx.params.get(name) not in (None, "", []):
            clauses.append(condition(ctx.params[name]))
    return expand(ctx, paginate(ctx, table, kind, url, clauses), ctx.params.get("expand", []))


@contextlib.contextmanager
def updating(ctx: Context, table: str, kind: str, object_id: str, stamp: str | None = None) -> Iterator[dict[str, Any]]:
    """An update endpoint's object, to change in place, in one transaction: when the block ends, the object is
    stored and `<kind>.updated` recorded with the previous values of what changed, if anything did (and `stamp`,
    a field like a product's `updated`, set to now). An error in the block stores nothing."""
    with ctx.store.transaction():
        obj = get_object(ctx, table, kind, object_id)
        before = copy.deepcopy(obj)
        yield obj
        previous = changes(before, obj, list(obj))
        if previous:
            if stamp is not None:
                obj[stamp] = ctx.now
            ctx.store.update(table, obj)
            ctx.emit(f"{kind}.updated", obj, previous)


def set_given(obj: dict[str, Any], params: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Set those of `keys` the request gives to their values, and merge its `metadata` (Stripe's update)."""
    for key in keys:
        if key in params:
            obj[key] = params[key]
    if "metadata" in params:
        obj["metadata"] = merge_metadata(obj["metadata"], params["metadata"])


# ---------------------------------------------------------------- retrieval


def get_object(ctx: Context, table: str, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
    """A stored object, or Stripe's resource_missing error (404 for the path id, 400 for a parameter)."""
    obj = ctx.store.get(table, object_id)
    if obj is None:
        raise missing(kind, object_id, param)
    return obj


def retrieve(ctx: Context, table: str, kind: str, object_id: str) -> dict[str, Any]:
    """A retrieve endpoint: the object by id, with `expand[]`."""
    params = p.check(ctx.params, {"expand": (p.string_list, False)})
    return expand(ctx, get_object(ctx, table, kind, object_id), params.get("expand", []))


# ---------------------------------------------------------------- expansion

# (object type, field) -> the table the id in that field refers to
EXPANDABLE: dict[tuple[str, str], str] = {
    ("charge", "customer"): "customers",
    ("card", "customer"): "customers",
    ("refund", "charge"): "charges",
    ("refund", "payment_intent"): "payment_intents",
    ("payment_method", "customer"): "customers",
    ("payment_intent", "customer"): "customers",
    ("payment_intent", "payment_method"): "payment_methods",
    ("payment_intent", "latest_charge"): "charges",
    ("charge", "payment_intent"): "payment_intents",
}
# docs.stripe.com/api/expanding_objects: "Expansions have a maximum depth of four levels (for example, the deepest
# expansion allowed when listing charges is data.payment_intent.customer.default_source)."
MAX_EXPAND_DEPTH = 4
# (object type, "field.inner") -> table: an id inside a hash field (customer.invoice_settings.default_payment_method)
NESTED_EXPANDABLE: dict[tuple[str, str], str] = {}
# (object type, field) -> a function filling that field in place (lists and fields that are already objects)
SPECIAL_EXPANSIONS: dict[tuple[str, str], Callable[[Context, dict[str, Any]], None]] = {}


def _expand_charge_refunds(ctx: Context, charge: dict[str, Any]) -> None:
    objects, has_more = ctx.store.page("refunds", [("charge = ?", [charge["id"]])], 100)
    charge["refunds"] = list_response(f"/v1/charges/{charge['id']}/refunds", objects, has_more)


SPECIAL_EXPANSIONS[("charge", "refunds")] = _expand_charge_refunds
SPECIAL_EXPANSIONS[("charge", "source")] = lambda ctx, charge: None  # already an object


def expand(ctx: Context, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Replace ids by objects for the requested `expand[]` paths that this emulator can expand."""
    if not paths:
        return obj
    for path in paths:
        if path.count(".") >= MAX_EXPAND_DEPTH:
            raise invalid(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        head, _, rest = path.partition(".")
        inner, _, inner_rest = rest.partition(".")
        nested = (obj.get("object"), f"{head}.{inner}")
        if nested in NESTED_EXPANDABLE and isinstance(obj.get(head), dict):
            container = obj[head]
            if isinstance(container.get(inner), str):
                container[inner] = ctx.store.get(NESTED_EXPANDABLE[nested], container[inner]) or container[inner]
            if inner_rest and isinstance(container.get(inner), dict):
                expand(ctx, container[inner], [inner_rest])
            continue
        if obj.get("object") == "list" and head == "data":
            for item in obj["data"]:
                expand(ctx, item, [rest])
            continue
        if head in obj and obj[head] is None:
            continue  # an expandable field that is empty stays null, as Stripe answers

        kind = (obj.get("object"), head)
        if kind in EXPANDABLE:
            value = obj.get(head)
            if isinstance(value, str):
                obj[head] = ctx.store.get(EXPANDABLE[kind], value) or value
        elif kind in SPECIAL_EXPANSIONS:
            SPECIAL_EXPANSIONS[kind](ctx, obj)
        else:
            raise invalid(f"This property cannot be expanded ({path}).", param="expand")
        if rest and isinstance(obj.get(head), dict):
            expand(ctx, obj[head], [rest])
    return obj
