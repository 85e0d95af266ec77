"""shop.sync against a private emulator: backfill, then incremental sync from events, counting API requests."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import stripe
from stripe._http_client import new_default_http_client

from shop import (
    analytics,
    attempts,
    catalog,
    db,
    fulfilment,
    orders,
    schema,
    second_charges,
    sync,
    sync_rows,
    sync_store,
)
from shop.checkout import charges, reconcile
from shop.db import get_engine
from shop.schema import leases
from tests.support import Emulator, use_emulator
from tests.support_data import CUSTOMER


class CountingHTTPClient:
    """An SDK HTTP client that counts the requests it sends (by method and path)."""

    def __new__(cls):
        base = type(new_default_http_client())

        class _Client(base):
            def request(self, method, url, headers, post_data=None):
                self.sent.append((method, url.split("?")[0].split("/v1/")[-1]))
                return super().request(method, url, headers, post_data)

        client = _Client()
        client.sent = []
        return client


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator: Emulator, database_url: str) -> Path:
    """A fresh store (SQLite and PostgreSQL), and an empty account on this module's emulator (so request counts
    are this test's)."""
    use_emulator(monkeypatch, private_emulator, tmp_path, database_url)
    private_emulator.reset()
    return tmp_path


@pytest.fixture
def api(private_emulator, env) -> stripe.StripeClient:
    """An uncounted client, to act on Stripe 'elsewhere' (as the Dashboard or another system would)."""
    return private_emulator.client()


@pytest.fixture
def counted(private_emulator, env):
    http = CountingHTTPClient()
    client = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": private_emulator.url}, http_client=http, max_network_retries=0
    )
    return client, http


def set_clock(api: stripe.StripeClient, when: int | None) -> None:
    """Freeze the emulator's clock at `when` (None: run with real time again)."""
    api.raw_request("post", "/_emulator/clock", frozen_time="" if when is None else str(when))


class HidingClient:
    """A client whose event lists leave out some events, as when Stripe has not made them visible yet."""

    def __init__(self, client: stripe.StripeClient, hidden: set[str]) -> None:
        self.client = client
        self.hidden = hidden

    def raw_request(self, method: str, path: str, **params):
        response = self.client.raw_request(method, path, **params)
        if path == "/v1/events":
            response.data["data"] = [event for event in response.data["data"] if event["id"] not in self.hidden]
        return response


class FailingEventsClient:
    """A client whose events list answers 400 when asked for events since a cursor (a bare list still works)."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    def raw_request(self, method: str, path: str, **params):
        if path == "/v1/events" and set(params) - {"limit"}:
            raise stripe.InvalidRequestError("Invalid created[gte]", "created", code="parameter_invalid")
        return self.client.raw_request(method, path, **params)


def make_charges(api: stripe.StripeClient, count: int, **params) -> list:
    return [
        api.v1.charges.create(params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa", **params})
        for n in range(count)
    ]


def stored(charge_id: str) -> dict | None:
    with get_engine().connect() as conn:
        row = conn.execute(sa.select(schema.charges).where(schema.charges.c.id == charge_id)).mappings().first()
    return dict(row) if row else None


def stored_refunds(charge_id: str) -> list[dict]:
    with get_engine().connect() as conn:
        rows = conn.execute(sa.select(schema.refunds).where(schema.refunds.c.charge_id == charge_id)).mappings()
        return [dict(row) for row in rows]


def count_rows(table: sa.Table) -> int:
    with get_engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_backfill_pages_by_100_then_an_idle_sync_costs_one_request(api, counted):
    client, http = counted
    # The 250 charges two minutes before the rest, so the idle sync's overlap (EVENT_OVERLAP_S) holds only the rest.
    set_clock(api, int(time.time()) - 120)
    made = make_charges(api, 250)
    set_clock(api, None)
    with pytest.raises(stripe.CardError):
        api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_chargeDeclinedLostCard"})
    api.v1.refunds.create(params={"charge": made[0].id, "amount": 300})
    assert sync.needs_sync()

    fractions: list[float] = []
    report = sync.sync(client, lambda fraction, _text: fractions.append(fraction))

    # 1 events head + ceil(251 / 100) charge pages + 1 refund page + 1 dispute page
    assert report.kind == "backfill"
    assert report.requests == len(http.sent) == 1 + 3 + 1 + 1
    assert [path for _, path in http.sent] == ["events", "charges", "charges", "charges", "refunds", "disputes"]
    assert (report.charges_upserted, report.refunds_upserted) == (251, 1)
    assert count_rows(schema.charges) == count_rows(schema.charge_payloads) == 251
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert not sync.needs_sync()
    assert stored(made[0].id)["amount_refunded"] == 300

    newest = api.v1.charges.list(params={"limit": 1}).data[0]  # the declined one
    failed = stored(newest.id)
    assert failed["status"] == "failed"
    assert (failed["failure_code"], failed["decline_code"]) == ("card_declined", "lost_card")

    http.sent.clear()
    idle = sync.sync(client)
    assert (idle.kind, idle.requests, idle.events_applied) == ("incremental", 1, 0)
    assert http.sent == [("get", "events")]


def test_incremental_picks_up_new_charges_refunds_made_elsewhere_and_captures(api, counted):
    client, http = counted
    kept = make_charges(api, 3)
    held = api.v1.charges.create(params={"amount": 4200, "currency": "usd", "source": "tok_visa", "capture": False})
    sync.sync(client)
    assert stored(held.id)["captured"] is False

    new = make_charges(api, 2, receipt_email="new@example.com")
    api.v1.refunds.create(params={"charge": kept[1].id, "reason": "duplicate"})  # through the SDK, not the shop
    api.v1.charges.capture(held.id, params={"amount": 4000})
    http.sent.clear()
    report = sync.sync(client)

    # fewer than 100 events: one page; their new balance transactions: one page of /v1/balance_transactions
    assert report.requests == 2
    assert [path for _, path in http.sent] == ["events", "balance_transactions"]
    assert all(stored(charge.id)["receipt_email"] == "new@example.com" for charge in new)
    refunded = stored(kept[1].id)
    assert (refunded["refunded"], refunded["amount_refunded"]) == (True, kept[1].amount)
    assert [(r["amount"], r["reason"]) for r in stored_refunds(kept[1].id)] == [(kept[1].amount, "duplicate")]
    captured = stored(held.id)
    assert (captured["captured"], captured["amount_captured"]) == (True, 4000)


def test_incremental_costs_one_request_per_100_events(api, counted):
    client, http = counted
    sync.sync(client)
    make_charges(api, 230)
    new_events = sum(1 for _ in api.v1.events.list(params={"limit": 100}).auto_paging_iter())
    http.sent.clear()

    report = sync.sync(client)

    assert report.events_applied == new_events
    # The events, 100 a page, and the 230 new charges' balance transactions (their fees), 100 a page.
    new_txns = api.v1.balance_transactions.list(params={"limit": 100})
    assert sum(1 for _ in new_txns.auto_paging_iter()) == 230
    assert report.requests == len(http.sent) == math.ceil(new_events / 100) + math.ceil(230 / 100)
    assert count_rows(schema.charges) == 230


def test_a_refund_seen_in_stripe_updates_the_order(api, counted):
    client, _ = counted
    order = orders.create_order(CUSTOMER, catalog.priced_line("art-of-doing-science", 1))
    result = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242")
    assert result.outcome == "succeeded"
    sync.sync(client)
    api.v1.refunds.create(params={"charge": result.charge_id, "amount": 500})  # e.g. from the Stripe Dashboard

    sync.sync(client)

    after = orders.get_order(order.id)
    assert (after.status, after.amount_refunded) == ("partially_refunded", 500)
    assert stored(result.charge_id)["order_id"] == order.id


def test_charges_made_outside_the_shop_are_kept_with_no_order(api, counted):
    client, _ = counted
    (outside,) = make_charges(api, 1, description="Phone order")
    sync.sync(client)
    row = stored(outside.id)
    assert row["order_id"] is None and row["description"] == "Phone order"


def counted_client(url: str) -> tuple[stripe.StripeClient, CountingHTTPClient]:
    http = CountingHTTPClient()
    client = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": url}, http_client=http, max_network_retries=0
    )
    return client, http


def run_at_once(count: int, work) -> list:
    """Run `work(index)` in `count` threads released together; their results (re-raising the first error)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_four_sessions_syncing_at_once_make_one_backfill(api, private_emulator):
    make_charges(api, 250)
    clients = [counted_client(private_emulator.url) for _ in range(4)]

    reports = run_at_once(4, lambda index: sync.sync(clients[index][0]))

    assert sorted(report.kind for report in reports) == ["backfill", "shared", "shared", "shared"]
    # 1 events head + 3 charge pages + 1 refund page + 1 dispute page, all made by the one session that synced
    assert sum(len(http.sent) for _, http in clients) == 6
    assert count_rows(schema.charges) == 250


def test_concurrent_syncs_leave_the_database_equal_to_stripe_under_a_new_data_version(api, private_emulator):
    # The pages' caches are keyed by the data version: every change a sync stores must move it, whichever
    # session (or replica) stored it, and the rows must end up as Stripe has them.
    engine = get_engine()
    sync.sync(api)
    clients = [counted_client(private_emulator.url)[0] for _ in range(3)]
    made_in_all: list = []

    for round_number in range(6):
        before = db.data_version(engine)
        made = make_charges(api, 5)
        api.v1.refunds.create(params={"charge": made[round_number % 5].id, "amount": 100})

        def work(index: int):
            if index == 3:  # Stripe changes while the others sync
                return make_charges(api, 3)
            return sync.sync(clients[index], wait_s=60)

        results = run_at_once(4, work)
        made_in_all += made + results[3]
        sync.sync(api, wait_s=60)  # everything made meanwhile

        assert db.data_version(engine) > before
        database = analytics.load_charges(engine)
        in_stripe = [api.v1.charges.retrieve(charge.id) for charge in made_in_all]
        assert sorted(database["id"]) == sorted(charge.id for charge in in_stripe)
        assert (database["amount"].sum(), database["amount_refunded"].sum()) == (
            sum(charge.amount for charge in in_stripe),
            sum(charge.amount_refunded for charge in in_stripe),
        )
    assert len(analytics.load_charges(engine)) == 6 * 8


def test_change_numbers_are_unique_and_committed_in_order_across_threads(env):
    engine = get_engine()

    def take(_index: int) -> list[int]:
        numbers = []
        for _ in range(25):
            with engine.begin() as conn:
                numbers.append(db.next_change(conn))
        return numbers

    taken = [number for numbers in run_at_once(4, take) for number in numbers]

    assert sorted(taken) == list(range(1, 101))
    assert db.data_version(engine) == 100


def test_an_event_that_becomes_visible_after_a_newer_one_is_still_applied(api, counted):
    client, _ = counted
    sync.sync(client)  # backfill of an empty account
    sync.sync(client)
    (late,) = make_charges(api, 1, description="visible late")
    (early,) = make_charges(api, 1, description="visible at once")
    late_event = next(event for event in api.v1.events.list().data if event.data.object.id == late.id)

    first = sync.sync(HidingClient(client, {late_event.id}))
    assert stored(early.id) is not None and stored(late.id) is None
    second = sync.sync(client)

    assert stored(late.id)["description"] == "visible late"
    assert (first.events_applied, second.events_applied) == (1, 1)  # each event applied once


def test_a_late_event_carrying_an_older_copy_does_not_overwrite_the_newer_one(api, counted):
    client, _ = counted
    (charge,) = make_charges(api, 1)
    sync.sync(client)
    set_clock(api, int(time.time()) + 5)
    api.v1.charges.update(charge.id, params={"description": "older"})
    set_clock(api, int(time.time()) + 10)
    api.v1.charges.update(charge.id, params={"description": "newer"})
    set_clock(api, None)
    older = next(e for e in api.v1.events.list().data if e.data.object.to_dict().get("description") == "older")

    sync.sync(HidingClient(client, {older.id}))
    sync.sync(client)

    assert stored(charge.id)["description"] == "newer"


def test_a_400_from_the_events_list_is_raised_not_turned_into_a_backfill(api, counted):
    client, http = counted
    make_charges(api, 2)
    sync.sync(client)
    http.sent.clear()

    with pytest.raises(stripe.InvalidRequestError):
        sync.sync(FailingEventsClient(client))

    assert http.sent == []  # no charge or refund list was read
    assert sync_store.read_state(get_engine())[sync_store.BACKFILLED] == "1"
    assert count_rows(schema.charges) == 2


def test_a_cursor_older_than_stripes_30_days_of_events_backfills_and_says_why(api, counted):
    client, _ = counted
    make_charges(api, 2)
    sync.sync(client)
    with get_engine().begin() as conn:
        sync_store.write_state(conn, {sync_store.LAST_EVENT_CREATED: int(time.time()) - 31 * 24 * 3600})
    make_charges(api, 1)

    report = sync.sync(client)

    assert report.kind == "backfill"
    assert "30 days" in report.summary()
    assert count_rows(schema.charges) == 3


def test_a_cursor_event_from_an_older_store_that_stripe_no_longer_has_backfills(api, counted):
    client, _ = counted
    make_charges(api, 2)
    sync.sync(client)
    with get_engine().begin() as conn:  # a store synced before cursors carried a time: only the event id
        conn.execute(schema.sync_state.delete().where(schema.sync_state.c.key == sync_store.LAST_EVENT_CREATED))
        sync_store.write_state(conn, {sync_store.LAST_EVENT_ID: "evt_gone"})
    make_charges(api, 1)

    report = sync.sync(client)

    assert report.kind == "backfill" and "30 days" in report.note
    assert count_rows(schema.charges) == 3


def hold_lease(holder: str, expires_at: float) -> None:
    with get_engine().begin() as conn:
        conn.execute(leases.insert().values(name=sync.SYNC_LEASE, holder=holder, expires_at=expires_at))


def test_a_sync_running_in_another_process_is_not_repeated(api, counted):
    client, http = counted
    make_charges(api, 2)
    hold_lease("another-process", time.time() + 60)

    report = sync.sync(client, wait_s=0)

    assert (report.kind, report.requests, http.sent) == ("running", 0, [])
    assert "Another session is syncing" in report.summary()
    assert count_rows(schema.charges) == 0


def test_the_lease_of_a_holder_that_died_is_taken_over_once_expired(api, counted):
    client, _ = counted
    make_charges(api, 2)
    hold_lease("killed-process", time.time() - 1)

    report = sync.sync(client, wait_s=0)

    assert report.kind == "backfill"
    assert count_rows(schema.charges) == 2
    with get_engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leases)).scalar_one() == 0  # released


def test_the_lease_is_renewed_while_a_sync_runs(api, counted, monkeypatch):
    client, _ = counted
    make_charges(api, 150)
    monkeypatch.setattr(sync, "LEASE_TTL_S", 0.6)  # renewed every 0.2 s
    expiries: list[float] = []

    def expiry() -> float:
        with get_engine().connect() as conn:
            return conn.execute(sa.select(leases.c.expires_at).where(leases.c.name == sync.SYNC_LEASE)).scalar_one()

    def on_progress(_fraction: float, _text: str) -> None:
        if expiries:
            return
        expiries.append(expiry())
        deadline = time.monotonic() + 10
        while expiry() <= expiries[0] and time.monotonic() < deadline:  # wait for a renewal, not a fixed time
            time.sleep(0.05)
        expiries.append(expiry())

    report = sync.sync(client, on_progress)

    assert report.kind == "backfill"
    assert expiries[1] > expiries[0]


def pay_with(api: stripe.StripeClient, number: str = "4242424242424242") -> tuple[orders.Order, str]:
    """A paid order of the shop (Charges flow) on the card `number`; returns it and its charge id."""
    token = api.v1.tokens.create(
        params={"card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    ).id
    order = orders.create_order(CUSTOMER, catalog.priced_line("art-of-doing-science", 1))
    result = charges.pay_order(order.id, token, uuid.uuid4().hex, card_brand="visa", card_last4=number[-4:])
    assert result.outcome == "succeeded"
    return orders.get_order(order.id), result.charge_id


def wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)  # polling interval of a wait-for-condition


def test_a_refund_that_fails_later_gives_the_order_its_money_back(api, counted):
    client, _ = counted
    order, charge_id = pay_with(api, "4000000000005126")  # docs.stripe.com/testing#refunds: refund fails later
    sync.sync(client)
    refund = fulfilment.refund_charge(charge_id, idempotency_key=uuid.uuid4().hex, client=api)
    sync.sync(client)
    assert orders.get_order(order.id).status == "refunded"

    wait_until(lambda: api.v1.refunds.retrieve(refund.id).status == "failed")
    sync.sync(client)

    after = orders.get_order(order.id)
    assert (after.status, after.amount_refunded) == ("paid", 0)
    assert stored(charge_id)["amount_refunded"] == 0
    assert [row["status"] for row in stored_refunds(charge_id)] == ["failed"]


class DyingAtClient:
    """A client whose connection drops at the first request for a path starting with `prefix`, as a sync whose
    process is killed at that request."""

    def __init__(self, client: stripe.StripeClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def raw_request(self, method: str, path: str, **params):
        if path.startswith(self.prefix):
            raise stripe.APIConnectionError("The process was killed.")
        return self.client.raw_request(method, path, **params)


def test_a_failed_refund_applied_by_a_sync_that_died_before_fetching_its_charge_is_fetched_by_the_next(api, counted):
    client, _ = counted
    (charge,) = make_charges(api, 1, source="tok_refundFail")  # docs.stripe.com/testing#refunds: fails later
    sync.sync(client)
    refund = api.v1.refunds.create(params={"charge": charge.id})
    sync.sync(client)
    assert stored(charge.id)["amount_refunded"] == charge.amount
    wait_until(lambda: api.v1.refunds.retrieve(refund.id).status == "failed")

    # The refund's events are applied (and the cursor moves past them); the charge they changed is asked for next,
    # and the sync dies there.
    with pytest.raises(stripe.APIConnectionError):
        sync.sync(DyingAtClient(client, f"/v1/charges/{charge.id}"))
    assert stored(charge.id)["amount_refunded"] == charge.amount
    sync.sync(client)  # the next one, in any process

    assert stored(charge.id)["amount_refunded"] == 0


def test_a_second_charge_of_a_paid_order_found_by_the_sync_is_refunded_and_kept_for_staff(api, counted):
    client, _ = counted
    order, charge_id = pay_with(api)
    sync.sync(client)
    # A charge Stripe made for the order after another one paid it (a late answer nobody was waiting for).
    late = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "metadata": {"order_id": order.id}}
    )

    before = db.data_version()
    sync.sync(client)
    assert api.v1.charges.retrieve(late.id).amount_refunded == 0  # the copy moves no money: its caller does
    reconcile.settle_synced_charges(before, client=client)

    assert orders.get_order(order.id).charge_id == charge_id
    refunded = api.v1.charges.retrieve(late.id)
    assert (refunded.amount_refunded, refunded.refunded) == (2300, True)
    [refund] = api.v1.refunds.list(params={"charge": late.id}).data
    assert refund.reason == "duplicate"
    [record] = second_charges.list_second_charges()
    assert (record.charge_id, record.order_id, record.found_by) == (late.id, order.id, "sync")
    assert record.refund_id == refund.id
    reconcile.sync_and_settle(client)  # seen again (now refunded): nothing more is refunded
    assert len(api.v1.refunds.list(params={"charge": late.id}).data) == 1


def test_a_second_charge_delivered_by_a_webhook_is_refunded_after_it_is_applied(api, counted):
    client, _ = counted
    order, charge_id = pay_with(api)
    sync.sync(client)
    late = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "metadata": {"order_id": order.id}}
    )
    [event] = [
        e
        for e in api.v1.events.list(params={"type": "charge.succeeded", "limit": 5}).data
        if e.data.object.id == late.id
    ]

    assert reconcile.apply_and_settle([event.to_dict()], client=client) == 1

    assert orders.get_order(order.id).charge_id == charge_id
    assert api.v1.charges.retrieve(late.id).refunded
    [record] = second_charges.list_second_charges()
    assert (record.charge_id, record.found_by) == (late.id, "sync")


def test_a_backfill_under_a_rate_limit_backs_off_and_gets_every_charge(api, counted, private_emulator):
    client, http = counted
    make_charges(api, 250)
    spec = {"method": "GET", "path": "/v1/*", "action": {"rate_limit_per_s": 2}, "times": 1000}
    armed = httpx.post(
        f"{private_emulator.url}/_emulator/faults", json=spec, headers={"Authorization": "Bearer sk_test_emulator"}
    )
    assert armed.status_code == 200, armed.text
    try:
        report = sync.sync(client)
    finally:
        httpx.delete(f"{private_emulator.url}/_emulator/faults", headers={"Authorization": "Bearer sk_test_emulator"})

    assert count_rows(schema.charges) == 250
    assert report.charges_upserted == 250
    # 1 events head + 3 charge pages + 1 refund page got through; the rest were 429s waited out and asked again.
    assert len(http.sent) == report.requests > 5


def test_the_charge_row_keeps_stripes_disputed_flag():
    charge = {"id": "ch_1", "created": 1, "amount": 2300, "currency": "usd", "status": "succeeded", "disputed": True}
    assert sync_rows.charge_row(charge)["disputed"] is True
    assert sync_rows.charge_row({**charge, "disputed": False})["disputed"] is False


def test_a_charge_made_after_its_attempt_was_closed_as_not_charged_pays_the_order(api, counted):
    client, _ = counted
    order = orders.create_order(CUSTOMER, catalog.priced_line("art-of-doing-science", 1))
    attempt = attempts.start_attempt(order.id, "slow-click")
    attempts.finish_attempt(attempt.id, "failed", code=attempts.NOT_CHARGED, message="Stripe has no charge")
    # Stripe made the attempt's charge after all, once nobody was waiting for the answer any more.
    late = api.v1.charges.create(
        params={
            "amount": 2300,
            "currency": "usd",
            "source": "tok_visa",
            "metadata": {"order_id": order.id, "attempt": str(attempt.id)},
        }
    )

    reconcile.sync_and_settle(client)

    after = orders.get_order(order.id)
    assert (after.status, after.charge_id) == ("paid", late.id)
    assert attempts.list_attempts(order.id)[0].outcome == "succeeded"
    assert api.v1.charges.retrieve(late.id).amount_refunded == 0


# ------------------------------------------------------------------------------------------ fees and net


def stripe_fee_and_net(api: stripe.StripeClient, charge_id: str) -> tuple[int, int]:
    """The fee and net of a charge's balance transaction, as Stripe (the emulator) has it."""
    charge = api.v1.charges.retrieve(charge_id, params={"expand": ["balance_transaction"]})
    return charge.balance_transaction.fee, charge.balance_transaction.net


def stored_transaction(txn_id: str) -> dict | None:
    with get_engine().connect() as conn:
        query = sa.select(schema.balance_transactions).where(schema.balance_transactions.c.id == txn_id)
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def test_backfill_brings_every_fee_and_net_inside_the_list_pages(api, counted):
    client, http = counted
    made = make_charges(api, 3)
    held = api.v1.charges.create(params={"amount": 5000, "currency": "usd", "source": "tok_visa", "capture": False})
    refund = api.v1.refunds.create(params={"charge": made[0].id, "amount": 400})

    report = sync.sync(client)

    # events head, one page each of charges, refunds and disputes: no request more for fees
    assert report.requests == 4
    assert [path for _, path in http.sent] == ["events", "charges", "refunds", "disputes"]
    for charge in made:
        fee, net = stripe_fee_and_net(api, charge.id)
        assert fee > 0 and net == charge.amount - fee
        assert (stored(charge.id)["fee"], stored(charge.id)["net"]) == (fee, net)
    assert (stored(held.id)["fee"], stored(held.id)["net"]) == (None, None)  # authorized only: no transaction
    txn = api.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert stored_transaction(txn.id) == {
        "id": txn.id,
        "type": "refund",
        "source": refund.id,
        "created": txn.created,
        "available_on": txn.available_on,
        "amount": -400,
        "fee": txn.fee,
        "net": txn.net,
        "currency": "usd",
        "status": txn.status,
        "reporting_category": txn.reporting_category,
    }
    assert stored_refunds(made[0].id)[0]["balance_transaction"] == txn.id


def test_incremental_fills_fees_of_new_captured_and_webhook_applied_charges(api, counted):
    client, http = counted
    sync.sync(client)
    held = api.v1.charges.create(params={"amount": 5000, "currency": "usd", "source": "tok_visa", "capture": False})
    sync.sync(client)
    assert stored(held.id)["fee"] is None
    api.v1.charges.capture(held.id)
    new = make_charges(api, 2)
    # One of the new charges reaches the copy by a webhook first: the sync must still bring its fee.
    delivered = [e for e in api.v1.events.list(params={"type": "charge.succeeded", "limit": 1}).data]
    assert sync.apply_delivered_events([e.to_dict() for e in delivered]) == 1
    version = db.data_version()

    sync.sync(client)

    for charge_id in [held.id, *(charge.id for charge in new)]:
        assert (stored(charge_id)["fee"], stored(charge_id)["net"]) == stripe_fee_and_net(api, charge_id)
        assert stored(charge_id)["sync_seq"] > version  # readers of the copy reload them
    frame = analytics.load_charges()
    assert int(frame.loc[frame["id"] == held.id, "fee"].iloc[0]) == stripe_fee_and_net(api, held.id)[0]

    http.sent.clear()
    again = sync.sync(client)  # every transaction known: no list of them
    assert [path for _, path in http.sent] == ["events"] and again.requests == 1


class DroppingClient:
    """A client whose connection drops at its `fail_at`-th request (1-based), as a sync interrupted midway."""

    def __init__(self, client: stripe.StripeClient, fail_at: int) -> None:
        self.client = client
        self.fail_at = fail_at
        self.sent = 0

    def raw_request(self, method: str, path: str, **params):
        self.sent += 1
        if self.sent == self.fail_at:
            raise stripe.APIConnectionError("The connection dropped.")
        return self.client.raw_request(method, path, **params)


def test_an_interrupted_backfill_resumes_at_the_next_page_and_misses_nothing(api, counted):
    client, http = counted
    made = make_charges(api, 450)
    api.v1.refunds.create(params={"charge": made[10].id, "amount": 100})
    # head, then charge pages 1 and 2 are stored; page 3 never arrives
    with pytest.raises(stripe.APIConnectionError):
        sync.sync(DroppingClient(client, fail_at=4))
    assert count_rows(schema.charges) == 200
    later = make_charges(api, 3)  # made while nobody synced: newer than the backfill's head

    http.sent.clear()
    resumed = sync.sync(client)

    # charge pages 3-5 (250 left), one refund page, one dispute page: not the 200 charges again
    assert resumed.kind == "backfill" and "Resumed" in resumed.note
    assert [path for _, path in http.sent] == ["charges"] * 3 + ["refunds", "disputes"]
    assert resumed.charges_upserted == 250  # the 3 newer ones sit above page 1: the events bring them
    caught_up = sync.sync(client)
    assert caught_up.kind == "incremental"  # the cursor is the original head: events since then are applied
    assert count_rows(schema.charges) == 453
    assert all(stored(charge.id) for charge in later)
    assert stored(made[10].id)["amount_refunded"] == 100
    with get_engine().connect() as conn:
        state = dict(conn.execute(sa.select(schema.sync_state.c.key, schema.sync_state.c.value)).all())
    assert sync_store.BACKFILL_CHECKPOINT not in state  # done: the next backfill starts from the top


def test_a_backfill_killed_in_another_process_is_resumed_by_the_next_sync(api, counted, env, private_emulator):
    client, http = counted
    make_charges(api, 350)
    script = (
        "import os, signal, stripe\n"
        "from shop import sync\n"
        f"client = stripe.StripeClient('sk_test_emulator', base_addresses={{'api': {private_emulator.url!r}}})\n"
        "def progress(fraction, text):\n"
        "    if text.startswith('Fetched 200 charges'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "sync.sync(client, progress)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), check=False)
    assert killed.returncode == -signal.SIGKILL
    assert count_rows(schema.charges) == 200
    with get_engine().begin() as conn:  # the dead holder's lease, once its time has run out
        held = conn.execute(sa.update(leases).values(expires_at=time.time() - 1)).rowcount
    assert held == 1

    http.sent.clear()
    resumed = sync.sync(client, wait_s=0)

    assert [path for _, path in http.sent] == ["charges"] * 2 + ["refunds", "disputes"]
    assert count_rows(schema.charges) == 350 and resumed.kind == "backfill"


def test_a_paced_sync_stays_under_the_rate_limit_instead_of_meeting_it(api, counted, private_emulator, monkeypatch):
    client, http = counted
    make_charges(api, 1200)
    monkeypatch.setenv("STRIPE_SYNC_REQUESTS_PER_S", "6")  # under the limit, with room for a loaded machine
    spec = {"method": "GET", "path": "/v1/*", "action": {"rate_limit_per_s": 8}, "times": 1000}
    headers = {"Authorization": "Bearer sk_test_emulator"}
    armed = httpx.post(f"{private_emulator.url}/_emulator/faults", json=spec, headers=headers)
    assert armed.status_code == 200, armed.text
    try:
        report = sync.sync(client)
    finally:
        httpx.delete(f"{private_emulator.url}/_emulator/faults", headers=headers)

    # head + 12 charge pages + refunds + disputes, and not one 429 asked again
    assert len(http.sent) == report.requests == 15
    assert count_rows(schema.charges) == 1200


def test_the_sync_rate_setting_is_checked_and_defaults_to_stripes_test_mode_limit(monkeypatch):
    from shop import config

    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_x")
    assert config.load_settings().sync_requests_per_s == 25
    monkeypatch.setenv("STRIPE_SYNC_REQUESTS_PER_S", "fast")
    with pytest.raises(config.ConfigError, match="STRIPE_SYNC_REQUESTS_PER_S must be a number"):
        config.load_settings()


def charge_and_partial_refund_in_one_second(api: stripe.StripeClient) -> tuple[str, dict[str, dict]]:
    """A charge and a $4.00 refund of it made in the same second (the emulator's clock held), as a script makes
    them; returns the charge id and its events by type (charge.succeeded, refund.created, charge.refunded)."""
    set_clock(api, int(time.time()) + 5)
    (charge,) = make_charges(api, 1)
    api.v1.refunds.create(params={"charge": charge.id, "amount": 400})
    set_clock(api, None)
    events = {event.type: event.to_dict() for event in api.v1.events.list(params={"limit": 10}).data}
    assert {"charge.succeeded", "refund.created", "charge.refunded"} <= set(events)
    return charge.id, events


def test_an_event_older_than_one_a_webhook_applied_in_the_same_second_does_not_undo_it(api, counted):
    client, _ = counted
    sync.sync(client)  # backfill of an empty account
    charge_id, events = charge_and_partial_refund_in_one_second(api)
    # Deliveries run in parallel and in no order: the refund's reaches the copy before the charge's.
    assert sync.apply_delivered_events([events["refund.created"], events["charge.refunded"]]) == 2
    assert stored(charge_id)["amount_refunded"] == 400

    report = sync.sync(client)  # applies charge.succeeded (nothing refunded yet), from the same second

    assert report.events_applied == 1
    assert (stored(charge_id)["amount_refunded"], stored(charge_id)["refunded"]) == (400, False)
    assert [(r["amount"], r["status"]) for r in stored_refunds(charge_id)] == [(400, "succeeded")]


def test_an_older_copy_left_by_webhooks_is_corrected_by_the_sync_that_takes_over_a_killed_one(api, counted):
    client, _ = counted
    sync.sync(client)
    charge_id, events = charge_and_partial_refund_in_one_second(api)
    # Two replicas' deliveries at once: the charge's looked for a stored copy before the refund's was stored, then
    # stored its older copy after it (each event is applied once, so no later delivery brings the newer one again).
    sync.apply_delivered_events([events["refund.created"], events["charge.refunded"]])
    sync.apply_delivered_events([events["charge.succeeded"]])
    assert stored(charge_id)["amount_refunded"] == 0  # the drift
    hold_lease("replica-a-killed-mid-sync", time.time() - 1)  # its lease ran out; every event is applied already

    report = sync.sync(client, wait_s=0)  # replica B takes the sync over

    assert (report.kind, report.events_applied) == ("incremental", 0)
    assert stored(charge_id)["amount_refunded"] == api.v1.charges.retrieve(charge_id).amount_refunded == 400
