"""A real SMTP server for tests (aiosmtpd on a free port) that keeps what it accepted, and a child process that
dies (SIGKILL) at one step of an email's life."""

from __future__ import annotations

import os
import signal
import sys
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

from tests.support import free_port


class Sink:
    """An SMTP server on 127.0.0.1: `messages` as accepted; `refuse` maps an address to a reply like "550 …"."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.refuse: dict[str, str] = {}
        self.arrived = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content
        with self.arrived:
            self.raw.append(raw)
            self.messages.append(BytesParser(policy=policy.default).parsebytes(raw))  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 OK"

    def start(self) -> Sink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[EmailMessage]:
        """Wait until `count` messages arrived (fails the test after `timeout_s`)."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout_s), self.messages
        return list(self.messages)

    def of_kind(self, kind: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["X-Shop-Email"] == kind]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(step: str, order_id: str) -> None:
    """In a child process: ship `order_id` or send its emails, SIGKILLed at `step`."""
    from shop import orders
    from shop.db import get_engine
    from shop.mail import outbox
    from shop.mail.sender import Sender
    from shop.mail.settings import get_mail_settings

    if step == "before_commit":
        real = outbox.enqueue

        def enqueue_then_die(*args: Any, **kwargs: Any) -> bool:
            real(*args, **kwargs)
            _die()  # the email and the shipment are written, not committed
            return True

        outbox.enqueue = enqueue_then_die  # type: ignore[assignment]
        orders.mark_shipped(order_id, tracking_number="1Z999")
    elif step == "after_commit":
        orders.mark_shipped(order_id, tracking_number="1Z999")
        _die()  # committed; the sender never ran
    elif step == "after_send":
        outbox.mark_sent = lambda *args, **kwargs: _die()  # type: ignore[assignment]
        Sender(get_engine(), get_mail_settings()).run_once()
    raise SystemExit("the step did not kill the process")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
