"""Webhook delivery: each queued delivery is POSTed, signed, to its endpoint, and retried with backoff.

Deliveries are rows of the store (`webhook_deliveries`), written in the same transaction as their event by
`resources/webhook_endpoints.queue_deliveries`, so a delivery never outruns its event and one not yet made
survives a restart: the worker picks up every pending row whose time has come, whenever it starts.

What Stripe documents and this follows:
- docs.stripe.com/webhooks/signature: the `Stripe-Signature` header is `t=<unix time>,v1=<hex HMAC-SHA256 of
  "<t>.<raw body>" keyed by the endpoint's secret>`; the SDK's `Webhook.construct_event` checks it and refuses
  a timestamp older than its tolerance (300 s), so `t` is the real time of each attempt, never the emulator's
  frozen clock.
- docs.stripe.com/webhooks: any answer but a 2xx (a redirect included) or no answer is a failure; "In live mode,
  Stripe attempts to deliver a given event to your webhook endpoint for up to 3 days with an exponential back
  off"; a disabled or deleted endpoint gets no further retries. `DEFAULT_RETRY_SCHEDULE` spans about 3 days;
  `--webhook-retry-schedule` / STRIPE_EMULATOR_WEBHOOK_RETRIES make it seconds for tests.
- docs.stripe.com/api/events/object: `pending_webhooks` counts the deliveries not yet made with success.

Nothing of a delivery runs on the request that made its event: the API call commits and answers, then wakes
this worker; the HTTP posts run on a small thread pool, each with a short timeout.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import http.client
import json
import logging
import os
import threading
import time
import urllib.parse
from typing import Any

from stripe_emulator.resources.webhook_endpoints import endpoint_secret, url_allowed
from stripe_emulator.store import Store

log = logging.getLogger("stripe_emulator.webhooks")

RETRIES_ENV = "STRIPE_EMULATOR_WEBHOOK_RETRIES"
# Seconds to wait after each failed attempt: doubling from a minute to half a day, about 3 days in all.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (
    60,
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    43200,
    43200,
    43200,
    43200,
    43200,
)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
MAX_LOGGED_BODY = 500  # characters of a receiver's answer kept in the delivery log
POOL_SIZE = 8


def parse_schedule(text: str) -> tuple[float, ...]:
    """'1,2,4' -> (1.0, 2.0, 4.0): the waits in seconds before each retry ('' means no retries)."""
    waits = tuple(float(part) for part in text.split(",") if part.strip())
    if any(wait < 0 for wait in waits):
        raise ValueError("webhook retry waits must not be negative")
    return waits


def schedule_from_env() -> tuple[float, ...] | None:
    """The schedule in STRIPE_EMULATOR_WEBHOOK_RETRIES, if set."""
    text = os.environ.get(RETRIES_ENV)
    return None if text is None else parse_schedule(text)


def sign(payload: str, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header value for `payload` (docs.stripe.com/webhooks/signature)."""
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST without following redirects; returns (status, first characters of the answer)."""
    parts = urllib.parse.urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(MAX_LOGGED_BODY * 4).decode("utf-8", errors="replace")
        return response.status, text[:MAX_LOGGED_BODY]
    finally:
        connection.close()


class DeliveryWorker:
    """Posts due deliveries on a thread pool; one dispatcher thread finds them in the store."""

    def __init__(
        self,
        store: Store,
        retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE,
        allowed_hosts: frozenset[str] = frozenset(),
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.store = store
        self.retry_schedule = retry_schedule
        self.allowed_hosts = allowed_hosts
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the dispatcher (pending deliveries left by an earlier run are picked up at once)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = concurrent.futures.ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="webhook-post")
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching; posts under way finish (each within the timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wake(self) -> None:
        """New deliveries were committed: look for due ones now."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self._dispatch_due()
            except Exception:  # a closed store during shutdown, or a bug: keep the worker alive
                log.exception("webhook dispatch failed")
                wait = 1.0
            self._wake.wait(timeout=wait)

    def _dispatch_due(self) -> float:
        """Submit every due delivery not already in flight; return how long to sleep until the next one."""
        now = time.time()
        due_at = "json_extract(body, '$.next_attempt_at')"
        due = self.store.select("webhook_deliveries", [("state = ?", ["pending"]), (f"{due_at} <= ?", [now])], 1000)
        with self.store.lock:
            (soonest,) = self.store.conn.execute(
                f"SELECT MIN({due_at}) FROM webhook_deliveries WHERE state = 'pending' AND {due_at} > ?", (now,)
            ).fetchone()
        next_due = 1.0 if soonest is None else min(1.0, soonest - now)
        for delivery in due:
            with self._in_flight_lock:
                if delivery["id"] in self._in_flight:
                    continue
                self._in_flight.add(delivery["id"])
            assert self._pool is not None
            self._pool.submit(self._attempt, delivery["id"])
        return max(next_due, 0.01)

    def _attempt(self, delivery_id: str) -> None:
        try:
            self._attempt_once(delivery_id)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", delivery_id)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(delivery_id)
            self._wake.set()  # its retry (if any) may be due soon

    def _attempt_once(self, delivery_id: str) -> None:
        delivery = self.store.get("webhook_deliveries", delivery_id)
        if delivery is None or delivery["state"] != "pending":
            return  # reset or finished meanwhile
        endpoint = self.store.get("webhook_endpoints", delivery["endpoint"])
        event = self.store.get("events", delivery["event"])
        secret = endpoint_secret(self.store, delivery["endpoint"])
        if endpoint is None or endpoint["status"] != "enabled" or event is None or secret is None:
            # docs.stripe.com/webhooks: a disabled or deleted endpoint gets no further retries.
            self._finish(delivery_id, "canceled", None)
            return
        started = time.time()
        attempt: dict[str, Any] = {"created": int(started), "url": endpoint["url"]}
        if not url_allowed(endpoint["url"], self.allowed_hosts):
            attempt.update(status_code=None, error="the URL's host is not allowed", duration_ms=0)
        else:
            payload = json.dumps(event, indent=2)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Stripe-Signature": sign(payload, secret, int(started)),
            }
            try:
                status, answer = post(endpoint["url"], payload.encode(), headers, self.timeout)
                attempt.update(status_code=status, response_body=answer)
            except (OSError, http.client.HTTPException) as exc:
                attempt.update(status_code=None, error=f"{type(exc).__name__}: {exc}")
            attempt["duration_ms"] = round((time.time() - started) * 1000, 1)
        self._record(delivery_id, attempt)

    def _record(self, delivery_id: str, attempt: dict[str, Any]) -> None:
        status = attempt.get("status_code")
        succeeded = status is not None and 200 <= status < 300
        with self.store.transaction():
            delivery = self.store.get("webhook_deliveries", delivery_id)
            if delivery is None:
                return
            delivery["attempts"].append(attempt)
            tries = len(delivery["attempts"])
            if succeeded:
                delivery["state"] = "succeeded"
                delivery["next_attempt_at"] = None
                event = self.store.get("events", delivery["event"])
                if event is not None and not delivery.get("resend"):  # a resend was never counted as pending
                    event["pending_webhooks"] = max(event["pending_webhooks"] - 1, 0)
                    self.store.update("events", event)
            elif tries - 1 < len(self.retry_schedule):
                delivery["next_attempt_at"] = time.time() + self.retry_schedule[tries - 1]
            else:
                delivery["state"] = "failed"
                delivery["next_attempt_at"] = None
            self.store.update("webhook_deliveries", delivery)
        if not succeeded:
            log.info("webhook %s to %s: attempt %d failed (%s)", delivery_id, attempt["url"], tries, status)

    def _finish(self, delivery_id: str, state: str, attempt: dict[str, Any] | None) -> None:
        with self.store.transaction():
            delivery = self.store.get("webhook_deliveries", delivery_id)
            if delivery is None:
                return
            if attempt is not None:
                delivery["attempts"].append(attempt)
            delivery["state"] = state
            delivery["next_attempt_at"] = None
            self.store.update("webhook_deliveries", delivery)
