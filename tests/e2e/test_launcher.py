"""`make run` / `make demo` and `make stop`: Ctrl-C leaves no process behind (the emulator included), a second run
says where the first one is, and `make stop` ends what a crashed run left. Each run has its own ports and data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import ROOT, free_port, wait_until


def launcher_processes(data_dir: Path, emulator_port: int) -> list[psutil.Process]:
    """The app servers and emulator of a run on `data_dir` (found the way a person would look: by command line)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = proc.info["cmdline"] or []
            environ = proc.info["environ"] or {}
        except psutil.Error:
            continue
        is_emulator = "stripe_emulator" in cmdline and str(emulator_port) in cmdline
        is_app = "dashboard.py" in cmdline and environ.get("SHOP_DATA_DIR") == str(data_dir)
        if is_emulator or is_app:
            found.append(proc)
    return [proc for proc in found if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE]


class Run:
    """One `tools/run_replicas.py --replicas 1` (what `make run` runs) on its own ports and data directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.emulator_port = free_port()
        self.data_dir = tmp_path / "data"
        self.env = {
            **os.environ,
            "SHOP_DATA_DIR": str(self.data_dir),
            "STRIPE_EMULATOR_PORT": str(self.emulator_port),
            "STRIPE_SECRET_KEY": "",
            "STRIPE_PUBLISHABLE_KEY": "",
            "STRIPE_EMULATOR_DATA_DIR": "",
            "DATABASE_URL": "",
        }
        self.output = tmp_path / "output.txt"
        self.proc: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "tools/run_replicas.py", "--replicas", "1", "--port", str(self.port), *extra]

    def start(self) -> None:
        with self.output.open("wb") as sink:
            self.proc = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(lambda: "is up at" in self.said() or self.proc.poll() is not None, "the app did not come up", 90)
        assert self.proc.poll() is None, self.said()

    def said(self) -> str:
        return self.output.read_text()

    def again(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*extra), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for proc in launcher_processes(self.data_dir, self.emulator_port):
            proc.kill()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path)
    yield started
    started.cleanup()


def test_ctrl_c_stops_the_app_and_the_emulator_it_started(run: Run):
    run.start()
    running = launcher_processes(run.data_dir, run.emulator_port)
    assert len(running) == 2, running  # the app and the emulator it needs
    second = run.again()
    assert second.returncode == 2
    assert f"already running at http://localhost:{run.port}" in second.stdout

    run.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert run.proc.wait(timeout=30) == 0, run.said()
    assert launcher_processes(run.data_dir, run.emulator_port) == []


def test_ctrl_c_also_stops_an_emulator_the_app_started_again_after_it_died(run: Run):
    run.start()
    [emulator] = [p for p in launcher_processes(run.data_dir, run.emulator_port) if "stripe_emulator" in p.cmdline()]
    emulator.kill()
    emulator.wait(timeout=10)
    wait_until(
        lambda: any("stripe_emulator" in p.cmdline() for p in launcher_processes(run.data_dir, run.emulator_port)),
        "the emulator was not started again",
    )
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(timeout=30) == 0, run.said()
    assert launcher_processes(run.data_dir, run.emulator_port) == []


def test_make_stop_ends_what_a_crashed_run_left(run: Run):
    run.start()
    os.kill(run.proc.pid, signal.SIGKILL)  # the launcher crashes; the app and emulator run in sessions of their own
    run.proc.wait()
    assert len(launcher_processes(run.data_dir, run.emulator_port)) == 2
    stopped = run.again("--stop")
    assert stopped.returncode == 0, stopped.stdout
    assert "stopped the Stripe emulator" in stopped.stdout
    assert f"stopped the app on port {run.port}" in stopped.stdout
    assert launcher_processes(run.data_dir, run.emulator_port) == []
    assert "nothing of this checkout is running" in run.again("--stop").stdout
