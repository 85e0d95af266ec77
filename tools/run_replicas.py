"""Run several app processes over one database, as replicas behind a load balancer would (`make run-replicas N=2`).

    python tools/run_replicas.py [--replicas N] [--port PORT]

Starts N `streamlit run dashboard.py` processes on ports PORT, PORT+1, …, all with this environment: the same
DATABASE_URL, Stripe keys (or emulator), OPS_PASSWORD, CHECKOUT_API and CAPTURE. In emulator mode it first starts
the one emulator they share, through `shop.emulator_process.ensure_emulator` (the same health check and file lock
each app process uses), so the replicas find it answering and start none of their own; one of them starts it again
only if it dies, as a single `make run` would. An emulator that was already answering is used and left running.

Each replica's output is shown prefixed with its port. A replica that exits is reported (the others keep serving);
Ctrl-C stops every replica, then the emulator this command started.

SQLite (the default store) is allowed: processes on one machine share its file the way the sessions of one process
do (WAL, the file's locks, a busy timeout). Replicas on several machines need PostgreSQL
(DATABASE_URL=postgresql+psycopg://…).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `shop` from this checkout, also when the package is not installed

from shop.config import ConfigError, Settings, load_settings  # noqa: E402

START_TIMEOUT_S = 90.0  # a replica's first start imports Streamlit and pandas and migrates the store
STOP_TIMEOUT_S = 10.0
POLL_S = 0.5  # how often the processes are looked at


def say(text: str) -> None:
    print(f"[replicas] {text}", flush=True)


def port_in_use(port: int) -> bool:
    """True when something accepts connections on the port on loopback."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def shown_url(url: str) -> str:
    """The database URL without its password, for the terminal."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class Replica:
    """One `streamlit run dashboard.py` on its port, its output copied to ours line by line with a prefix."""

    def __init__(self, number: int, port: int) -> None:
        self.number = number
        self.port = port
        self.url = f"http://localhost:{port}"
        self.proc: subprocess.Popen | None = None
        self.reported = False

    @property
    def name(self) -> str:
        return f"replica {self.number} (port {self.port})"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.port",
            str(self.port),
            "--server.headless",
            "true",
        ]
        # A session of its own: Ctrl-C reaches this launcher only, which stops the replicas, then the emulator.
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        threading.Thread(target=self._copy_output, name=f"output-{self.port}", daemon=True).start()

    def _copy_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            sys.stdout.write(f"[{self.port}] {line.decode(errors='replace')}")
            sys.stdout.flush()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM to its process group (Streamlit shuts down cleanly), SIGKILL after STOP_TIMEOUT_S."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Emulator:
    """The emulator the replicas share (emulator mode), started through `shop.emulator_process.ensure_emulator`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen | None = None  # the one this command started, stopped at the end

    def start(self) -> None:
        from shop.emulator_process import ensure_emulator

        url = self.settings.emulator_url
        self.proc = ensure_emulator(self.settings)
        if self.proc is None:
            say(f"Stripe emulator: already answering on {url}; using it (left running at the end)")
        else:
            log = self.settings.data_dir / "emulator.log"
            say(f"Stripe emulator: started on {url} (pid {self.proc.pid}, output in {log})")

    def check(self) -> None:
        """Start it again, through the same lock as the replicas, when the one started here has exited."""
        from shop.emulator_process import EmulatorStartError

        if self.proc is None or self.proc.poll() is None:
            return
        say(f"the Stripe emulator exited ({exit_words(self.proc.returncode)}); starting it again")
        try:
            self.start()
        except EmulatorStartError as exc:
            self.proc = None
            say(f"{exc} The replicas try again on their next page load.")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # it runs in a session of its own: its pid is its process group
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        say("Stripe emulator stopped")


def exit_words(code: int | None) -> str:
    """How a process ended, in words: its exit code, or the signal that killed it."""
    if code is not None and code < 0:
        return f"killed by signal {-code} ({signal.Signals(-code).name})"
    return f"exit code {code}"


class Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _on_signal(_signum: int, _frame: object) -> None:
    raise Stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--replicas", type=int, default=2, help="how many app processes (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="the first one's port; the others follow (8501)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    ports = list(range(args.port, args.port + args.replicas))
    if ports[0] < 1 or ports[-1] > 65535:
        parser.error("the ports must lie between 1 and 65535")

    try:
        settings = load_settings()
    except ConfigError as exc:
        say(f"Cannot start: {exc}")
        return 2
    busy = [port for port in ports if port_in_use(port)]
    if busy:
        say(f"Cannot start: something already listens on port {', '.join(map(str, busy))}. Stop it or pick --port.")
        return 2

    from shop.db import UnsupportedDatabaseError, get_engine

    try:
        get_engine(settings.database_url).dispose()  # migrated once here, so a wrong URL is one clear message
    except UnsupportedDatabaseError as exc:
        say(f"Cannot start: {exc}")
        return 2
    except Exception as exc:  # the database is unreachable, refuses the login, …
        say(f"Cannot start: the database {shown_url(settings.database_url)} is not usable ({type(exc).__name__}).")
        return 2
    say(f"database: {shown_url(settings.database_url)}")
    if args.replicas > 1 and settings.database_url.startswith("sqlite"):
        say("SQLite: fine for processes on this machine; replicas on several machines need PostgreSQL (DATABASE_URL).")
    say(f"Stripe: {'the local emulator' if settings.mode == 'emulator' else 'Stripe test mode'}")

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    emulator = Emulator(settings) if settings.mode == "emulator" else None
    replicas = [Replica(number, port) for number, port in enumerate(ports, start=1)]
    try:
        if emulator is not None:
            emulator.start()
        for replica in replicas:
            replica.start()
        return supervise(replicas, emulator)
    except Stop:
        say("stopping every replica")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave processes behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for replica in replicas:
            replica.stop()
        if emulator is not None:
            emulator.stop()


def supervise(replicas: list[Replica], emulator: Emulator | None) -> int:
    """Report each replica once it answers and once it exits; returns 1 when every replica has exited."""
    up: set[int] = set()
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        for replica in replicas:
            assert replica.proc is not None
            if replica.proc.poll() is not None:
                if not replica.reported:
                    replica.reported = True
                    say(f"{replica.name} ended ({exit_words(replica.proc.returncode)}); the others keep serving")
                continue
            if replica.port not in up and replica.healthy():
                up.add(replica.port)
                say(f"{replica.name} is up at {replica.url}")
                if len(up) == len(replicas):
                    say("all replicas are up; Ctrl-C stops them all")
        if all(replica.reported for replica in replicas):
            say("every replica has ended")
            return 1
        if time.monotonic() > deadline:
            late = [r.name for r in replicas if r.port not in up and not r.reported]
            if late:
                say(f"not answering after {START_TIMEOUT_S:.0f} s: {', '.join(late)}")
            deadline = float("inf")  # said once
        if emulator is not None:
            emulator.check()
        time.sleep(POLL_S)  # supervising: nothing to wait on but the processes' state


if __name__ == "__main__":
    sys.exit(main())
