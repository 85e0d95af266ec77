"""shop.webhooks against a private emulator: signatures, each event once, out-of-order copies, orders settled.

The deliveries here are signed by the test itself (HMAC-SHA256 of "t.body", header `t=…,v1=…`), with the events
the emulator recorded for real API calls.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from shop import catalog, db, orders, schema, sync, webhooks
from shop.checkout import charges, intents
from shop.config import get_settings
from shop.db import get_engine
from tests.support import Emulator, free_port, running_emulator, use_emulator
from tests.support_data import CHECKOUT_DETAILS, CUSTOMER

SECRET = "whsec_test_secret_of_this_module"
HAMMING = "art-of-doing-science"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator: Emulator, database_url: str):
    """A fresh store (SQLite and PostgreSQL) and an empty account on the module's emulator."""
    use_emulator(monkeypatch, private_emulator, tmp_path, database_url)
    private_emulator.reset()
    yield private_emulator.client()
    private_emulator.client().raw_request("post", "/_emulator/clock", frozen_time="")


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def body_of(event) -> bytes:
    return json.dumps(event.to_dict() if hasattr(event, "to_dict") else event).encode()


def deliver(event, client, **kwargs) -> tuple[int, str]:
    body = body_of(event)
    return webhooks.handle(body, sign(body, **kwargs), SECRET, client=client)


def events_of(api, type_: str, object_id: str | None = None) -> list:
    """The emulator's events of `type_` (about `object_id`), oldest first."""
    found = [
        event
        for event in api.v1.events.list(params={"limit": 100, "type": type_}).auto_paging_iter()
        if object_id is None or event.data.object.id == object_id
    ]
    return list(reversed(found))


def set_clock(api, when: int | None) -> None:
    api.raw_request("post", "/_emulator/clock", frozen_time="" if when is None else str(when))


def stored_charge(charge_id: str) -> dict | None:
    with get_engine().connect() as conn:
        row = conn.execute(sa.select(schema.charges).where(schema.charges.c.id == charge_id)).mappings().first()
    return dict(row) if row else None


def charge(api, **params):
    return api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa", **params})


# ------------------------------------------------------------------------------------------------ signatures


def test_a_good_signature_is_applied_to_the_copy(api):
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)

    status, _ = deliver(event, api)

    assert status == 200
    assert stored_charge(made.id)["amount"] == 2300


@pytest.mark.parametrize(
    "case",
    ["tampered body", "wrong secret", "timestamp outside the tolerance", "missing header", "garbage header"],
)
def test_a_bad_or_missing_signature_is_a_400_and_changes_nothing(api, case):
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    body = body_of(event)
    header = sign(body)
    if case == "tampered body":
        body = body.replace(b'"amount": 2300', b'"amount": 1')
        assert b'"amount": 1' in body
    elif case == "wrong secret":
        header = sign(body, secret="whsec_someone_else")
    elif case == "timestamp outside the tolerance":
        header = sign(body, at=int(time.time()) - webhooks.TOLERANCE_S - 30)
    elif case == "missing header":
        header = None
    else:
        header = "not a signature"
    version = db.data_version()

    status, _ = webhooks.handle(body, header, SECRET, client=api)

    assert status == 400
    assert stored_charge(made.id) is None
    assert db.data_version() == version


def test_no_configured_secret_answers_503_so_stripe_retries(api):
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    body = body_of(event)

    assert webhooks.handle(body, sign(body), None, client=api)[0] == 503
    assert stored_charge(made.id) is None


# ------------------------------------------------------------------- a signature is not enough: Stripe's copy wins


def forged(event, **changes) -> dict:
    """A copy of `event` as plain JSON, with `changes` to its charge (a "created" key changes the event's time)."""
    copy = json.loads(body_of(event))
    if "created" in changes:
        copy["created"] = changes.pop("created")
    copy["data"]["object"].update(changes)
    return copy


def test_a_signed_event_stripe_never_sent_writes_nothing(api):
    # Whoever holds the endpoint's secret can sign anything: a charge of $999,999 that Stripe never made.
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    fake = forged(event, id="ch_forged0000000000000000", amount=99_999_900, amount_captured=99_999_900)
    fake["id"] = "evt_forged0000000000000000"
    version = db.data_version()

    status, _ = deliver(fake, api)

    assert status == 400
    assert stored_charge("ch_forged0000000000000000") is None
    assert db.data_version() == version


def test_a_signed_altered_copy_of_a_real_event_stores_what_stripe_has(api):
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    altered = forged(event, amount=1, amount_captured=1, receipt_email="=HYPERLINK(1)")

    assert deliver(altered, api)[0] == 200

    stored = stored_charge(made.id)
    assert (stored["amount"], stored["receipt_email"]) == (2300, None)


def test_a_signed_altered_copy_under_a_new_event_id_cannot_overwrite_a_charge_and_the_sync_agrees(api):
    sync.sync(api)
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    assert deliver(event, api)[0] == 200
    # A later `created` would have won over Stripe's copy for good: no event of Stripe's is newer.
    altered = forged(event, amount=1, amount_captured=1, created=event.created + 3600)
    altered["id"] = "evt_altered000000000000000"

    assert deliver(altered, api)[0] == 400
    sync.sync(api, full=False)

    assert stored_charge(made.id)["amount"] == 2300


def test_a_delivery_whose_type_differs_from_stripes_event_of_that_id_is_refused(api):
    made = charge(api)
    api.v1.refunds.create(params={"charge": made.id})
    (event,) = events_of(api, "charge.succeeded", made.id)
    relabelled = forged(event)
    relabelled["type"] = "charge.refunded"

    assert deliver(relabelled, api)[0] == 400
    assert stored_charge(made.id) is None


@pytest.mark.parametrize(("ahead_s", "status"), [(4000, 400), (webhooks.FUTURE_SKEW_S + 30, 400), (20, 200)])
def test_a_timestamp_ahead_of_the_clock_by_more_than_the_skew_is_refused(api, ahead_s, status):
    # stripe.WebhookSignature checks only how old a timestamp is: a signature made for an hour from now would
    # otherwise stay replayable for that hour and the five minutes after.
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)

    assert deliver(event, api, at=int(time.time()) + ahead_s)[0] == status
    assert (stored_charge(made.id) is not None) == (status == 200)


def without(event: dict, *path: str) -> dict:
    *parents, last = path
    target = event
    for name in parents:
        target = target[name]
    del target[last]
    return event


MALFORMED = {
    "a JSON list": lambda event: [event],
    "a JSON string": lambda event: "evt_1",
    "created missing": lambda event: without(event, "created"),
    "created not a number": lambda event: {**event, "created": "soon"},
    "a charge without an id": lambda event: without(event, "data", "object", "id"),
    "no data": lambda event: without(event, "data"),
    "data.object a list": lambda event: {**event, "data": {"object": []}},
    "an id that is a path": lambda event: {**event, "id": "evt_1/../../charges"},
    "an id that is a number": lambda event: {**event, "id": 7},
    "type missing": lambda event: without(event, "type"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_signed_but_malformed_event_is_a_400_never_an_error(api, case):
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    body = json.dumps(MALFORMED[case](json.loads(body_of(event)))).encode()
    version = db.data_version()

    status, _ = webhooks.handle(body, sign(body), SECRET, client=api)

    assert status == 400
    assert db.data_version() == version


def test_a_body_over_the_limit_is_a_413_before_its_signature_is_checked(api):
    body = b"x" * (webhooks.MAX_BODY_BYTES + 1)
    assert webhooks.handle(body, sign(body), SECRET, client=api)[0] == 413


# --------------------------------------------------------------------------------------- once, in any order


def test_a_duplicate_delivery_is_applied_once_and_the_sync_skips_it(api):
    sync.sync(api)  # backfilled: later events reach the copy through the cursor
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    before = db.data_version()

    first = deliver(event, api)
    second = deliver(event, api)
    report = sync.sync(api, full=False)

    assert first == (200, "Applied.")
    assert second == (200, "Already applied.")
    # One change for the delivery and one for the sync bringing the charge's fee (its balance transaction, which
    # the event names but does not carry); none for the duplicate.
    assert db.data_version() == before + 2
    fee = api.v1.balance_transactions.retrieve(made.balance_transaction).fee
    with get_engine().connect() as conn:
        assert conn.execute(sa.select(schema.charges.c.fee).where(schema.charges.c.id == made.id)).scalar() == fee
    assert report.events_applied == 0


def test_a_redelivery_hours_later_after_newer_events_were_synced_is_still_applied_once(api):
    # Stripe redelivers for up to three days (docs.stripe.com/webhooks, "Retry behavior"): the ids of applied
    # events must be kept that long, not only for the sync's one-minute overlap.
    sync.sync(api)
    start = int(time.time())
    set_clock(api, start)
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    assert deliver(event, api) == (200, "Applied.")
    set_clock(api, start + 5 * 3600)
    charge(api)
    sync.sync(api, full=False)  # applies the newer event and prunes what it may forget
    before = db.data_version()

    assert deliver(event, api, at=int(time.time())) == (200, "Already applied.")
    assert db.data_version() == before


def test_a_webhook_leaves_the_sync_cursor_so_events_the_endpoint_missed_are_still_synced(api):
    sync.sync(api)
    set_clock(api, int(time.time()) + 120)
    missed = charge(api)  # its delivery never arrived (the endpoint was down)
    set_clock(api, int(time.time()) + 300)
    delivered = charge(api)
    set_clock(api, None)
    (event,) = events_of(api, "charge.succeeded", delivered.id)
    assert deliver(event, api)[0] == 200

    report = sync.sync(api)

    assert stored_charge(missed.id) is not None
    assert report.events_applied == 1  # the missed one; the delivered one is not applied twice


def test_an_older_event_delivered_after_a_newer_one_does_not_undo_it(api):
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    paid = charges.pay_order(order.id, "tok_visa", "nonce-1", card_brand="visa", card_last4="4242")
    now = int(time.time())
    set_clock(api, now + 10)
    api.v1.refunds.create(params={"charge": paid.charge_id, "amount": 500})
    set_clock(api, now + 20)
    api.v1.refunds.create(params={"charge": paid.charge_id, "amount": 1300})
    set_clock(api, None)
    first, second = events_of(api, "charge.refunded", paid.charge_id)
    (succeeded,) = events_of(api, "charge.succeeded", paid.charge_id)

    for event in (second, first, succeeded):  # newest first
        assert deliver(event, api)[0] == 200

    assert stored_charge(paid.charge_id)["amount_refunded"] == 1800
    after = orders.get_order(order.id)
    assert (after.status, after.amount_refunded) == ("partially_refunded", 1800)


def test_a_pair_from_the_same_second_delivered_backwards_ends_in_stripes_state(api):
    set_clock(api, int(time.time()))  # both events carry the same `created`: only Stripe knows which is newer
    made = charge(api)
    api.v1.refunds.create(params={"charge": made.id, "amount": 800})
    (succeeded,) = events_of(api, "charge.succeeded", made.id)
    (refunded,) = events_of(api, "charge.refunded", made.id)
    assert succeeded.created == refunded.created

    deliver(refunded, api)
    deliver(succeeded, api)

    assert stored_charge(made.id)["amount_refunded"] == 800


def test_a_refund_event_brings_the_charge_and_the_refund_into_the_copy_and_the_order(api):
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    paid = charges.pay_order(order.id, "tok_visa", "nonce-1", card_brand="visa", card_last4="4242")
    refund = api.v1.refunds.create(params={"charge": paid.charge_id, "amount": 500})
    (created,) = events_of(api, "refund.created", refund.id)

    assert deliver(created, api)[0] == 200

    assert stored_charge(paid.charge_id)["amount_refunded"] == 500
    with get_engine().connect() as conn:
        refund_ids = conn.execute(sa.select(schema.refunds.c.id)).scalars().all()
    assert refund_ids == [refund.id]
    after = orders.get_order(order.id)
    assert (after.status, after.amount_refunded) == ("partially_refunded", 500)


# ------------------------------------------------------------------------------------------------ orders


def test_a_payment_whose_tab_closed_after_confirming_is_settled_by_payment_intent_succeeded(api):
    prepared = intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, 1, client=api)
    intent = api.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    assert orders.get_order(prepared.order.id).paid_at is None  # the page never heard back
    (event,) = events_of(api, "payment_intent.succeeded", intent.id)

    assert deliver(event, api)[0] == 200

    after = orders.get_order(prepared.order.id)
    assert after.status == "paid"
    assert after.charge_id == intent.latest_charge


def test_when_stripe_does_not_answer_the_event_is_not_marked_applied(api, monkeypatch):
    prepared = intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, 1, client=api)
    intent = api.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    (event,) = events_of(api, "payment_intent.succeeded", intent.id)

    def unreachable(*_args, **_kwargs):
        raise intents.IntentUnavailable("Stripe did not answer")

    with monkeypatch.context() as patch:
        patch.setattr(intents, "settle_order", unreachable)
        assert deliver(event, api)[0] == 503
    assert orders.get_order(prepared.order.id).paid_at is None

    assert deliver(event, api) == (200, "Applied.")  # Stripe's retry
    assert orders.get_order(prepared.order.id).status == "paid"


def test_an_event_of_a_type_the_shop_ignores_is_acknowledged(api):
    customer = api.v1.customers.create(params={"email": "x@example.com"})
    (event,) = events_of(api, "customer.created", customer.id)

    assert deliver(event, api)[0] == 200


def test_a_body_that_is_not_json_is_a_400(api):
    body = b"not json"
    assert webhooks.handle(body, sign(body), SECRET, client=api)[0] == 400


def test_the_sdk_accepts_what_the_test_signs(api):
    # The tests above sign by hand; this pins that the hand signature is the one Stripe's SDK checks.
    body = b'{"id": "evt_1", "object": "event"}'
    assert stripe.Webhook.construct_event(body, sign(body), SECRET).id == "evt_1"


# ------------------------------------------------------------------------------- the route, and a dead endpoint


class AppServer:
    """The app's webhook route (ui.server.routes) served by uvicorn on `port`, in a thread of this process."""

    def __init__(self, port: int) -> None:
        import uvicorn
        from starlette.applications import Starlette

        from ui.server import routes

        config = uvicorn.Config(Starlette(routes=routes()), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> AppServer:
        self.thread.start()
        wait_until(lambda: self.server.started, "the webhook server to start")
        return self

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.05)  # polling interval of a wait-for-condition


@pytest.fixture(scope="module")
def fast_retry_emulator(tmp_path_factory: pytest.TempPathFactory):
    """An emulator of this module whose failed deliveries are retried after 0.5, 1, 1 and 2 s."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRIPE_EMULATOR_WEBHOOK_RETRIES", "0.5,1,1,2")
        with running_emulator(tmp_path_factory.mktemp("fast-retry-emulator")) as emu:
            yield emu


@pytest.fixture
def delivering(fast_retry_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty account whose one endpoint posts to a free port where nothing listens yet; its secret is set."""
    use_emulator(monkeypatch, fast_retry_emulator, tmp_path)
    fast_retry_emulator.reset()
    api = fast_retry_emulator.client()
    port = free_port()
    endpoint = api.v1.webhook_endpoints.create(
        params={"url": f"http://127.0.0.1:{port}{webhooks.PATH}", "enabled_events": webhooks.ENABLED_EVENTS}
    )
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", endpoint.secret)
    get_settings.cache_clear()
    return api, port


def deliveries(api) -> list[dict]:
    return api.raw_request("get", "/_emulator/deliveries").data["data"]


def test_the_route_answers_200_to_a_signed_delivery_and_400_without_a_signature(delivering):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui.server import routes

    api, _port = delivering
    made = charge(api)
    (event,) = events_of(api, "charge.succeeded", made.id)
    body = body_of(event)
    client = TestClient(Starlette(routes=routes()))

    good = client.post(
        webhooks.PATH, content=body, headers={"Stripe-Signature": sign(body, get_settings().webhook_secret)}
    )
    missing = client.post(webhooks.PATH, content=body)

    assert (good.status_code, missing.status_code) == (200, 400)
    assert stored_charge(made.id)["amount"] == 2300


def test_an_endpoint_down_for_a_while_catches_up_by_retries_and_applies_nothing_twice(delivering):
    api, port = delivering
    sync.sync(api)
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    paid = charges.pay_order(order.id, "tok_visa", "nonce-1", card_brand="visa", card_last4="4242")
    api.v1.refunds.create(params={"charge": paid.charge_id, "amount": 500})
    wait_until(lambda: all(d["attempts"] for d in deliveries(api)), "a first, failed try of every delivery")
    assert stored_charge(paid.charge_id) is None  # nothing arrived while the endpoint was down

    with AppServer(port):
        wait_until(lambda: all(d["state"] == "succeeded" for d in deliveries(api)), "the retries to succeed")
    report = sync.sync(api)

    answers = [attempt.get("response_body") for d in deliveries(api) for attempt in d["attempts"]]
    assert answers.count("Applied.") == len(deliveries(api))  # each event applied once, by its retry
    assert report.events_applied == 0  # and the sync found nothing left to apply
    assert stored_charge(paid.charge_id)["amount_refunded"] == 500
    assert orders.get_order(order.id).amount_refunded == 500


def test_an_endpoint_down_past_every_retry_loses_nothing_the_sync_applies_it(delivering):
    api, _port = delivering
    sync.sync(api)
    made = charge(api)
    wait_until(
        lambda: deliveries(api) and all(d["state"] != "pending" for d in deliveries(api)), "the retries to run out"
    )

    report = sync.sync(api)

    assert stored_charge(made.id)["amount"] == 2300
    assert report.events_applied >= 1
