"""`python -m bench.sync_bench`: the sync's backfill of a big account at Stripe's rate limit, on SQLite and
PostgreSQL, its resume after an interruption, and 4 sessions at once.

A private emulator holds SYNC_BENCH_SIZES charges (default 100,000 and 1,000,000, 60 days of them) and answers
429 `rate_limit` above RATE_PER_S (25, Stripe's test-mode limit: docs.stripe.com/rate-limits) read requests a
second (the emulator's `rate_limit_per_s` fault). The sync is paced as it is against Stripe
(STRIPE_SYNC_REQUESTS_PER_S=25). Figures, for each size and backend:
- `sync_backfill_<n>_<backend>_s`, `..._requests` (every request sent, 429s included) and `..._429s`, beside the
  floor: one request per 100 charges at 25 a second (`sync_backfill_<n>_floor_requests`, `..._floor_s`);
- `sync_backfill_ranged_<n>_<backend>_s` and `..._requests`: the same backfill with the charges listed in `created`
  ranges by RANGED_WORKERS threads side by side within the same pace (shop.backfill_ranges), against the floor;
- `sync_resume_<n>_<backend>_requests`: a backfill stopped when half the charges were stored, then the next
  sync: the requests it sent (the floor's half, not all of it again);
then, on SQLite at the first size, `sync_4_sessions_backfills`: four sessions asking for a sync of an empty store
at the same moment, and how many backfills they ran between them (1: the others wait for it or see it running).
SYNC_BENCH_SIZES=20000 picks other sizes; SYNC_BENCH_BACKENDS=sqlite picks one backend; SYNC_BENCH_RUNS=ranged
picks runs (of backfill, ranged, resume).
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

from bench import label, large, report
from stripe_emulator.seeding import seed_charges
from tests.conftest import PostgresCluster, postgres_bin_dir
from tests.support import Emulator, free_port

RATE_PER_S = 25
RANGED_WORKERS = 10  # the default against Stripe (STRIPE_SYNC_BACKFILL_WORKERS)
DAYS = 60
SESSIONS = 4
DEFAULT_SIZES = (100_000, 1_000_000) if large() else (100_000,)  # 1M with BENCH_LARGE=1
BACKENDS = ("sqlite", "postgresql")


class Interrupted(Exception):
    """Raised from the sync's progress callback: the process stops mid-backfill."""


def counted_client(url: str, retries: int = 0) -> tuple[stripe.StripeClient, list]:
    """A client whose every request is recorded (no SDK retries unless `retries`: the sync's own back-off is what
    is measured)."""
    base = type(new_default_http_client())
    sent: list = []

    class _Client(base):
        def request(self, method, url, headers, post_data=None):
            sent.append(url)
            return super().request(method, url, headers, post_data)

    client = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": url}, http_client=_Client(), max_network_retries=retries
    )
    return client, sent


def use_store(workdir: Path, name: str, port: int, database_url: str | None = None, workers: int = 0) -> None:
    """Point the shop at the fresh store `database_url` (else a SQLite file `name`) and the bench's emulator, with
    the sync paced at Stripe's rate as it is with real keys (and `workers` threads listing ranges, 0: one list)."""
    from shop import config

    os.environ["STRIPE_SYNC_BACKFILL_WORKERS"] = str(workers)
    os.environ["SHOP_DATA_DIR"] = str(workdir / name)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / f'{name}.db'}"
    os.environ["STRIPE_EMULATOR_PORT"] = str(port)
    os.environ["STRIPE_SYNC_REQUESTS_PER_S"] = str(RATE_PER_S)
    os.environ.pop("STRIPE_SECRET_KEY", None)
    config.get_settings.cache_clear()


EMULATOR_HEADERS = {"Authorization": "Bearer sk_test_emulator"}


def disarm(emulator: Emulator) -> None:
    httpx.delete(f"{emulator.url}/_emulator/faults", headers=EMULATOR_HEADERS).raise_for_status()


def rate_limit(emulator: Emulator, times: int) -> None:
    spec = {"method": "GET", "path": "/v1/*", "action": {"rate_limit_per_s": RATE_PER_S}, "times": times}
    disarm(emulator)
    httpx.post(f"{emulator.url}/_emulator/faults", json=spec, headers=EMULATOR_HEADERS).raise_for_status()


def backfill(emulator: Emulator, size: int, name: str, backend: str) -> None:
    """One paced backfill of the whole account into the current (empty) store, under the rate limit."""
    from shop import config, sync, sync_reading

    pages = math.ceil(size / sync_reading.PAGE_SIZE)
    rate_limit(emulator, times=100 * pages + 10_000)
    ranged = os.environ.get("STRIPE_SYNC_BACKFILL_WORKERS", "0") not in ("0", "1")
    # Threads held back by a slower writer leave their connections idle past the server's keep-alive: a request
    # may then meet a closed connection, which the SDK retries as the shop's own client does (MAX_NETWORK_RETRIES).
    client, sent = counted_client(emulator.url, retries=config.MAX_NETWORK_RETRIES if ranged else 0)
    started = time.perf_counter()
    result = sync.sync(client)
    seconds = time.perf_counter() - started
    assert result.charges_upserted == size, result
    report_name = f"sync_backfill_ranged_{name}_{backend}" if ranged else f"sync_backfill_{name}_{backend}"
    report(f"{report_name}_s", seconds, "s")
    report(f"{report_name}_requests", len(sent), "requests")
    if ranged:
        return  # its requests include the probes that find the span: no 429 count by difference
    # The requests that got through: the events head, the charge pages, one (empty) refunds and disputes page.
    report(f"{report_name}_429s", len(sent) - (pages + 3), "requests")


def resumed_backfill(emulator: Emulator, size: int, name: str, backend: str) -> None:
    """A backfill stopped once half the charges are stored, then the next sync's requests."""
    from shop import config, sync

    half = size // 2

    def stop_halfway(fraction: float, text: str) -> None:
        if text.startswith(f"Fetched {half:,} charges"):
            raise Interrupted(text)

    # The stopped half runs unpaced (its time is not a figure); the resumed sync is paced and rate limited.
    os.environ["STRIPE_SYNC_REQUESTS_PER_S"] = "0"
    config.get_settings.cache_clear()
    disarm(emulator)
    try:
        sync.sync(counted_client(emulator.url)[0], stop_halfway)
    except Interrupted:
        pass
    else:
        raise AssertionError("the backfill was not interrupted")
    os.environ["STRIPE_SYNC_REQUESTS_PER_S"] = str(RATE_PER_S)
    config.get_settings.cache_clear()
    rate_limit(emulator, times=10 * size + 10_000)
    client, sent = counted_client(emulator.url)
    resumed = sync.sync(client)
    assert resumed.kind == "backfill" and "Resumed" in resumed.note, resumed
    report(f"sync_resume_{name}_{backend}_requests", len(sent), "requests")


def main() -> int:
    from shop import sync_reading

    sizes = [int(size) for size in os.environ.get("SYNC_BENCH_SIZES", ",".join(map(str, DEFAULT_SIZES))).split(",")]
    backends = os.environ.get("SYNC_BENCH_BACKENDS", ",".join(BACKENDS)).split(",")
    cluster = PostgresCluster(postgres_bin_dir(), free_port()) if "postgresql" in backends else None
    if cluster:
        cluster.start()
    try:
        for position, size in enumerate(sizes):
            name = label(size)
            pages = math.ceil(size / sync_reading.PAGE_SIZE)
            report(f"sync_backfill_{name}_floor_requests", pages, "requests")
            report(f"sync_backfill_{name}_floor_s", pages / RATE_PER_S, "s")
            with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
                workdir = Path(tmp)
                started = time.perf_counter()
                seed_charges(workdir / "emulator", size, start=int(time.time()) - DAYS * 86400, spacing=1)
                print(f"# seeded {size:,} charges in {time.perf_counter() - started:.1f} s", flush=True)
                emulator = Emulator(free_port(), workdir / "emulator")
                emulator.start()
                try:
                    for backend in backends:
                        for run in os.environ.get("SYNC_BENCH_RUNS", "backfill,ranged,resume").split(","):
                            url = cluster.url(cluster.create_database()) if backend == "postgresql" else None
                            workers = RANGED_WORKERS if run == "ranged" else 0
                            use_store(workdir, f"{backend}-{run}", emulator.port, url, workers)
                            (resumed_backfill if run == "resume" else backfill)(emulator, size, name, backend)
                    if position == 0:
                        four_sessions(workdir, emulator, pages)
                finally:
                    emulator.stop()
    finally:
        if cluster:
            cluster.stop()
    return 0


def four_sessions(workdir: Path, emulator: Emulator, pages: int) -> None:
    """Four sessions start a sync of an empty store at the same moment: how many backfills ran."""
    from shop import sync

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


if __name__ == "__main__":
    sys.exit(main())
