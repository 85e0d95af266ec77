"""Figures for the demo history and the notebooks: `python -m bench.seed_bench`.

Prints
    bench: seed_400_orders_s = … s       (`python -m shop.seed --orders 400`, fresh emulator and store, with sync)
    bench: seed_5000_orders_s = … s      (the same with 5,000 orders)
    bench: notebook_revenue_s = … s      (revenue.ipynb top to bottom with nbclient, on the 400-order history)
    bench: notebook_failures_s = … s
Each run gets its own emulator on a free port and its own data directory, so nothing else is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.support import ROOT, free_port, running_emulator


@contextmanager
def shop_environment(workdir: Path) -> Iterator[dict[str, str]]:
    """A running emulator of its own and the environment pointing the shop at it and at a fresh store."""
    emulator_dir = workdir / "emulator"
    with running_emulator(emulator_dir) as emulator:
        env = {key: value for key, value in os.environ.items() if key not in ("STRIPE_SECRET_KEY", "DATABASE_URL")}
        env.update(
            SHOP_DATA_DIR=str(workdir / "shop"),
            STRIPE_EMULATOR_PORT=str(emulator.port),
            STRIPE_EMULATOR_DATA_DIR=str(emulator_dir),
            LOCAL_SMTP_PORT=str(free_port()),  # the seed's emails go to a mail server of this run's own
        )
        yield env


def time_seed(env: dict[str, str], orders: int) -> float:
    """Seconds for the seeding command, as a user runs it."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shop.seed", "--orders", str(orders), "--days", "30", "--seed", "1"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run_notebook(env: dict[str, str], name: str) -> tuple[float, float]:
    """Execute notebooks/<name>.ipynb top to bottom (its default range, the last 30 days) in `env`: seconds
    (kernel start included) and the kernel's peak RSS in MB, read by one cell added at the end."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "print(next(l for l in open('/proc/self/status').read().splitlines() if l.startswith('VmHWM:')))"
        )
    )
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        started = time.perf_counter()
        NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
        ).execute()
        seconds = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    peak_kb = int(notebook.cells[-1].outputs[0]["text"].split()[1])
    return seconds, peak_kb / 1024


def main() -> None:
    """Run the measurements and print one `bench:` line each."""
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        with shop_environment(Path(tmp) / "small") as env:
            print(f"bench: seed_400_orders_s = {time_seed(env, 400):.1f} s", flush=True)
            for name in ("revenue", "failures"):
                print(f"bench: notebook_{name}_s = {run_notebook(env, name)[0]:.1f} s", flush=True)
        with shop_environment(Path(tmp) / "large") as env:
            print(f"bench: seed_5000_orders_s = {time_seed(env, 5000):.1f} s", flush=True)


if __name__ == "__main__":
    main()
