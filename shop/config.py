"""Settings for the shop: Stripe keys and mode, the emulator, the database, the ops password.

Values come from the environment first, then from `.streamlit/secrets.toml` in the working directory (the file
Streamlit reads as `st.secrets`), so the same settings serve the app, the notebooks and the command-line tools.
Without STRIPE_SECRET_KEY the shop runs in emulator mode against `python -m stripe_emulator` (started and kept
running by `shop.emulator_process`). Whether keys are live is decided once, by `Settings.is_live`.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import stripe

EMULATOR_SECRET_KEY = "sk_test_emulator"
EMULATOR_PUBLISHABLE_KEY = "pk_test_emulator"
DEFAULT_EMULATOR_HOST = "127.0.0.1"
DEFAULT_EMULATOR_PORT = 12111
STRIPE_JS_URL = "https://js.stripe.com/v3/"
# The SDK's own default for how long one request may wait for Stripe (stripe.RequestsClient(timeout=80)).
DEFAULT_STRIPE_TIMEOUT_S = 80.0
# Stripe's rate limit in test mode: 25 reads a second (live mode: 100; docs.stripe.com/rate-limits). A sync paces
# its requests below it by default against real Stripe; the emulator has no limit unless a fault sets one.
DEFAULT_SYNC_REQUESTS_PER_S = 25.0
DEFAULT_SYNC_BACKFILL_WORKERS = 10
# Network retries of the SDK: it adds an idempotency key to the POSTs it retries, and ours are explicit anyway.
MAX_NETWORK_RETRIES = 2
# Slack for the time between writing an attempt and the SDK sending its request, and for this machine's clock.
CALL_MARGIN_S = 5.0

Mode = Literal["emulator", "stripe"]
CheckoutApi = Literal["payment_intents", "charges", "checkout_sessions"]
CHECKOUT_APIS: tuple[CheckoutApi, ...] = ("payment_intents", "charges", "checkout_sessions")
Capture = Literal["at_checkout", "at_shipment"]
CAPTURES: tuple[Capture, ...] = ("at_checkout", "at_shipment")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    """Everything the shop reads from its environment, resolved once."""

    mode: Mode
    secret_key: str
    publishable_key: str
    emulator_host: str
    emulator_port: int
    emulator_data_dir: Path
    data_dir: Path
    database_url: str
    ops_password: str | None
    allow_live_keys: bool
    # PaymentIntents by default: docs.stripe.com/tutorials/charges says new integrations can't use the Charges
    # API to create payments; "charges" keeps the seed's token + charge flow; "checkout_sessions" pays a Checkout
    # Session with the Payment Element (shop.checkout.sessions).
    checkout_api: CheckoutApi = "payment_intents"
    # The whsec_ secret that signs Stripe's webhook deliveries to /webhooks/stripe (STRIPE_WEBHOOK_SECRET). In
    # emulator mode it may stay unset: the app registers its own endpoint and keeps that secret (shop.webhooks).
    webhook_secret: str | None = None
    # Seconds one request to Stripe may wait for its answer (STRIPE_TIMEOUT_S); see `longest_call_s`.
    stripe_timeout_s: float = DEFAULT_STRIPE_TIMEOUT_S
    # Requests a second a sync may send (STRIPE_SYNC_REQUESTS_PER_S); 0: unpaced.
    sync_requests_per_s: float = 0.0
    # Threads of the first sync listing charges in `created` ranges side by side within that pace
    # (STRIPE_SYNC_BACKFILL_WORKERS; shop.backfill_ranges); 0 or 1: one list, page after page.
    sync_backfill_workers: int = 0
    # When the card is charged (CAPTURE): at checkout, or only authorized then and captured by "Mark shipped"
    # (docs.stripe.com/payments/place-a-hold-on-a-payment-method: capture_method=manual; Charges: capture=false).
    capture: Capture = "at_checkout"
    # Staff sign-in (shop.auth, shop.staff_sessions). The key that signs the staff cookies (OPS_SESSION_SECRET); unset:
    # a random one kept in the database, shared by every process on it.
    session_secret: str | None = None
    # Hours a staff sign-in lasts (OPS_SESSION_HOURS).
    session_hours: float = 12.0
    # The proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES: addresses or networks, comma-separated).
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # With [auth] (single sign-on): who may see the finance pages (OPS_ALLOWED_EMAILS, OPS_ALLOWED_DOMAINS).
    allowed_emails: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    # True when secrets.toml has an [auth] section: staff sign in with single sign-on (st.login), not the password.
    sso_configured: bool = False

    @property
    def capture_at_shipment(self) -> bool:
        """True when checkout only authorizes and shipping captures (CAPTURE=at_shipment)."""
        return self.capture == "at_shipment"

    @property
    def emulator_url(self) -> str:
        """Base URL of the emulator (meaningful in emulator mode only)."""
        return f"http://{self.emulator_host}:{self.emulator_port}"

    @property
    def api_base(self) -> str | None:
        """Where the SDK sends API calls: the emulator, or None for Stripe's default."""
        return self.emulator_url if self.mode == "emulator" else None

    @property
    def stripe_js_url(self) -> str:
        """Where the browser loads Stripe.js from."""
        return f"{self.emulator_url}/v3/" if self.mode == "emulator" else STRIPE_JS_URL

    @property
    def is_live(self) -> bool:
        """True for live keys, secret (sk_live_) or restricted (rk_live_): real money moves (ALLOW_LIVE_KEYS only)."""
        return _is_live_key(self.secret_key)

    @property
    def is_test(self) -> bool:
        """True when no real money can move: the emulator, or Stripe test mode (Stripe's test cards work)."""
        return not self.is_live

    def dashboard_url(self, object_id: str) -> str | None:
        """Link to a payment (ch_, py_, pi_, or a refund's re_) or a payout (po_) in the Stripe Dashboard; None in
        emulator mode."""
        if self.mode == "emulator":
            return None
        prefix = "" if self.is_live else "test/"
        section = "payouts" if object_id.startswith("po_") else "payments"
        return f"https://dashboard.stripe.com/{prefix}{section}/{object_id}"


def _secrets_file() -> dict:
    """The top-level values of `.streamlit/secrets.toml`, or {} when there is none."""
    path = Path.cwd() / ".streamlit" / "secrets.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML ({exc}); fix or remove it.") from exc


def _is_live_key(key: str) -> bool:
    # Stripe's key prefixes: sk_/rk_/pk_ followed by live_ or test_ (https://docs.stripe.com/keys).
    return key.startswith(("sk_live_", "rk_live_", "pk_live_"))


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: dict[str, str] | None = None, secrets: dict | None = None) -> Settings:
    """Resolve settings from `env` (default os.environ) and `secrets` (default the secrets file).

    Raises ConfigError when keys are inconsistent or live keys are used without ALLOW_LIVE_KEYS.
    """
    env = dict(os.environ) if env is None else env
    secrets = _secrets_file() if secrets is None else secrets

    def read(name: str) -> str | None:
        value = env.get(name)
        if value in (None, ""):
            value = secrets.get(name) or secrets.get(name.lower())
        return None if value in (None, "") else str(value).strip()

    data_dir = Path(read("SHOP_DATA_DIR") or "data").expanduser().resolve()
    secret_key = read("STRIPE_SECRET_KEY")
    publishable_key = read("STRIPE_PUBLISHABLE_KEY")
    allow_live = _truthy(read("ALLOW_LIVE_KEYS"))

    if secret_key:
        mode: Mode = "stripe"
        if not secret_key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ConfigError("STRIPE_SECRET_KEY must start with sk_test_ (find it under Developers > API keys).")
        if not publishable_key:
            raise ConfigError("STRIPE_SECRET_KEY is set but STRIPE_PUBLISHABLE_KEY is not: set both (pk_test_…).")
        if not publishable_key.startswith(("pk_test_", "pk_live_")):
            raise ConfigError("STRIPE_PUBLISHABLE_KEY must start with pk_test_.")
        live = _is_live_key(secret_key) or _is_live_key(publishable_key)
        if live and not allow_live:
            raise ConfigError(
                "Live Stripe keys are refused: this shop moves real money with them. Use sk_test_/pk_test_ keys, "
                "or set ALLOW_LIVE_KEYS=1 if you really mean it."
            )
        if _is_live_key(secret_key) != _is_live_key(publishable_key):
            raise ConfigError("The secret and publishable keys are from different modes (test vs live).")
    else:
        mode = "emulator"
        secret_key, publishable_key = EMULATOR_SECRET_KEY, EMULATOR_PUBLISHABLE_KEY

    port_text = read("STRIPE_EMULATOR_PORT") or str(DEFAULT_EMULATOR_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"STRIPE_EMULATOR_PORT must be a port number, not {port_text!r}.")

    checkout_api = (read("CHECKOUT_API") or "payment_intents").lower()
    if checkout_api not in CHECKOUT_APIS:
        raise ConfigError(
            f"CHECKOUT_API must be payment_intents (the default), charges or checkout_sessions, not {checkout_api!r}."
        )

    capture = (read("CAPTURE") or "at_checkout").lower()
    if capture not in CAPTURES:
        raise ConfigError(f"CAPTURE must be at_checkout (the default) or at_shipment, not {capture!r}.")

    timeout_text = read("STRIPE_TIMEOUT_S") or str(DEFAULT_STRIPE_TIMEOUT_S)
    try:
        stripe_timeout_s = float(timeout_text)
    except ValueError:
        stripe_timeout_s = 0.0
    if not 0 < stripe_timeout_s <= 600:
        raise ConfigError(f"STRIPE_TIMEOUT_S must be a number of seconds from 0 to 600, not {timeout_text!r}.")

    default_rate = DEFAULT_SYNC_REQUESTS_PER_S if mode == "stripe" else 0.0
    rate_text = read("STRIPE_SYNC_REQUESTS_PER_S") or str(default_rate)
    try:
        sync_requests_per_s = float(rate_text)
    except ValueError:
        sync_requests_per_s = -1.0
    if not 0 <= sync_requests_per_s <= 1000:
        raise ConfigError(
            f"STRIPE_SYNC_REQUESTS_PER_S must be a number of requests a second from 0 (unpaced) to 1000, "
            f"not {rate_text!r}."
        )

    # Against Stripe a page takes ~0.3-0.5 s: 10 pages in flight keep 25 requests a second going.
    workers_text = read("STRIPE_SYNC_BACKFILL_WORKERS") or (
        str(DEFAULT_SYNC_BACKFILL_WORKERS) if mode == "stripe" else "0"
    )
    if not workers_text.isdigit() or int(workers_text) > 64:
        raise ConfigError(f"STRIPE_SYNC_BACKFILL_WORKERS must be a whole number from 0 to 64, not {workers_text!r}.")

    hours_text = read("OPS_SESSION_HOURS") or "12"
    try:
        session_hours = float(hours_text)
    except ValueError:
        session_hours = 0.0
    if not 0 < session_hours <= 24 * 30:
        raise ConfigError(f"OPS_SESSION_HOURS must be a number of hours from 0 to 720, not {hours_text!r}.")
    session_secret = read("OPS_SESSION_SECRET")
    if session_secret is not None and len(session_secret) < 32:
        raise ConfigError("OPS_SESSION_SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`).")

    emulator_data_dir = Path(read("STRIPE_EMULATOR_DATA_DIR") or data_dir / "emulator").expanduser().resolve()
    database_url = read("DATABASE_URL") or f"sqlite:///{data_dir / 'shop.db'}"
    return Settings(
        mode=mode,
        secret_key=secret_key,
        publishable_key=publishable_key,
        emulator_host=read("STRIPE_EMULATOR_HOST") or DEFAULT_EMULATOR_HOST,
        emulator_port=int(port_text),
        emulator_data_dir=emulator_data_dir,
        data_dir=data_dir,
        database_url=database_url,
        ops_password=read("OPS_PASSWORD"),
        allow_live_keys=allow_live,
        checkout_api=checkout_api,
        webhook_secret=read("STRIPE_WEBHOOK_SECRET"),
        stripe_timeout_s=stripe_timeout_s,
        capture=capture,
        sync_requests_per_s=sync_requests_per_s,
        sync_backfill_workers=int(workers_text),
        session_secret=session_secret,
        session_hours=session_hours,
        trusted_proxies=_networks(read("TRUSTED_PROXIES")),
        allowed_emails=frozenset(item.lower() for item in _items(read("OPS_ALLOWED_EMAILS"))),
        allowed_domains=frozenset(item.lower().lstrip("@") for item in _items(read("OPS_ALLOWED_DOMAINS"))),
        sso_configured=isinstance(secrets.get("auth"), dict),
    )


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _networks(value: str | None) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in _items(value):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"TRUSTED_PROXIES lists {item!r}, which is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8)."
            ) from exc
    return tuple(networks)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (cached; call `get_settings.cache_clear()` after changing the environment)."""
    return load_settings()


@functools.cache
def _client_for(settings: Settings) -> stripe.StripeClient:
    # Uploads go to Stripe's files host (docs.stripe.com/file-upload); the emulator answers both on one address.
    base = {"api": settings.api_base, "files": settings.api_base} if settings.api_base else None
    return stripe.StripeClient(
        settings.secret_key,
        base_addresses=base,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_s),
    )


def longest_call_s(settings: Settings | None = None) -> float:
    """The longest one SDK call of `stripe_client()` can run, in seconds: after this, it has ended for certain.

    Each of its 1 + MAX_NETWORK_RETRIES tries may wait the timeout twice (`requests` applies it to connecting and to
    reading alike), and between tries the SDK sleeps at most its back-off (HTTPClient.INITIAL_DELAY doubling, capped
    at MAX_DELAY; jitter only shortens it). Reconciliation never calls an attempt younger than this "not charged".
    """
    settings = settings or get_settings()
    tries = 1 + MAX_NETWORK_RETRIES
    back_off = sum(
        min(stripe.HTTPClient.INITIAL_DELAY * 2 ** (retry - 1), stripe.HTTPClient.MAX_DELAY)
        for retry in range(1, tries)
    )
    return tries * 2 * settings.stripe_timeout_s + back_off + CALL_MARGIN_S


def stripe_client(settings: Settings | None = None) -> stripe.StripeClient:
    """The configured `stripe.StripeClient` for the current mode; no network I/O (see shop.emulator_process)."""
    return _client_for(settings or get_settings())


def setting(name: str, env: dict[str, str] | None = None) -> str | None:
    """One setting by name, read as `load_settings` reads its own: the environment, then the secrets file.

    None when unset or empty. For settings of one part of the shop (the mail's SMTP_URL, EMAIL_FROM, …) that the
    rest of it never reads.
    """
    env = dict(os.environ) if env is None else env
    value = env.get(name)
    if value in (None, ""):
        secrets = _secrets_file()
        value = secrets.get(name) or secrets.get(name.lower())
    return None if value in (None, "") else str(value).strip()
