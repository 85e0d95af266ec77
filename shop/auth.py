"""Staff sign-in rules: the ops password (where it comes from, a constant-time check, the delays after failures),
the client's address behind trusted proxies, where a sign-in may lead back to, and the single-sign-on allow-list.

The ops pages (charges, failures, refunds, orders) are for finance only. The password comes from env
`OPS_PASSWORD` (read by `shop.config`) or `st.secrets["ops_password"]` (passed in by the page, since this module
does not import Streamlit). In emulator mode with neither set, the demo password `DEMO_PASSWORD` (documented
in the README) opens them; in Stripe mode with neither set the ops pages stay off.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from shop.config import Settings, get_settings

DEMO_PASSWORD = "stripe-press-demo"

# The wait after wrong passwords, counted three ways. A browser that once signed in carries a signed device cookie
# (shop.staff_sessions) and is limited by its own failures only: no one else's guessing slows it down. Any other
# try is counted for its browser (when it keeps its device cookie), for its network address, and for the password
# itself: the "account" budget, which fresh sessions, dropped cookies or many addresses cannot get around. Within a
# budget no delay; past it each failure doubles the wait, up to a cap. A try made while a wait runs is refused
# without checking the password, so a guesser learns nothing during it.
DEVICE_FREE_FAILURES = 3
ADDRESS_FREE_FAILURES = 10
ACCOUNT_FREE_FAILURES = 20
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0
ACCOUNT_MAX_DELAY_S = 300.0
FORGET_AFTER_S = 3600.0  # failures are forgotten an hour after the last one

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
    """Outcome of one sign-in attempt: `ok`, a message for the user, seconds to wait before the next try, and
    `reason`: "ok", "wrong", "wait" (refused unchecked while a delay runs), "empty" or "off" (no password set)."""

    ok: bool
    message: str
    retry_after_s: float = 0.0
    reason: str = ""


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


def delay_after(failures: int, free: int = DEVICE_FREE_FAILURES, cap: float = MAX_DELAY_S) -> float:
    """Seconds to wait after `failures` consecutive wrong passwords (0 for the first `free` ones, at most `cap`)."""
    if failures <= free:
        return 0.0
    return min(cap, FIRST_DELAY_S * 2 ** (failures - free - 1))


@dataclass(frozen=True)
class Client:
    """Who is signing in: the browser's device id (from its device cookie, when it has one), whether that browser
    has signed in before (`trusted`, read from the signed cookie), and its network address when known."""

    device: str | None = None
    address: str | None = None
    trusted: bool = False


@dataclass
class _Failures:
    count: int = 0
    next_try_at: float = 0.0
    last_at: float = 0.0


class SignInThrottle:
    """Wrong-password delays that one attacker cannot turn against colleagues (the budgets above).

    Process-wide and in memory: a new browser session or a reload never resets a delay.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], _Failures] = {}

    @staticmethod
    def _budgets(client: Client) -> list[tuple[tuple[str, str], int, float]]:
        budgets = []
        if client.device:
            budgets.append((("device", client.device), DEVICE_FREE_FAILURES, MAX_DELAY_S))
        if client.trusted and client.device:
            return budgets
        if client.address:
            budgets.append((("address", client.address), ADDRESS_FREE_FAILURES, MAX_DELAY_S))
        budgets.append((("account", "ops"), ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY_S))
        return budgets

    def wait_remaining(self, client: Client) -> float:
        """Seconds until `client`'s next try is accepted (0 when a try is allowed now)."""
        with self._lock:
            now = self._clock()
            waits = [0.0]
            for key, _, _ in self._budgets(client):
                failures = self._by_key.get(key)
                if failures is not None:
                    waits.append(failures.next_try_at - now)
            return max(waits)

    def failures(self, client: Client) -> int:
        """Wrong passwords counted against `client`'s own browser (or address, without a device cookie)."""
        with self._lock:
            for key, _, _ in self._budgets(client):
                if key[0] != "account":
                    failures = self._by_key.get(key)
                    return failures.count if failures else 0
            return 0

    def record_failure(self, client: Client) -> float:
        """Count one more wrong password from `client`; returns the delay now imposed before its next try."""
        with self._lock:
            now = self._clock()
            self._by_key = {k: v for k, v in self._by_key.items() if v.last_at > now - FORGET_AFTER_S}
            delay = 0.0
            for key, free, cap in self._budgets(client):
                failures = self._by_key.setdefault(key, _Failures())
                failures.count += 1
                failures.last_at = now
                wait = delay_after(failures.count, free, cap)
                failures.next_try_at = now + wait
                delay = max(delay, wait)
            return delay

    def reset(self, client: Client | None = None) -> None:
        """Forget `client`'s own failures after it signed in (the account's stay), or everything (tests)."""
        with self._lock:
            if client is None:
                self._by_key.clear()
                return
            for key, _, _ in self._budgets(client):
                if key[0] != "account":
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
        return SignInResult(False, HOW_TO_ENABLE, reason="off")
    wait = throttle.wait_remaining(client)
    if wait > 0:
        message = f"Too many wrong passwords. Wait {_seconds(wait)}, then try again."
        return SignInResult(False, message, retry_after_s=wait, reason="wait")
    if not attempt:
        return SignInResult(False, "Enter the ops password.", reason="empty")
    # Both sides hashed first: compare_digest takes as long whatever the lengths.
    if hmac.compare_digest(_digest(attempt), _digest(str(source.password))):
        throttle.reset(client)
        return SignInResult(True, "Signed in.", reason="ok")
    delay = throttle.record_failure(client)
    message = "Wrong password. Check it and try again."
    if delay > 0:
        message += f" The next try is possible in {_seconds(delay)}."
    return SignInResult(False, message, retry_after_s=delay, reason="wrong")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def client_address(peer: str | None, forwarded_for: str | None, settings: Settings | None = None) -> str | None:
    """The address of whoever sent a request: the connection's `peer`, unless it is one of TRUSTED_PROXIES.

    Behind a trusted proxy, `forwarded_for` (the X-Forwarded-For header) is read from the right: each hop a
    trusted proxy added is skipped, and the first address no trusted proxy vouches for is the client. From any
    other peer the header is ignored: anyone can write it.
    """
    settings = settings or get_settings()
    if not _trusted(peer, settings) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a hop that is no address: the chain cannot be followed past the proxy we trust
        if not _trusted(hop, settings):
            return hop
    return hops[0] if hops else peer


def is_trusted_proxy(address: str | None, settings: Settings | None = None) -> bool:
    """True when `address` is one of TRUSTED_PROXIES (whose X-Forwarded-* headers are believed)."""
    return _trusted(address, settings or get_settings())


def _trusted(address: str | None, settings: Settings) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.trusted_proxies)


def safe_next(target: str | None, page_paths: Collection[str]) -> str | None:
    """`target` rebuilt as one of our own page addresses (`/charge?id=…`), or None: never another site's.

    Only a path naming one of `page_paths` (URL paths of the app's pages) with an optional query is kept; a scheme,
    a host, `//`, a backslash or an unknown page gives None, so a link cannot send a signed-in browser elsewhere.
    """
    if not target or len(target) > 2000 or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    page = parts.path.strip("/")
    if page not in page_paths:
        return None
    query = urlencode(parse_qsl(parts.query))
    return f"/{page}" + (f"?{query}" if query else "")


def email_allowed(email: str | None, settings: Settings | None = None, *, email_verified: bool | None = None) -> bool:
    """True when a single-sign-on account may see the finance pages: its email is in OPS_ALLOWED_EMAILS or its
    domain in OPS_ALLOWED_DOMAINS. Nobody is allowed while both are empty, nor an email the provider says is not
    verified."""
    settings = settings or get_settings()
    if not email or email_verified is False or email.count("@") != 1:
        return False
    address = email.strip().lower()
    return address in settings.allowed_emails or address.rsplit("@", 1)[1] in settings.allowed_domains


NOT_ON_THE_LIST = (
    "Your account {email} is not on the shop's staff list, so the finance pages stay closed to it. Ask whoever runs "
    "the shop to add your address to OPS_ALLOWED_EMAILS (or your company's domain to OPS_ALLOWED_DOMAINS), or sign "
    "out and sign in with your work account."
)
