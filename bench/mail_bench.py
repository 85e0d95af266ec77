"""Customer emails: time from "paid" to the message accepted by the local SMTP server, and outbox throughput.

Runs its own emulator and SMTP server (the shop's own aiosmtpd handler) on free ports with a throwaway data
directory and SQLite store:
- latency: 50 checkouts (Charges flow, `tok_visa`) with the app's sender thread running; from the moment the
  transaction that marks the order paid (and queues its confirmation) returns, to the moment the SMTP server has
  accepted that order's confirmation (median and p95);
- throughput: 1,000 shipped emails queued at once, then one sender delivering them all (messages a second,
  rendering, claims and marks included).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench import report
from bench.seed_bench import shop_environment
from tests.support import free_port
from tests.support_data import CHECKOUT_DETAILS

RUNS = 50
QUEUED = 1000
HAMMING = "art-of-doing-science"


def main() -> None:
    """Print the figures (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp, shop_environment(Path(tmp)) as env:
        port = free_port()
        os.environ.update(env, LOCAL_SMTP_PORT=str(port), SMTP_URL="")
        from shop import attempts, catalog, orders
        from shop.checkout import charges
        from shop.config import get_settings, stripe_client
        from shop.db import get_engine
        from shop.mail import local_server, outbox
        from shop.mail.sender import Sender
        from shop.mail.settings import get_mail_settings

        get_settings.cache_clear()
        get_mail_settings.cache_clear()
        settings = get_mail_settings()
        accepted: dict[str, float] = {}
        arrived = threading.Condition()

        class Timed(local_server.MailboxHandler):
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                answer = await super().handle_DATA(server, session, envelope)
                headers = BytesHeaderParser().parsebytes(envelope.original_content)
                with arrived:
                    accepted[f"{headers['X-Shop-Order']}:{headers['X-Shop-Email']}"] = time.perf_counter()
                    arrived.notify_all()
                return answer

        controller = Controller(Timed(settings.mailbox_dir), hostname="127.0.0.1", port=port)
        controller.start()
        engine = get_engine()
        client = stripe_client()
        paid_at: dict[str, float] = {}
        real_finish = attempts.finish_attempt

        def timed_finish(attempt_id: int, outcome: str, **kwargs: Any) -> Any:
            finished = real_finish(attempt_id, outcome, **kwargs)
            if outcome == "succeeded":
                paid_at[finished.order.id] = time.perf_counter()
            return finished

        attempts.finish_attempt = timed_finish  # type: ignore[assignment]
        stop = threading.Event()
        thread = threading.Thread(target=Sender(engine, settings).run, args=(stop,), daemon=True)
        thread.start()
        waits = []
        for _ in range(RUNS):
            payment = {"token": "tok_visa", "nonce": uuid.uuid4().hex, "brand": "Visa", "last4": "4242"}
            outcome = charges.checkout(CHECKOUT_DETAILS, HAMMING, 1, payment, allow_duplicate=True, client=client)
            order_id = outcome.result.order.id
            key = f"{order_id}:confirmed"
            with arrived:
                arrived.wait_for(lambda key=key: key in accepted, timeout=30)
            waits.append(accepted[key] - paid_at[order_id])
        stop.set()
        outbox.wake()
        thread.join(timeout=10)
        attempts.finish_attempt = real_finish  # type: ignore[assignment]
        waits.sort()
        report("mail_paid_to_accepted_median", statistics.median(waits) * 1000, "ms")
        report("mail_paid_to_accepted_p95", waits[int(0.95 * (len(waits) - 1))] * 1000, "ms")

        customer = orders.Customer(**CHECKOUT_DETAILS)
        for _ in range(QUEUED):
            order = orders.create_order(customer, catalog.priced_line(HAMMING, 1))
            with engine.begin() as conn:
                outbox.enqueue(conn, order_id=order.id, kind="shipped", recipient=customer.email)
        started = time.perf_counter()
        sender = Sender(engine, settings)
        while sender.run_once().sent:
            pass
        seconds = time.perf_counter() - started
        counts = outbox.counts(engine=engine)
        assert counts["queued"] == 0 and counts["failed"] == 0, counts
        report("mail_outbox_throughput_1k", QUEUED / seconds, "messages/s")
        controller.stop()


if __name__ == "__main__":
    main()
