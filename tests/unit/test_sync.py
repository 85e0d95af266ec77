"""shop.sync against a private emulator: backfill, then incremental sync from events, counting API requests."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe
from stripe._http_client import new_default_http_client

from shop import orders, payments, sync
from shop.db import get_engine
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
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator: Emulator) -> Path:
    """A fresh store, and an empty account on this module's emulator (so request counts are this test's)."""
    use_emulator(monkeypatch, private_emulator, tmp_path)
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


def make_charges(api: stripe.StripeClient, count: int, **params) -> list:
    return [
        api.v1.charges.create(params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa", **params})
        for n in range(count)
    ]


def stored(charge_id: str) -> dict | None:
    with get_engine().connect() as conn:
        row = conn.execute(sa.select(sync.charges).where(sync.charges.c.id == charge_id)).mappings().first()
    return dict(row) if row else None


def stored_refunds(charge_id: str) -> list[dict]:
    with get_engine().connect() as conn:
        rows = conn.execute(sa.select(sync.refunds).where(sync.refunds.c.charge_id == charge_id)).mappings()
        return [dict(row) for row in rows]


def count_rows(table: sa.Table) -> int:
    with get_engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_backfill_pages_by_100_then_an_idle_sync_costs_one_request(api, counted):
    client, http = counted
    made = make_charges(api, 250)
    with pytest.raises(stripe.CardError):
        api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_chargeDeclinedLostCard"})
    api.v1.refunds.create(params={"charge": made[0].id, "amount": 300})
    assert sync.needs_sync()

    fractions: list[float] = []
    report = sync.sync(client, lambda fraction, _text: fractions.append(fraction))

    # 1 events head + ceil(251 / 100) charge pages + 1 refund page
    assert report.kind == "backfill"
    assert report.requests == len(http.sent) == 1 + 3 + 1
    assert [path for _, path in http.sent] == ["events", "charges", "charges", "charges", "refunds"]
    assert (report.charges_upserted, report.refunds_upserted) == (251, 1)
    assert count_rows(sync.charges) == count_rows(sync.charge_payloads) == 251
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

    assert report.requests == 1  # fewer than 100 events: one page
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
    assert report.requests == len(http.sent) == math.ceil(new_events / 100)
    assert count_rows(sync.charges) == 230


def test_a_refund_seen_in_stripe_updates_the_order(api, counted):
    client, _ = counted
    order = orders.create_order(CUSTOMER, "art-of-doing-science", 1)
    result = payments.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242")
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


def test_a_cursor_stripe_no_longer_has_falls_back_to_a_backfill(api, counted):
    client, _ = counted
    make_charges(api, 2)
    sync.sync(client)
    with get_engine().begin() as conn:
        conn.execute(
            sync.sync_state.update().where(sync.sync_state.c.key == sync.LAST_EVENT_ID).values(value="evt_gone")
        )
    make_charges(api, 1)

    report = sync.sync(client)

    assert report.kind == "backfill"
    assert count_rows(sync.charges) == 3
