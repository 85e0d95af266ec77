"""Helpers the test folders and the benchmarks share: free ports, processes, a private emulator, settings.

Test modules and `bench` import from here (never from conftest or from each other); conftest only turns these
into fixtures.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stripe_emulator import testing

ROOT = Path(__file__).resolve().parent.parent


# The emulator's own test machinery (its pytest plugin's): one home for ports, processes and the server handle.
free_port = testing.free_port
wait_for_http = testing.wait_for_http
stop_process = testing.stop_process


def wait_until(condition: Callable[[], object], failure: str, timeout: float = 30.0) -> None:
    """Poll `condition` until it is true; fail with `failure` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)  # polling interval of a wait-for-condition


def start_process(
    args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT, log: Path | None = None
) -> subprocess.Popen:
    """Start a server in its own process group (from the repository root by default) so that `stop_process` ends
    it and its children. Its output goes to `log` when given (a failing browser test shows the tail), else
    nowhere."""
    return testing.start_process(args, env, cwd, log)


class Emulator(testing.EmulatorServer):
    """A running `python -m stripe_emulator` of this test session (the plugin's server handle: `client()`,
    `reset()`, the clock and faults as methods)."""

    def __init__(self, port: int, data_dir: Path) -> None:
        super().__init__(port, data_dir)


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
