"""The sender: claims due emails, renders each once, hands it to the SMTP server, marks it sent.

Per message: claim (so no other process sends it meanwhile) -> render into `raw` and store it (so a second
delivery after a crash sends the same bytes and Message-ID) -> send -> mark sent. A kill -9 at any point loses
nothing: before "sent" the claim expires and the message is sent again, at most once more for each crash between
the server's acceptance and the mark (SMTP has no way to ask a server whether it took a message; a receiver that
sees the same Message-ID twice may drop the copy, RFC 5322 section 3.6.4).

Temporary failures (server down, 4xx) are retried after a delay that doubles each time (from `base_delay_s` up to
`max_delay_s`, with some jitter so replicas do not retry in step); a permanent one (5xx, no valid address) ends the
message as failed, with the reason for staff on the order.
"""

from __future__ import annotations

import logging
import random
import smtplib
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from email import policy
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa

from shop.mail import compose, local_server, outbox, transport
from shop.mail.settings import MailSettings

log = logging.getLogger(__name__)

IDLE_POLL_S = 2.0  # how often an idle sender looks for work queued by other processes (its own wake it at once)
BATCH = 50


@dataclass
class PassResult:
    """What one pass over the due messages did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


class Sender:
    """One sender (one holder id); `run_once` is a pass, `run` loops until stopped."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: MailSettings,
        *,
        base_delay_s: float = 5.0,
        max_delay_s: float = 900.0,
        client: Any = None,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.client = client
        self.holder = holder or f"{socket.gethostname()[:20]}-{uuid.uuid4().hex[:12]}"

    def delay_for(self, attempts: int) -> float:
        """Seconds to wait before the next try of a message tried `attempts` times (doubling, capped, jittered)."""
        delay = min(self.base_delay_s * (2 ** min(attempts, 20)), self.max_delay_s)
        return delay * random.uniform(0.8, 1.2)

    def _ensure_local_server(self) -> None:
        if self.settings.local:
            local_server.ensure_running(self.settings.target.port, self.settings.mailbox_dir)

    def run_once(self) -> PassResult:
        """Send what is due now, batch by batch, over one connection; returns what happened."""
        result = PassResult()
        smtp: smtplib.SMTP | None = None
        try:
            while True:
                claimed_at = time.time()
                claimed = outbox.claim(self.engine, self.holder, limit=BATCH, now=claimed_at)
                if not claimed:
                    return result
                ready, waited = self._render_all(claimed, result)
                for index, (message, raw) in enumerate(ready):
                    try:
                        if smtp is None:
                            smtp = self._connect()
                        if time.time() - claimed_at > outbox.CLAIM_TTL_S / 2 and not outbox.still_mine(
                            self.engine, message.id, self.holder
                        ):
                            continue  # our claim ran out meanwhile: another sender may have it now
                        transport.send(smtp, raw, self._envelope_from(), message.recipient)
                    except transport.Permanent as exc:
                        self._give_up(message, str(exc), result)
                        continue
                    except transport.Deferred as exc:  # this recipient or message only: the others go on
                        self._retry([message], str(exc), result)
                        continue
                    except transport.Temporary as exc:
                        # The server is unreachable or deferring: every message still claimed waits for the next try.
                        self._retry([m for m, _ in ready[index:]], str(exc), result)
                        log.info("emails wait for the mail server: %s", exc)
                        return result
                    outbox.mark_sent(self.engine, message.id, self.holder)
                    result.sent += 1
                if waited or result.retried:
                    return result  # some wait for their next try: this pass must not pick them up again
        finally:
            if smtp is not None:
                _quit(smtp)

    def _render_all(
        self, claimed: list[outbox.OutboxMessage], result: PassResult
    ) -> tuple[list[tuple[outbox.OutboxMessage, bytes]], bool]:
        """Each claimed message's bytes, rendered once and stored before any is sent; and whether some must wait
        (what they need from Stripe did not come: they are set to try again later)."""
        ready: list[tuple[outbox.OutboxMessage, bytes]] = []
        waited = False
        fresh: dict[int, bytes] = {}
        for message in claimed:
            if message.raw is not None:
                ready.append((message, message.raw))
                continue
            try:
                email = compose.build(message, self.settings, engine=self.engine, client=self.client)
            except compose.Undeliverable as exc:
                self._give_up(message, str(exc), result)
                continue
            except compose.NotReady as exc:
                self._retry([message], str(exc), result)
                waited = True
                continue
            except Exception as exc:  # a fault of ours in one email must not hold up the others: it waits for a fix
                log.exception("email %s of order %s could not be put together", message.kind, message.order_id)
                self._retry([message], f"The email could not be put together ({type(exc).__name__}).", result)
                waited = True
                continue
            raw = email.as_bytes(policy=policy.SMTP)  # CRLF line ends, as SMTP carries them
            fresh[message.id] = raw
            ready.append((message, raw))
        outbox.store_raw(self.engine, self.holder, fresh)
        return ready, waited

    def _give_up(self, message: outbox.OutboxMessage, error: str, result: PassResult) -> None:
        outbox.give_up(self.engine, message.id, self.holder, error)
        log.warning("email %s of order %s failed for good: %s", message.kind, message.order_id, error)
        result.failed += 1

    def _retry(self, messages: list[outbox.OutboxMessage], error: str, result: PassResult) -> None:
        for message in messages:
            outbox.retry_later(self.engine, message.id, self.holder, error, self.delay_for(message.attempts))
        result.retried += len(messages)

    def _envelope_from(self) -> str:
        return parseaddr(self.settings.email_from)[1] or self.settings.email_from

    def _connect(self) -> smtplib.SMTP:
        try:
            return transport.connect(self.settings.target)
        except transport.Temporary:
            if not self.settings.local:
                raise
            self._ensure_local_server()  # the local server's process may have died: start one here
            return transport.connect(self.settings.target)

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: a pass, then sleep until woken by a new email, the next retry, or IDLE_POLL_S."""
        self._ensure_local_server()
        woken = False
        while not stop.is_set():
            result = self._safe_pass()
            if result.sent or result.failed:
                continue  # more may be due: look again at once
            if woken:
                # Woken by a commit in this process, which may still be finishing: look again for a moment.
                for _ in range(5):
                    if stop.wait(0.02) or self._safe_pass().sent:
                        break
            due = self._safe_next_due()
            wait = IDLE_POLL_S if due is None else max(0.05, min(IDLE_POLL_S, due - time.time()))
            woken = outbox.wait_for_wake(wait)

    def _safe_pass(self) -> PassResult:
        try:
            return self.run_once()
        except sa.exc.SQLAlchemyError:
            log.warning("the outbox could not be read; trying again shortly", exc_info=True)
            return PassResult()

    def _safe_next_due(self) -> float | None:
        try:
            return outbox.next_due_at(self.engine)
        except sa.exc.SQLAlchemyError:
            return None


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def start_background(engine: sa.Engine, settings: MailSettings, stop: threading.Event) -> threading.Thread:
    """Start a daemon thread running a Sender until `stop` is set (the app's lifespan calls this)."""
    sender = Sender(engine, settings)
    thread = threading.Thread(target=sender.run, args=(stop,), name="mail-sender", daemon=True)
    thread.start()
    return thread


def deliver_to_local_mailbox(engine: sa.Engine, settings: MailSettings, *, port: int | None = None) -> PassResult:
    """Send every due email to the shop's own server (started here if need be): demo history only.

    The seed's customers are fictional (example.com addresses), so their emails go to the local mailbox even when
    SMTP_URL is set, never out to the world.
    """
    local = settings if settings.local else _local_settings(settings, port)
    local_server.ensure_running(local.target.port, local.mailbox_dir)
    sender = Sender(engine, local)
    total = PassResult()
    while True:
        result = sender.run_once()
        total.sent, total.failed = total.sent + result.sent, total.failed + result.failed
        if not (result.sent or result.failed):
            total.retried = result.retried
            return total


def _local_settings(settings: MailSettings, port: int | None) -> MailSettings:
    from dataclasses import replace

    from shop.mail.settings import DEFAULT_LOCAL_PORT, SmtpTarget

    target = SmtpTarget("127.0.0.1", port or DEFAULT_LOCAL_PORT, False, None, None, local=True)
    return replace(settings, target=target)
