"""The local Stripe emulator as a process: is it answering, start it when not, heal it after it died.

Emulator mode only (`Settings.mode == "emulator"`); in Stripe mode every function here is a no-op. The app calls
`ensure_running()` on every page load: a TCP connect at most once a second per process, and a restart (under a
file lock, so one of many sessions or processes starts it) when nothing answers, also after a SIGKILL.
Command-line tools and notebooks call `connected_client()`. Messages meant for customers are plain sentences;
paths and details go to the log.
"""

from __future__ import annotations

import fcntl
import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import stripe

from shop.config import ConfigError, Settings, get_settings, stripe_client

log = logging.getLogger(__name__)

START_TIMEOUT_S = 20.0
CHECK_INTERVAL_S = 1.0  # at most one liveness probe per process and emulator per second
UNAVAILABLE_MESSAGE = "Payments are unavailable for a moment. Please reload the page in a few seconds."


class EmulatorStartError(ConfigError):
    """The emulator did not start; the message is a plain sentence (details are in the log)."""


@dataclass(frozen=True)
class EmulatorCheck:
    """The outcome of `ensure_running`: whether payments can be served, and a sentence for people if not."""

    ok: bool
    restarted: bool = False
    message: str = ""


def emulator_is_up(settings: Settings, timeout: float = 0.5) -> bool:
    """True when the emulator answers its health check over HTTP."""
    try:
        with urllib.request.urlopen(f"{settings.emulator_url}/_emulator/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _accepts_connections(settings: Settings, timeout: float = 0.2) -> bool:
    """The cheap probe: something accepts a TCP connection on the emulator's port."""
    try:
        with socket.create_connection((settings.emulator_host, settings.emulator_port), timeout=timeout):
            return True
    except OSError:
        return False


def _start(settings: Settings) -> subprocess.Popen:
    log_path = settings.data_dir / "emulator.log"
    log.info("starting the Stripe emulator on %s (output in %s)", settings.emulator_url, log_path)
    with log_path.open("ab") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stripe_emulator",
                "--host",
                settings.emulator_host,
                "--port",
                str(settings.emulator_port),
                "--data-dir",
                str(settings.emulator_data_dir),
            ],
            stdout=output,
            stderr=output,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives a Streamlit rerun or a notebook kernel restart
            cwd=Path(__file__).resolve().parent.parent,
        )


def ensure_emulator(settings: Settings | None = None) -> subprocess.Popen | None:
    """Start `python -m stripe_emulator` when nothing answers on its port (emulator mode only).

    Safe under concurrent callers (threads, Streamlit sessions, several processes): a file lock lets one of them
    start the emulator while the others wait for its health check. Returns the process this call started (in a
    session of its own, so it outlives its starter unless stopped), or None when one was answering already. Raises
    EmulatorStartError when it does not come up within START_TIMEOUT_S.
    """
    settings = settings or get_settings()
    if settings.mode != "emulator" or emulator_is_up(settings):
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.emulator_data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = settings.data_dir / f"emulator-{settings.emulator_port}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if emulator_is_up(settings):  # someone else started it while we waited for the lock
            return None
        started = _start(settings)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if emulator_is_up(settings):
                return started
            time.sleep(0.05)  # poll interval while waiting for the health check
    log.error(
        "the Stripe emulator did not answer on %s within %.0f s; see %s",
        settings.emulator_url,
        START_TIMEOUT_S,
        settings.data_dir / "emulator.log",
    )
    raise EmulatorStartError("The local Stripe emulator did not start. Try again in a moment.")


_last_ok: dict[tuple[str, int], float] = {}
_last_ok_lock = threading.Lock()


def ensure_running(settings: Settings | None = None) -> EmulatorCheck:
    """Cheap enough for every page load: in emulator mode, restart the emulator if it is not answering.

    A probe that succeeded less than CHECK_INTERVAL_S ago is trusted; otherwise one TCP connect decides, and a
    dead emulator is started again (`ensure_emulator`). Never raises for a failed start: returns ok=False with a
    plain sentence to show, and logs the details.
    """
    settings = settings or get_settings()
    if settings.mode != "emulator":
        return EmulatorCheck(ok=True)
    target = (settings.emulator_host, settings.emulator_port)
    now = time.monotonic()
    with _last_ok_lock:
        if now - _last_ok.get(target, float("-inf")) < CHECK_INTERVAL_S:
            return EmulatorCheck(ok=True)
    if _accepts_connections(settings):
        restarted = False
    else:
        log.warning("the Stripe emulator on %s does not answer; starting it again", settings.emulator_url)
        try:
            ensure_emulator(settings)
        except (EmulatorStartError, OSError):
            log.exception("restarting the Stripe emulator failed")
            return EmulatorCheck(ok=False, message=UNAVAILABLE_MESSAGE)
        restarted = True
    with _last_ok_lock:
        _last_ok[target] = time.monotonic()
    return EmulatorCheck(ok=True, restarted=restarted)


def connected_client(settings: Settings | None = None) -> stripe.StripeClient:
    """The configured client, with the emulator started first in emulator mode (for notebooks and tools)."""
    settings = settings or get_settings()
    ensure_emulator(settings)
    return stripe_client(settings)
