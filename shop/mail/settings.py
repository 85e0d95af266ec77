"""The mail settings: where messages go (SMTP_URL, or the local server), who they come from, links back.

- SMTP_URL: `smtp://user:password@host:587` (STARTTLS when the server offers it) or `smtps://user:password@host:465`
  (TLS from the first byte). Unset: the shop's own server on 127.0.0.1:LOCAL_SMTP_PORT (default 8025) keeps every
  message in `<data dir>/mailbox` for the Mailbox page, and nothing leaves the machine.
- EMAIL_FROM: the sender address (default orders@stripe-press.example); SHOP_NAME its display name (default
  "Stripe Press Shop"); EMAIL_REPLY_TO: a Reply-To address, when replies should go elsewhere.
- SHOP_URL: the shop's address as customers reach it, for the link to Your order (default http://localhost:8501).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from shop.config import ConfigError, get_settings, setting

DEFAULT_FROM = "orders@stripe-press.example"  # RFC 2606's example domain: never a real mailbox
DEFAULT_SHOP_NAME = "Stripe Press Shop"
DEFAULT_SHOP_URL = "http://localhost:8501"
DEFAULT_LOCAL_PORT = 8025


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect: host, port, implicit TLS or not, and the login (both None for none)."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None
    local: bool  # the shop's own loopback server (no SMTP_URL)

    def __repr__(self) -> str:  # never the password, in a log or a traceback
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpTarget({scheme}://{self.host}:{self.port}, login={'yes' if self.username else 'no'})"


@dataclass(frozen=True)
class MailSettings:
    """Everything the mail reads from its environment (see the module docstring)."""

    target: SmtpTarget
    email_from: str
    shop_name: str
    reply_to: str | None
    shop_url: str
    mailbox_dir: Path

    @property
    def local(self) -> bool:
        """True when messages go to the shop's own server (no SMTP_URL): the Mailbox page shows them."""
        return self.target.local


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:password@host:587` or `smtps://user:password@host:465` as a target; ConfigError otherwise.

    The user name and password may be percent-encoded (an @ in a user name is %40).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465.")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError as exc:
        raise ConfigError("SMTP_URL has a port that is not a number.") from exc
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        local=False,
    )


def load_mail_settings(env: dict[str, str] | None = None) -> MailSettings:
    """Resolve the mail settings from `env` (default: the environment, then the secrets file)."""
    url = setting("SMTP_URL", env)
    if url:
        target = parse_smtp_url(url)
    else:
        port_text = setting("LOCAL_SMTP_PORT", env) or str(DEFAULT_LOCAL_PORT)
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"LOCAL_SMTP_PORT must be a port number, not {port_text!r}.")
        target = SmtpTarget("127.0.0.1", int(port_text), False, None, None, local=True)
    data_dir = get_settings().data_dir
    return MailSettings(
        target=target,
        email_from=setting("EMAIL_FROM", env) or DEFAULT_FROM,
        shop_name=setting("SHOP_NAME", env) or DEFAULT_SHOP_NAME,
        reply_to=setting("EMAIL_REPLY_TO", env),
        shop_url=(setting("SHOP_URL", env) or DEFAULT_SHOP_URL).rstrip("/"),
        mailbox_dir=data_dir / "mailbox",
    )


@functools.cache
def get_mail_settings() -> MailSettings:
    """The process-wide mail settings (cached; `get_mail_settings.cache_clear()` after changing the environment)."""
    return load_mail_settings()
