"""`python -m bench.sync_bench`: the sync's backfill under Stripe's test-mode rate limit, and 4 sessions at once.

A private emulator holds SYNC_BENCH_SIZE charges (default 100,000) and answers 429 `rate_limit` above
RATE_PER_S (25, Stripe's test-mode limit: docs.stripe.com/rate-limits) read requests a second (the emulator's
`rate_limit_per_s` fault). Figures:
- `sync_backfill_<n>_rate_limited_s` and `..._requests` (every request sent, 429s included), `..._429s`, beside
  the floor: one request per 100 charges at 25 a second (`..._floor_requests`, `..._floor_s`);
- `sync_4_sessions_backfills`: four sessions asking for a sync of an empty store at the same moment, and how many
  backfills they ran between them (1: the others wait for it or see it running).
Prints `bench: <name> = <value> <unit>` lines.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import stripe
from stripe._http_client import new_default_http_client

from stripe_emulator.seeding import seed_charges
from tests.support import Emulator, free_port

RATE_PER_S = 25
DAYS = 60
SESSIONS = 4


def label(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 else str(size)


def report(name: str, value: float, unit: str) -> None:
    text = f"{value:.3g}" if value < 100 else f"{value:.0f}"
    print(f"bench: {name} = {text} {unit}", flush=True)


def counted_client(url: str) -> tuple[stripe.StripeClient, list]:
    """A client whose every request is recorded (no SDK retries: the sync's own back-off is what is measured)."""
    base = type(new_default_http_client())
    sent: list = []

    class _Client(base):
        def request(self, method, url, headers, post_data=None):
            sent.append(url)
            return super().request(method, url, headers, post_data)

    client = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": url}, http_client=_Client(), max_network_retries=0
    )
    return client, sent


def use_store(workdir: Path, name: str, port: int) -> None:
    """Point the shop at a fresh store `name` and the bench's emulator."""
    from shop import config

    os.environ["SHOP_DATA_DIR"] = str(workdir / name)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / f'{name}.db'}"
    os.environ["STRIPE_EMULATOR_PORT"] = str(port)
    os.environ.pop("STRIPE_SECRET_KEY", None)
    config.get_settings.cache_clear()


def rate_limit(emulator: Emulator, times: int) -> None:
    spec = {"method": "GET", "path": "/v1/*", "action": {"rate_limit_per_s": RATE_PER_S}, "times": times}
    headers = {"Authorization": "Bearer sk_test_emulator"}
    httpx.delete(f"{emulator.url}/_emulator/faults", headers=headers).raise_for_status()
    httpx.post(f"{emulator.url}/_emulator/faults", json=spec, headers=headers).raise_for_status()


def main() -> int:
    from shop import sync

    size = int(os.environ.get("SYNC_BENCH_SIZE", "100000"))
    name = label(size)
    pages = math.ceil(size / sync.PAGE_SIZE)
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        seed_charges(workdir / "emulator", size, start=int(time.time()) - DAYS * 86400, spacing=1)
        print(f"# seeded {size:,} charges in {time.perf_counter() - started:.1f} s", flush=True)
        emulator = Emulator(free_port(), workdir / "emulator")
        emulator.start()
        try:
            use_store(workdir, "one-session", emulator.port)
            rate_limit(emulator, times=100 * pages + 10_000)
            client, sent = counted_client(emulator.url)
            started = time.perf_counter()
            backfill = sync.sync(client)
            seconds = time.perf_counter() - started
            assert backfill.charges_upserted == size, backfill
            report(f"sync_backfill_{name}_rate_limited_s", seconds, "s")
            report(f"sync_backfill_{name}_rate_limited_requests", len(sent), "requests")
            # The requests that got through: the events head, the charge pages and one (empty) refunds page.
            report(f"sync_backfill_{name}_rate_limited_429s", len(sent) - (pages + 2), "requests")
            report(f"sync_backfill_{name}_floor_requests", pages, "requests")
            report(f"sync_backfill_{name}_floor_s", pages / RATE_PER_S, "s")

            use_store(workdir, "four-sessions", emulator.port)
            rate_limit(emulator, times=100 * pages + 10_000)
            clients = [counted_client(emulator.url)[0] for _ in range(SESSIONS)]
            barrier = threading.Barrier(SESSIONS)
            kinds: list[str] = []

            def session(index: int) -> None:
                barrier.wait()
                kinds.append(sync.sync(clients[index]).kind)

            threads = [threading.Thread(target=session, args=(index,)) for index in range(SESSIONS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(f"# {SESSIONS} sessions: {sorted(kinds)}", flush=True)
            report("sync_4_sessions_backfills", kinds.count("backfill"), "backfills")
        finally:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
