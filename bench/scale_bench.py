"""`python -m bench.scale_bench`: the Charges page and a charge's page at 100k and 1M charges, SQLite and
PostgreSQL side by side.

The local copy is filled straight into the shop's database (`bench.local_copy`, 365 days of charges), then each
measurement runs in a fresh Python process, so "first run" is a new server process's first page and the memory
figure is one process's peak (VmHWM): the Charges page (signed in, default filters: the last 30 days) first and
warm (median of 5); the same page on "All time" (every charge aggregated); a charge's detail first and warm;
then each notebook executed on its default range (the last 30 days), and its kernel's peak memory.
The PostgreSQL server is a throwaway cluster with durability off (fsync, synchronous_commit), like the tests'.
SCALE_BENCH_SIZES=100000 picks other sizes; SCALE_BENCH_BACKENDS=sqlite picks one backend.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench import label, large, report
from bench.seed_bench import run_notebook
from tests.support import Emulator, free_port
from tests.support_app import sign_in_as_staff, staff_cookie_from_state

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
DAYS = 365
RUNS = 5
DEFAULT_SIZES = (100_000, 1_000_000) if large() else (100_000,)  # 1M with BENCH_LARGE=1
BACKENDS = ("sqlite", "postgresql")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _timed(at, check) -> float:
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    check(at)
    return seconds


def _has_table(at) -> None:
    if not at.dataframe:
        raise RuntimeError("the page rendered no table")


def _has_fee(at) -> None:
    if not any(metric.label == "Stripe fee" for metric in at.metric):
        raise RuntimeError("the charge detail page showed no fee")


def measure() -> dict:
    """In the child process: the pages on the store of DATABASE_URL; figures as a dict."""
    with staff_cookie_from_state():
        return _measure()


def _measure() -> dict:
    from streamlit.testing.v1 import AppTest

    from shop import analytics

    figures = {}
    at = AppTest.from_file(DASHBOARD, default_timeout=900)
    sign_in_as_staff(at)
    at.run()
    at.switch_page("pages/charges.py")
    figures["first"] = _timed(at, _has_table)
    figures["warm"] = statistics.median(_timed(at, _has_table) for _ in range(RUNS))
    at.selectbox(key="charges_period").set_value("All time")
    figures["all_time_first"] = _timed(at, _has_table)
    figures["all_time_warm"] = statistics.median(_timed(at, _has_table) for _ in range(RUNS))

    newest = analytics.in_database.newest(analytics.ChargeFilter(), 1)["id"].iloc[0]
    detail = AppTest.from_file(DASHBOARD, default_timeout=900)
    sign_in_as_staff(detail)
    detail.run()
    detail.query_params["id"] = newest
    detail.switch_page("pages/charge.py")
    figures["detail_first"] = _timed(detail, _has_fee)
    figures["detail_warm"] = statistics.median(_timed(detail, _has_fee) for _ in range(RUNS))
    figures["rss_mb"] = peak_rss_mb()
    return figures


def shop_env(database_url: str, workdir: Path, emulator_port: int) -> dict[str, str]:
    """The environment of a page or notebook process on the store `database_url` (emulator mode)."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SHOP_DATA_DIR=str(workdir / "shop-data"),
        STRIPE_EMULATOR_PORT=str(emulator_port),
    )
    env.pop("STRIPE_SECRET_KEY", None)
    return env


def run_child(database_url: str, workdir: Path, emulator_port: int) -> dict:
    env = shop_env(database_url, workdir, emulator_port)
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale_bench", "--measure"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


NOTEBOOKS = ("revenue", "failures")


def bench_backend(backend: str, database_url: str, sizes: list[int], workdir: Path, emulator_port: int) -> None:
    from bench.local_copy import fill_local_copy, mark_synced
    from shop.db import get_engine

    engine = get_engine(database_url)
    for size in sizes:
        started = time.perf_counter()
        with engine.begin() as conn:  # each size on its own: an empty copy, then this many charges
            conn.execute(sa.text("DELETE FROM refunds"))
            conn.execute(sa.text("DELETE FROM charges"))
        fill_local_copy(engine, size, days=DAYS, seed=size)
        mark_synced(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))  # what autovacuum does after a bulk load
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM charges")).scalar()
        print(f"# {backend}: {count:,} charges stored ({time.perf_counter() - started:.0f} s to add)", flush=True)
        figures = run_child(database_url, workdir, emulator_port)
        name = f"{label(size)}_{backend}"
        report(f"scale_charges_page_first_run_{name}_s", figures["first"], "s")
        report(f"scale_charges_page_warm_{name}_s", figures["warm"], "s")
        report(f"scale_charges_page_all_time_first_{name}_s", figures["all_time_first"], "s")
        report(f"scale_charges_page_all_time_warm_{name}_s", figures["all_time_warm"], "s")
        report(f"scale_charge_detail_first_run_{name}_s", figures["detail_first"], "s")
        report(f"scale_charge_detail_warm_{name}_s", figures["detail_warm"], "s")
        report(f"scale_page_process_peak_rss_{name}_mb", figures["rss_mb"], "MB")
        for notebook in NOTEBOOKS:
            seconds, peak_mb = run_notebook(shop_env(database_url, workdir, emulator_port), notebook)
            report(f"scale_notebook_{notebook}_{name}_s", seconds, "s")
            report(f"scale_notebook_{notebook}_kernel_peak_rss_{name}_mb", peak_mb, "MB")
    engine.dispose()


def main() -> int:
    if "--measure" in sys.argv:
        print(json.dumps(measure()), flush=True)
        return 0
    from tests.conftest import PostgresCluster, postgres_bin_dir

    sizes = [int(part) for part in os.environ.get("SCALE_BENCH_SIZES", "").split(",") if part] or DEFAULT_SIZES
    backends = [part for part in os.environ.get("SCALE_BENCH_BACKENDS", "").split(",") if part] or BACKENDS
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        workdir = Path(tmp)
        emulator = Emulator(free_port(), workdir / "emulator")  # an empty account: the pages read the local copy
        emulator.start()
        try:
            for backend in backends:
                if backend == "sqlite":
                    bench_backend(backend, f"sqlite:///{workdir / 'shop.db'}", sizes, workdir, emulator.port)
                    continue
                cluster = PostgresCluster(postgres_bin_dir(), free_port())
                cluster.start()
                try:
                    url = cluster.url(cluster.create_database())
                    bench_backend(backend, url, sizes, workdir, emulator.port)
                finally:
                    cluster.stop()
        finally:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
