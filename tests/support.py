"""Helpers the test folders and the benchmarks share: free ports, processes, a private emulator, settings.

Test modules and `bench` import from here (never from conftest or from each other); conftest only turns these
into fixtures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], failure: str, timeout: float = 30.0) -> None:
    """Poll `condition` until it is true; fail with `failure` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)  # polling interval of a wait-for-condition


def wait_for_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; fail early if `proc` exits first."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:  # connection refused while the server starts
            last_error = exc
        time.sleep(0.05)  # polling interval of a wait-for-condition, not a fixed delay
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


def start_process(
    args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT, log: Path | None = None
) -> subprocess.Popen:
    """Start a server in its own process group so that `stop_process` ends it and its children.

    Its output goes to `log` when given (a failing browser test shows the tail), else nowhere.
    """
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)  # the server's data directory may not exist yet
    output = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        )
    finally:
        if log:
            output.close()  # the child holds its own copy


def stop_process(proc: subprocess.Popen) -> None:
    """End a process group started by `start_process`."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Emulator:
    """A running `python -m stripe_emulator` of this test session."""

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start_process(
            [
                sys.executable,
                "-m",
                "stripe_emulator",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ]
        )
        wait_for_http(f"{self.url}/_emulator/health", proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def client(self, key: str = "sk_test_emulator"):
        """A `stripe.StripeClient` pointed at this emulator."""
        import stripe

        return stripe.StripeClient(key, base_addresses={"api": self.url, "files": self.url}, max_network_retries=0)

    def reset(self) -> None:
        """Empty the emulator's account (an emulator-only endpoint)."""
        self.client().raw_request("post", "/_emulator/reset")


def use_emulator(
    patch: pytest.MonkeyPatch, emulator: Emulator, data_dir: Path, database_url: str | None = None
) -> None:
    """Point the shop's settings at `emulator` (emulator mode), with its files in `data_dir`.

    The order store is `database_url` (see the `database_url` fixture), else a SQLite file in `data_dir`.
    """
    from shop.config import get_settings

    patch.setenv("SHOP_DATA_DIR", str(data_dir))
    patch.setenv("DATABASE_URL", database_url or f"sqlite:///{data_dir / 'shop.db'}")
    patch.setenv("STRIPE_EMULATOR_PORT", str(emulator.port))
    patch.setenv("STRIPE_EMULATOR_DATA_DIR", str(emulator.data_dir))
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "OPS_PASSWORD", "ALLOW_LIVE_KEYS"):
        patch.delenv(name, raising=False)
    get_settings.cache_clear()


@contextmanager
def running_emulator(data_dir: Path) -> Iterator[Emulator]:
    """An emulator on a free port with its store in `data_dir`, stopped on exit."""
    emu = Emulator(free_port(), data_dir)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
