"""Run the app: one process (`make run`, `make demo`) or several over one database, as replicas behind a load
balancer would (`make run-replicas N=2`); `--stop` (`make stop`) ends what a crashed run left behind.

    python tools/run_replicas.py [--replicas N] [--port PORT] [--open]
    python tools/run_replicas.py --stop

Starts N `streamlit run dashboard.py` processes on ports PORT, PORT+1, …, all with this environment: the same
DATABASE_URL, Stripe keys (or emulator), OPS_PASSWORD, CHECKOUT_API and CAPTURE. In emulator mode it first starts
the one emulator they share, through `shop.emulator_process.ensure_emulator` (the same health check and file lock
each app process uses), so the replicas find it answering and start none of their own; one of them starts it again
only if it dies, as a single `make run` would. An emulator that was already answering is used and left running.

Each replica's output is shown prefixed with its port. A replica that exits is reported (the others keep serving);
Ctrl-C stops every replica, then the emulator this command started (or the one an app process started again after
it died). A second run on a port where the app already answers says where it is instead of failing. `--open` opens
the first replica in the browser once it answers.

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
from collections.abc import Callable
from dataclasses import dataclass
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


def app_answers(port: int) -> bool:
    """True when a Streamlit server answers its health check on the port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


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
        return app_answers(self.port)

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
        self.started_here = False  # whether this command started one (then it stops whichever runs at the end)

    def start(self) -> None:
        from shop.emulator_process import ensure_emulator

        url = self.settings.emulator_url
        self.proc = ensure_emulator(self.settings)
        self.started_here = self.started_here or self.proc is not None
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
        """Stop the emulator this command started, or the one an app process started again after it died (same
        port and data directory); an emulator that was answering before this command is left running."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # it runs in a session of its own: its pid is its process group
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            say("Stripe emulator stopped")
        elif self.started_here:
            for process in leftover_processes(self.settings, apps=False):
                end_process(process)
                say(f"Stripe emulator stopped (pid {process.pid}, started again by the app)")


@dataclass(frozen=True)
class Leftover:
    """A process of this checkout's app or emulator, found by its command line (see `leftover_processes`)."""

    pid: int
    what: str


def _process_facts(entry: Path) -> tuple[list[str], Path, dict[str, str]]:
    """A process's arguments, working directory and environment, read from /proc (OSError when it is gone)."""
    args = [part.decode(errors="replace") for part in (entry / "cmdline").read_bytes().split(b"\0") if part]
    cwd = Path(os.readlink(entry / "cwd"))
    variables = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
    environ = dict(item.split("=", 1) for item in variables if "=" in item)
    return args, cwd, environ


def leftover_processes(settings: Settings, *, apps: bool = True) -> list[Leftover]:
    """The running launchers and app servers of this checkout whose data directory is `settings.data_dir`, and the
    emulator on `settings.emulator_data_dir` (Linux: read from /proc). A test's servers, with data directories of
    their own, are never among them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args, cwd, environ = _process_facts(entry)
        except OSError:
            continue  # ended meanwhile, or not ours to read
        data_dir = (cwd / environ.get("SHOP_DATA_DIR", "data")).resolve()
        if "stripe_emulator" in args and "--data-dir" in args[:-1]:
            if Path(args[args.index("--data-dir") + 1]).resolve() == settings.emulator_data_dir:
                found.append(Leftover(int(entry.name), "the Stripe emulator"))
        elif apps and cwd == ROOT and data_dir == settings.data_dir:
            if any(arg.endswith("run_replicas.py") for arg in args):
                found.append(Leftover(int(entry.name), "a launcher"))
            elif "streamlit" in " ".join(args) and "dashboard.py" in args:
                port = args[args.index("--server.port") + 1] if "--server.port" in args[:-1] else "?"
                found.append(Leftover(int(entry.name), f"the app on port {port}"))
    return found


def end_process(process: Leftover) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; a process already gone is fine."""
    try:
        os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            os.kill(process.pid, 0)  # raises once it is gone
            time.sleep(0.1)  # waiting for a process we do not parent: nothing to wait on but its pid
        os.kill(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop_leftovers(settings: Settings) -> int:
    """`make stop`: end every launcher, app server and emulator of these settings still running; 0."""
    leftovers = leftover_processes(settings)
    if not leftovers:
        say("nothing of this checkout is running")
        return 0
    for process in sorted(leftovers, key=lambda p: p.what != "a launcher"):  # launchers first: they stop the rest
        end_process(process)
        say(f"stopped {process.what} (pid {process.pid})")
    return 0


def open_in_browser(url: str) -> None:
    """Open the app in the default browser (the server runs headless, so Streamlit does not)."""
    import webbrowser

    webbrowser.open(url)


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
    parser.add_argument("--open", action="store_true", help="open the first one in the browser once it answers")
    parser.add_argument("--stop", action="store_true", help="stop what a crashed run of this checkout left running")
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
    if args.stop:
        return stop_leftovers(settings)
    if app_answers(ports[0]):
        say(
            f"Stripe Press Shop is already running at http://localhost:{ports[0]}: open it there, "
            "or stop it first (Ctrl-C where it runs, or `make stop`)."
        )
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
        return supervise(replicas, emulator, on_up=open_in_browser if args.open else None)
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


def supervise(replicas: list[Replica], emulator: Emulator | None, on_up: Callable[[str], None] | None = None) -> int:
    """Report each replica once it answers and once it exits (`on_up` gets the first one's address when all are
    up); returns 1 when every replica has exited."""
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
                if len(replicas) == 1:
                    say(f"Stripe Press Shop is up at {replica.url}; Ctrl-C stops it and the emulator it started")
                else:
                    say(f"{replica.name} is up at {replica.url}")
                if len(up) == len(replicas):
                    if len(replicas) > 1:
                        say("all replicas are up; Ctrl-C stops them all")
                    if on_up is not None:
                        on_up(replicas[0].url)
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
