"""The ops password: where it comes from, a constant-time check, and a growing delay after failures.

The ops pages (charges, failures, refunds, orders) are for finance only. The password comes from env
`OPS_PASSWORD` (read by `shop.config`) or `st.secrets["ops_password"]` (passed in by the page, since this module
does not import Streamlit). In emulator mode with neither set, the demo password `DEMO_PASSWORD` (documented
in the README) opens them; in Stripe mode with neither set the ops pages stay off.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shop.config import Settings, get_settings

DEMO_PASSWORD = "stripe-press-demo"

# No delay for a session's first few typos; after that each failure doubles its wait, up to a minute. An address
# gets more free tries (colleagues behind one office address, a reload that starts a new session), and the whole
# server a ceiling of failures per minute against guessing spread over many addresses.
FREE_FAILURES = 2
ADDRESS_FREE_FAILURES = 10
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0
SERVER_FAILURES_PER_MINUTE = 100
FORGET_AFTER_S = 3600.0  # a client's failures are forgotten an hour after the last one

HOW_TO_ENABLE = (
    "The ops pages are off: no ops password is set. Set the environment variable OPS_PASSWORD, or add "
    'ops_password = "…" to .streamlit/secrets.toml, then restart the app.'
)


@dataclass(frozen=True)
class PasswordSource:
    """The password that opens the ops pages, and where it came from ("env", "secrets", "demo" or "none")."""

    password: str | None
    origin: str

    @property
    def enabled(self) -> bool:
        """True when some password is configured, so signing in is possible at all."""
        return bool(self.password)


@dataclass(frozen=True)
class SignInResult:
    """Outcome of one sign-in attempt: `ok`, a message for the user, and seconds to wait before the next try."""

    ok: bool
    message: str
    retry_after_s: float = 0.0


def password_source(settings: Settings | None = None, secrets_password: str | None = None) -> PasswordSource:
    """Which password opens the ops pages: env, then secrets, then the demo password in emulator mode only."""
    settings = settings or get_settings()
    if settings.ops_password:
        return PasswordSource(settings.ops_password, "env")
    if secrets_password:
        return PasswordSource(str(secrets_password), "secrets")
    if settings.mode == "emulator":
        return PasswordSource(DEMO_PASSWORD, "demo")
    return PasswordSource(None, "none")


def delay_after(failures: int, free: int = FREE_FAILURES) -> float:
    """Seconds to wait after `failures` consecutive wrong passwords (0 for the first `free` ones)."""
    if failures <= free:
        return 0.0
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - free - 1))


@dataclass(frozen=True)
class Client:
    """Who is signing in: the browser session and, when known, its network address."""

    session: str
    address: str | None = None


@dataclass
class _Failures:
    count: int = 0
    next_try_at: float = 0.0
    last_at: float = 0.0


class SignInThrottle:
    """Wrong-password delays per client, so one person's typos never lock out another.

    A session waits after its own failures; an address after many more (a reload starts a new session, so the
    address is what slows a guesser down); the server as a whole after SERVER_FAILURES_PER_MINUTE failures in a
    minute from anyone. Process-wide: a new browser session must not reset its address's delay.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], _Failures] = {}
        self._recent: list[float] = []  # times of the server's failures in the last minute

    def _keys(self, client: Client) -> list[tuple[tuple[str, str], int]]:
        keys = [(("session", client.session), FREE_FAILURES)]
        if client.address:
            keys.append((("address", client.address), ADDRESS_FREE_FAILURES))
        return keys

    def _server_wait(self, now: float) -> float:
        self._recent = [at for at in self._recent if at > now - 60.0]
        if len(self._recent) < SERVER_FAILURES_PER_MINUTE:
            return 0.0
        return self._recent[-SERVER_FAILURES_PER_MINUTE] + 60.0 - now

    def wait_remaining(self, client: Client) -> float:
        """Seconds until `client`'s next try is accepted (0 when a try is allowed now)."""
        with self._lock:
            now = self._clock()
            waits = [self._server_wait(now)]
            for key, _ in self._keys(client):
                failures = self._by_key.get(key)
                if failures is not None:
                    waits.append(failures.next_try_at - now)
            return max(0.0, *waits)

    def failures(self, client: Client) -> int:
        """Consecutive wrong passwords of `client`'s session."""
        with self._lock:
            failures = self._by_key.get(("session", client.session))
            return failures.count if failures else 0

    def record_failure(self, client: Client) -> float:
        """Count one more wrong password from `client`; returns the delay now imposed before its next try."""
        with self._lock:
            now = self._clock()
            self._by_key = {k: v for k, v in self._by_key.items() if v.last_at > now - FORGET_AFTER_S}
            self._recent.append(now)
            delay = 0.0
            for key, free in self._keys(client):
                failures = self._by_key.setdefault(key, _Failures())
                failures.count += 1
                failures.last_at = now
                wait = delay_after(failures.count, free)
                failures.next_try_at = now + wait
                delay = max(delay, wait)
            return delay

    def reset(self, client: Client | None = None) -> None:
        """Forget `client`'s failures (after it signed in), or everything (tests) when no client is given."""
        with self._lock:
            if client is None:
                self._by_key.clear()
                self._recent.clear()
                return
            for key, _ in self._keys(client):
                self._by_key.pop(key, None)


THROTTLE = SignInThrottle()


def _seconds(wait: float) -> str:
    # Rounded up: "Wait 0 s" would invite a try that is then refused.
    return f"{max(1, math.ceil(wait))} s"


def check_password(
    attempt: str,
    *,
    client: Client,
    settings: Settings | None = None,
    secrets_password: str | None = None,
    throttle: SignInThrottle | None = None,
) -> SignInResult:
    """Check an ops password in constant time, refusing `client`'s tries while its delay after failures runs."""
    throttle = throttle or THROTTLE
    source = password_source(settings, secrets_password)
    if not source.enabled:
        return SignInResult(False, HOW_TO_ENABLE)
    wait = throttle.wait_remaining(client)
    if wait > 0:
        return SignInResult(
            False, f"Too many wrong passwords. Wait {_seconds(wait)}, then try again.", retry_after_s=wait
        )
    if not attempt:
        return SignInResult(False, "Enter the ops password.")
    if hmac.compare_digest(attempt.encode("utf-8"), str(source.password).encode("utf-8")):
        throttle.reset(client)
        return SignInResult(True, "Signed in.")
    delay = throttle.record_failure(client)
    message = "Wrong password. Check it and try again."
    if delay > 0:
        message += f" After {throttle.failures(client)} wrong tries, the next try is possible in {_seconds(delay)}."
    return SignInResult(False, message, retry_after_s=delay)
