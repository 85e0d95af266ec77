"""`python -m bench.ops_bench`: the Charges page on a large history, and what a sync costs.

For 1k, 10k and 100k charges (spread over 60 days, one in seven declined) in a private emulator:
- the backfill of the local copy (requests, seconds);
- the Charges page rendered by AppTest (the real dashboard, signed in, default filters): the first run (loads
  the copy from SQL), the median of 5 further runs, and one run after a refund made elsewhere and a sync;
- the same page built the naive way: every run lists every charge from the emulator and computes the numbers in
  pandas (the page's data readers are swapped for that), and the ratio naive / local;
- at 10k: an incremental sync after 10 new events (requests, seconds);
- the Charges page with refunds counted on the day issued (the toggle on; warm median);
- the charge detail page (`/charge?id=…` of the newest charge): its first run (which reads the charge's events
  from Stripe once) and the median of 5 further runs (the local copy only).
Prints `bench: <name> = <value> <unit>` lines. OPS_BENCH_SIZES=1000,10000 picks other sizes; OPS_BENCH_NAIVE=0
skips the naive page.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pandas as pd
import stripe
from stripe._http_client import new_default_http_client

from bench import label, large, report
from stripe_emulator.seeding import seed_charges
from tests.support import Emulator, free_port
from tests.support_app import sign_in_as_staff, staff_cookie_from_state

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
PORT = int(os.environ.get("OPS_BENCH_PORT") or 0) or free_port()  # a free port: other runs may share the machine
DAYS = 60
RUNS = 5
NAIVE_RUNS = {1_000: 5, 10_000: 3, 100_000: 1}  # the naive page at 100k takes long: one run is enough to tell
DEFAULT_SIZES = (1_000, 10_000, 100_000)


class CountingHTTPClient:
    """The SDK's HTTP client, counting requests."""

    def __new__(cls):
        base = type(new_default_http_client())

        class _Client(base):
            def request(self, method, url, headers, post_data=None):
                self.count += 1
                return super().request(method, url, headers, post_data)

        client = _Client()
        client.count = 0
        return client


def counted_client(url: str) -> tuple[stripe.StripeClient, object]:
    http = CountingHTTPClient()
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": url}, http_client=http), http


def use_store(workdir: Path, size: int) -> None:
    """Point the shop at this size's store and emulator."""
    from shop import config

    os.environ["SHOP_DATA_DIR"] = str(workdir / f"shop-{label(size)}")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / f'shop-{label(size)}.db'}"
    os.environ["STRIPE_EMULATOR_PORT"] = str(PORT)
    os.environ.pop("STRIPE_SECRET_KEY", None)
    config.get_settings.cache_clear()


def timed_run(at, *, needs_table: bool = True) -> float:
    """Seconds for one AppTest run of the page; fails loudly if the page broke."""
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    if needs_table and not at.dataframe:
        raise RuntimeError("the page rendered no table")
    return seconds


def charge_detail_page(charge_id: str):
    """An AppTest of the dashboard, signed in, on the charge detail of `charge_id`; and its first run's seconds."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(DASHBOARD, default_timeout=900)
    sign_in_as_staff(at)
    at.run()
    at.query_params["id"] = charge_id
    at.switch_page("pages/charge.py")
    first = timed_run(at, needs_table=False)
    if not any(metric.label == "Stripe fee" for metric in at.metric):
        raise RuntimeError("the charge detail page showed no fee")
    return at, first


def charges_page():
    """An AppTest of the dashboard, signed in, on the Charges page; and the seconds of its first run there."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(DASHBOARD, default_timeout=900)
    sign_in_as_staff(at)
    at.run()
    at.switch_page("pages/charges.py")
    return at, timed_run(at)


def naive_run_times(runs: int, url: str) -> list[float]:
    """Seconds per run of the Charges page computed the naive way: every run lists every charge from the
    emulator and computes the numbers in pandas (the page's two data readers are swapped for that)."""
    from shop import analytics, sync_rows

    listed: dict[str, pd.DataFrame] = {}

    def every_charge() -> pd.DataFrame:
        client = stripe.StripeClient("sk_test_emulator", base_addresses={"api": url})
        rows = [
            sync_rows.charge_row(charge) for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        ]
        return analytics.prepare_charges(pd.DataFrame(rows)[list(analytics.CHARGE_COLUMNS)])

    def summary(chosen: analytics.ChargeFilter, *, refunds_by_issue: bool) -> analytics.in_database.PeriodSummary:
        frame = listed["frame"] = every_charge()  # once per run: the table below reads the same listing
        without_dates = analytics.filter_charges(frame, chosen, with_dates=False)
        rows = analytics.filter_charges(without_dates, chosen)
        start, end = chosen.start, chosen.end
        held_count, held = analytics.uncaptured(rows)
        processing_count, processing = analytics.processing(rows)
        return analytics.in_database.PeriodSummary(
            kpis=analytics.kpis(without_dates, start, end),
            volume=analytics.volume_series(rows, start, end),
            net=analytics.net_series(without_dates, start, end),
            held_count=held_count,
            held_amount=held,
            processing_count=processing_count,
            processing_amount=processing,
            rows=len(rows),
        )

    def newest(chosen: analytics.ChargeFilter, limit: int) -> pd.DataFrame:
        return analytics.filter_charges(listed["frame"], chosen).head(limit)

    with mock.patch("ui.data.charges_summary", summary), mock.patch("ui.data.newest_charges", newest):
        at, first = charges_page()
        return [first] + [timed_run(at) for _ in range(runs - 1)]


def bench_size(workdir: Path, size: int) -> None:
    from shop import sync

    name = label(size)
    data_dir = workdir / f"emulator-{name}"
    started = time.perf_counter()
    now = int(time.time())
    seed_charges(data_dir, size, start=now - DAYS * 86400, spacing=max(1, DAYS * 86400 // size))
    print(f"# seeded {size:,} charges in {time.perf_counter() - started:.1f} s", flush=True)

    emulator = Emulator(PORT, data_dir)
    emulator.start()
    try:
        use_store(workdir, size)
        client, http = counted_client(emulator.url)
        started = time.perf_counter()
        backfill = sync.sync(client)
        seconds = time.perf_counter() - started
        report(f"ops_backfill_{name}_requests", http.count, "requests")
        report(f"ops_backfill_{name}_s", seconds, "s")
        assert backfill.charges_upserted == size, backfill

        if size == 10_000:
            api = emulator.client()
            for index in range(10):
                api.v1.charges.create(params={"amount": 2300 + index, "currency": "usd", "source": "tok_visa"})
            http.count = 0
            started = time.perf_counter()
            incremental = sync.sync(client)
            seconds = time.perf_counter() - started
            print(f"# incremental sync applied {incremental.events_applied} events", flush=True)
            report("ops_incremental_10_events_requests", http.count, "requests")
            report("ops_incremental_10_events_s", seconds, "s")

        at, first = charges_page()
        warm = [timed_run(at) for _ in range(RUNS)]
        local = statistics.median(warm)
        report(f"ops_charges_page_first_run_{name}_s", first, "s")
        report(f"ops_charges_page_s_{name}", local, "s")
        # A refund made elsewhere, then a sync: the next run reloads one row, not the whole copy.
        newest = emulator.client().v1.charges.list(params={"limit": 1}).data[0]
        emulator.client().v1.refunds.create(params={"charge": newest.id, "amount": 100})
        sync.sync(client)
        report(f"ops_charges_page_after_refund_sync_s_{name}", timed_run(at), "s")
        at.toggle(key="charges_refunds_by_issue").set_value(True)
        timed_run(at)  # the first run with the toggle on reads the refunds once
        by_issue = statistics.median(timed_run(at) for _ in range(RUNS))
        report(f"ops_charges_page_refunds_by_issue_s_{name}", by_issue, "s")

        detail, detail_first = charge_detail_page(newest.id)
        report(f"ops_charge_detail_first_run_s_{name}", detail_first, "s")
        detail_warm = statistics.median(timed_run(detail, needs_table=False) for _ in range(RUNS))
        report(f"ops_charge_detail_s_{name}", detail_warm, "s")
        if os.environ.get("OPS_BENCH_NAIVE", "1") == "0":  # quick runs: skip the slow naive page
            return
        if size >= 100_000 and not large():  # the naive page at 100k takes over ten minutes
            print(f"# naive page at {name}: only with BENCH_LARGE=1", flush=True)
            return
        naive_runs = NAIVE_RUNS.get(size, 1)
        print(f"# naive page at {name}: median of {naive_runs} run(s)", flush=True)
        naive = statistics.median(naive_run_times(naive_runs, emulator.url))
        report(f"ops_charges_page_naive_s_{name}", naive, "s")
        report(f"ops_charges_page_naive_ratio_{name}", naive / local, "x")
    finally:
        emulator.stop()


def main() -> int:
    sizes = [int(part) for part in os.environ.get("OPS_BENCH_SIZES", "").split(",") if part] or DEFAULT_SIZES
    with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp, staff_cookie_from_state():
        for size in sizes:
            bench_size(Path(tmp), size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
