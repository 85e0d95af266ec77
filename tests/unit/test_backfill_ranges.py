"""The first sync's charges listed in `created` ranges side by side (shop.backfill_ranges): the same copy as the
sequential list, and an interrupted one resumed range by range."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from shop import backfill_ranges, config, schema, sync, sync_store
from shop.db import get_engine
from tests.support import Emulator, use_emulator

START = 1_700_000_000
COPY_TABLES = (schema.charges, schema.refunds, schema.balance_transactions, schema.charge_payloads)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator: Emulator, database_url: str):
    use_emulator(monkeypatch, private_emulator, tmp_path, database_url)
    private_emulator.reset()
    client = private_emulator.client()
    yield client
    client.raw_request("post", "/_emulator/clock", frozen_time="")


def workers(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setenv("STRIPE_SYNC_BACKFILL_WORKERS", str(count))
    config.get_settings.cache_clear()


def spread_charges(api: stripe.StripeClient, count: int) -> list:
    """`count` charges over ten days, unevenly (most on the last day), with a refund on one of them."""
    made = []
    for n in range(count):
        when = START + (n * 7919 % 864_000 if n % 3 else 9 * 86_400 + n)  # a crowded last day
        api.raw_request("post", "/_emulator/clock", frozen_time=str(when))
        made.append(api.v1.charges.create(params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa"}))
    api.v1.refunds.create(params={"charge": made[7].id, "amount": 300})
    return made


def copy() -> dict[str, list[dict]]:
    """The rows of the local copy, without the change numbers (they count writes, not content)."""
    with get_engine().connect() as conn:
        return {
            table.name: sorted(
                (
                    {k: v for k, v in row.items() if k != "sync_seq"}
                    for row in conn.execute(sa.select(table)).mappings()
                ),
                key=lambda row: row["id"],
            )
            for table in COPY_TABLES
        }


def clear_copy() -> None:
    with get_engine().begin() as conn:
        for table in (*COPY_TABLES, schema.sync_state, schema.applied_events):
            conn.execute(sa.delete(table))


class ThreadRecordingClient:
    """A client that records which threads sent the requests, and drops the connection at its `fail_at`-th."""

    def __init__(self, client: stripe.StripeClient, fail_at: int = 0) -> None:
        self.client = client
        self.fail_at = fail_at
        self.sent: list[tuple[str, dict]] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def raw_request(self, method: str, path: str, **params):
        with self._lock:
            self.sent.append((path, params))
            self.threads.add(threading.current_thread().name)
            if len(self.sent) == self.fail_at:
                raise stripe.APIConnectionError("The connection dropped.")
        return self.client.raw_request(method, path, **params)


def test_the_split_covers_the_span_without_overlap():
    ranges = backfill_ranges.split(100, 1099, 7)
    assert ranges[0]["lt"] == 1100 and ranges[-1]["gte"] == 100
    assert all(newer["gte"] == older["lt"] for newer, older in itertools.pairwise(ranges))
    assert [part["lt"] - part["gte"] for part in backfill_ranges.split(5, 6, 8)] == [1, 1]  # 2 seconds, 2 ranges


def test_the_ranged_backfill_stores_what_the_sequential_one_does(api, monkeypatch):
    spread_charges(api, 430)
    workers(monkeypatch, 0)
    sequential = sync.sync(api)
    assert sequential.charges_upserted == 430
    expected = copy()
    clear_copy()

    workers(monkeypatch, 4)
    recording = ThreadRecordingClient(api)
    ranged = sync.sync(recording)

    assert ranged.kind == "backfill" and ranged.charges_upserted == 430
    assert copy() == expected
    ranged_pages = [params for path, params in recording.sent if path == "/v1/charges" and "gte" in str(params)]
    assert len(ranged_pages) >= 8  # the span in ranges ...
    assert len([name for name in recording.threads if name.startswith("backfill-range")]) > 1  # ... side by side


def test_an_interrupted_ranged_backfill_resumes_each_range_where_it_stopped(api, monkeypatch):
    spread_charges(api, 600)
    workers(monkeypatch, 3)
    with pytest.raises(stripe.APIConnectionError):
        sync.sync(ThreadRecordingClient(api, fail_at=40))  # after the span's probes, midway through the pages
    with get_engine().connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(schema.charges)).scalar_one()
        state = dict(conn.execute(sa.select(schema.sync_state.c.key, schema.sync_state.c.value)).all())
    assert 0 < stored < 600
    checkpoint = json.loads(state[sync_store.BACKFILL_CHECKPOINT])
    done = [part for part in checkpoint["ranges"] if part["done"]]
    started = [part for part in checkpoint["ranges"] if part["after"] and not part["done"]]
    assert done or started

    resuming = ThreadRecordingClient(api)
    resumed = sync.sync(resuming)

    assert resumed.kind == "backfill" and "Resumed" in resumed.note
    assert resumed.charges_upserted == 600 - stored  # nothing stored twice
    charge_pages = [params for path, params in resuming.sent if path == "/v1/charges"]
    asked = {(params["created"]["gte"], params.get("starting_after")) for params in charge_pages}
    assert not any((part["gte"], None) in asked for part in done)  # a range done is not listed again
    assert all((part["gte"], part["after"]) in asked for part in started)  # a range begun goes on from its cursor
    with get_engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.charges)).scalar_one() == 600


def test_the_workers_setting_is_checked_and_ranges_are_the_default_with_stripe_keys(monkeypatch):
    monkeypatch.delenv("STRIPE_SYNC_BACKFILL_WORKERS", raising=False)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    assert config.load_settings().sync_backfill_workers == 0  # the emulator: one list, as before
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_x")
    assert config.load_settings().sync_backfill_workers == config.DEFAULT_SYNC_BACKFILL_WORKERS == 10
    monkeypatch.setenv("STRIPE_SYNC_BACKFILL_WORKERS", "many")
    with pytest.raises(config.ConfigError, match="STRIPE_SYNC_BACKFILL_WORKERS must be a whole number"):
        config.load_settings()
