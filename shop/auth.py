"""The ops password: where it comes from, a constant-time check, and a growing delay after failures.

The ops pages (charges, failures, refunds, orders) are for finance only. The password comes from env
`OPS_PASSWORD` (read by `shop.config`) or `st.secrets["ops_password"]` (passed in by the page, since this module
does not import Streamlit). In emulator mode with neither set, the demo password `DEMO_PASSWORD` (documented
in the README) opens them; in Stripe mode with neither set the ops pages stay off.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shop.config import Settings, get_settings

DEMO_PASSWORD = "stripe-press-demo"

# No delay for the first few typos; after that each failure doubles the wait, up to a minute.
FREE_FAILURES = 2
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0

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


def delay_after(failures: int) -> float:
    """Seconds to wait after `failures` consecutive wrong passwords (0 for the first FREE_FAILURES)."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - FREE_FAILURES - 1))


class FailureThrottle:
    """Counts consecutive wrong passwords for the whole server process and refuses tries during the delay.

    Process-wide on purpose: a new browser session (a reload) must not reset the delay.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self._next_try_at = 0.0

    def wait_remaining(self) -> float:
        """Seconds until the next try is accepted (0 when a try is allowed now)."""
        with self._lock:
            return max(0.0, self._next_try_at - self._clock())

    def record_failure(self) -> float:
        """Count one more wrong password; returns the delay now imposed before the next try."""
        with self._lock:
            self.failures += 1
            delay = delay_after(self.failures)
            self._next_try_at = self._clock() + delay
            return delay

    def reset(self) -> None:
        """Forget past failures (after a successful sign-in)."""
        with self._lock:
            self.failures = 0
            self._next_try_at = 0.0


THROTTLE = FailureThrottle()


def check_password(
    attempt: str,
    *,
    settings: Settings | None = None,
    secrets_password: str | None = None,
    throttle: FailureThrottle | None = None,
) -> SignInResult:
    """Check an ops password in constant time, refusing tries while a delay after failures is running."""
    throttle = throttle or THROTTLE
    source = password_source(settings, secrets_password)
    if not source.enabled:
        return SignInResult(False, HOW_TO_ENABLE)
    wait = throttle.wait_remaining()
    if wait > 0:
        return SignInResult(False, f"Too many wrong passwords. Wait {wait:.0f} s, then try again.", retry_after_s=wait)
    if not attempt:
        return SignInResult(False, "Enter the ops password.")
    if hmac.compare_digest(attempt.encode("utf-8"), str(source.password).encode("utf-8")):
        throttle.reset()
        return SignInResult(True, "Signed in.")
    delay = throttle.record_failure()
    message = "Wrong password. Check it and try again."
    if delay > 0:
        message += f" After {throttle.failures} wrong tries, the next try is possible in {delay:.0f} s."
    return SignInResult(False, message, retry_after_s=delay)
