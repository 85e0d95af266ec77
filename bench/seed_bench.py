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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(0.05)  # poll interval while the emulator starts
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def shop_environment(workdir: Path) -> Iterator[dict[str, str]]:
    """A running emulator of its own and the environment pointing the shop at it and at a fresh store."""
    port = _free_port()
    emulator_dir = workdir / "emulator"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--data-dir", str(emulator_dir)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_emulator/health", proc)
        env = {key: value for key, value in os.environ.items() if key not in ("STRIPE_SECRET_KEY", "DATABASE_URL")}
        env.update(
            SHOP_DATA_DIR=str(workdir / "shop"),
            STRIPE_EMULATOR_PORT=str(port),
            STRIPE_EMULATOR_DATA_DIR=str(emulator_dir),
        )
        yield env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


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


def time_notebook(env: dict[str, str], name: str) -> float:
    """Seconds to execute a notebook top to bottom (kernel start included), in `env`."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        started = time.perf_counter()
        NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
        ).execute()
        return time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    """Run the measurements and print one `bench:` line each."""
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        with shop_environment(Path(tmp) / "small") as env:
            print(f"bench: seed_400_orders_s = {time_seed(env, 400):.1f} s", flush=True)
            for name in ("revenue", "failures"):
                print(f"bench: notebook_{name}_s = {time_notebook(env, f'{name}.ipynb'):.1f} s", flush=True)
        with shop_environment(Path(tmp) / "large") as env:
            print(f"bench: seed_5000_orders_s = {time_seed(env, 5000):.1f} s", flush=True)


if __name__ == "__main__":
    main()
