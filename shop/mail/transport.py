"""Sending over SMTP with the standard library, and what each answer means for the message.

A connection: `smtp://` opens plain and upgrades with STARTTLS when the server offers it (RFC 3207), `smtps://`
speaks TLS from the first byte (RFC 8314); a login when SMTP_URL has one. Answers (RFC 5321 section 4.2.1): a
4xx is temporary (try later), a 5xx permanent (this message will never go as it is). A refused login, or a
refused sender address, is the shop's configuration and not the message's: retried, with the reason for staff.
"""

from __future__ import annotations

import smtplib
import ssl

from shop.mail.settings import SmtpTarget

TIMEOUT_S = 30.0


class Temporary(Exception):
    """Try again later: the server is down, busy, or refused with 4xx (or the shop's settings need fixing)."""


class Deferred(Temporary):
    """This message only was refused for now (4xx to its recipient or its data): the next ones may go on."""


class Permanent(Exception):
    """The server refused this message for good (5xx); the text says what staff can do about it."""


def connect(target: SmtpTarget, *, timeout_s: float = TIMEOUT_S) -> smtplib.SMTP:
    """An open, greeted (and when offered, encrypted and logged-in) SMTP connection; Temporary when it fails."""
    try:
        if target.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=timeout_s)
        smtp.ehlo()
        if not target.implicit_tls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if target.username:
            smtp.login(target.username, target.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise Temporary(
            f"The mail server refused the shop's login ({exc.smtp_code}): check the user and password in SMTP_URL."
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise Temporary("The mail server does not take a login here: check SMTP_URL (smtps:// for port 465).") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise Temporary(f"Could not reach the mail server at {target.host}:{target.port} ({_describe(exc)}).") from exc
    return smtp


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".strip()
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def send(smtp: smtplib.SMTP, raw: bytes, sender: str, recipient: str) -> None:
    """Hand `raw` to the server for `recipient` only; returns when the server accepted it (a 250 to DATA).

    Raises Temporary or Permanent as the answer says (see the module docstring).
    """
    try:
        smtp.sendmail(sender, [recipient], raw)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = exc.recipients.get(recipient, (550, b""))
        words = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip()
        if code >= 500:
            raise Permanent(
                f"The mail server refused the address {recipient} ({words}). Check the address with the customer "
                "(their phone is on the order); this email will not be sent."
            ) from exc
        raise Deferred(f"The mail server deferred {recipient} ({words}).") from exc
    except smtplib.SMTPSenderRefused as exc:
        raise Temporary(f"The mail server refused the sender {sender} ({_describe(exc)}): check EMAIL_FROM.") from exc
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:
            raise Permanent(
                f"The mail server refused the message ({_describe(exc)}); this email will not be sent."
            ) from exc
        raise Deferred(f"The mail server deferred the message ({_describe(exc)}).") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise Temporary(f"The connection to the mail server failed ({_describe(exc)}).") from exc
