"""The emulator as a process: nothing lost on SIGKILL, and a quick start with many charges stored."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import stripe

from stripe_emulator.seeding import seed_charges
from tests.support import free_port, start_process, stop_process, wait_for_http


class _Running:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "stripe_emulator", "--port", str(self.port), "--data-dir", str(data_dir)]
        self.proc = start_process(args)
        wait_for_http(f"{self.url}/_emulator/health", proc=self.proc)

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient("sk_test_unit", base_addresses={"api": self.url}, max_network_retries=0)


def test_nothing_is_lost_when_the_process_is_killed(tmp_path):
    first = _Running(tmp_path)
    client = first.client()
    made = [
        client.v1.charges.create(
            params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa"},
            options={"idempotency_key": f"durable-{n}"},
        ).id
        for n in range(30)
    ]
    refund = client.v1.refunds.create(params={"charge": made[-1], "amount": 500})
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait()

    second = _Running(tmp_path)
    try:
        client = second.client()
        listed = [charge.id for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()]
        assert listed == list(reversed(made))
        assert client.v1.charges.retrieve(made[-1]).amount_refunded == 500
        assert client.v1.refunds.retrieve(refund.id).amount == 500
        replay = client.v1.charges.create(
            params={"amount": 1000, "currency": "usd", "source": "tok_visa"}, options={"idempotency_key": "durable-0"}
        )
        assert replay.id == made[0]  # idempotency keys survive the restart too
        events = client.v1.events.list(params={"limit": 100, "type": "charge.succeeded"}).data
        assert len(events) == 30
    finally:
        stop_process(second.proc)


def test_starts_and_lists_with_many_charges_stored(tmp_path):
    start = int(time.time()) - 10_000
    assert seed_charges(tmp_path, 5_000, start) == 5_000
    running = _Running(tmp_path)
    try:
        client = running.client()
        page = client.v1.charges.list(params={"limit": 100})
        assert len(page.data) == 100
        assert page.has_more is True
        assert page.data[0].created == start + 4_999
        assert [charge.created for charge in page.data] == sorted((c.created for c in page.data), reverse=True)
        window = client.v1.charges.list(params={"created": {"gte": start, "lt": start + 10}, "limit": 100})
        assert len(window.data) == 10
        failed = client.v1.charges.retrieve(page.data[-1].id)
        assert failed.object == "charge"
    finally:
        stop_process(running.proc)
