"""Fault injection for tests and demos: make chosen API requests slow, fail, or lose their response.

`POST /_emulator/faults` arms a fault from JSON `{"method": "POST", "path": "/v1/payment_intents/*/confirm",
"action": ..., "times": 1}`; the next `times` requests whose method and path match (`path` is a glob in which
`*` matches any characters, `/` included) meet it on arrival:

- `{"delay_s": N}`: wait N seconds, then handle the request as usual;
- `"drop_after_commit"`: handle the request and commit its result (and its idempotency key), then close the
  connection without sending any response — a client sees a lost answer to a request that took effect;
- `{"status": 500}` / `{"status": 429}`: answer Stripe's error (api_error / rate limit) and commit nothing;
- `{"status": 500, "after_commit": true}`: handle the request and commit its result, then answer Stripe's 500
  api_error instead of it (saved as the idempotency key's result, as Stripe saves a 500) — the request took
  effect, the client saw an error, which Stripe can answer (docs.stripe.com/error-low-level#server-errors);
- `{"rate_limit_per_s": N}`: a rate limiter — of the next `times` matching requests, those beyond N in any one
  second are answered Stripe's 429 `rate_limit` error (nothing committed), the others handled as usual (Stripe's
  test mode allows 25 read requests a second: docs.stripe.com/rate-limits). Each matching request counts towards
  `times`, answered or refused.

`GET /_emulator/faults` lists the armed faults with their remaining counts, `DELETE /_emulator/faults` and
`/_emulator/reset` clear them.
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stripe_emulator.errors import StripeError, invalid

log = logging.getLogger("stripe_emulator")

METHODS = ("GET", "POST", "DELETE")
MAX_DELAY_S = 600
DROP_FLAG = "stripe_emulator.drop_connection"  # scope key: the response of this request is never sent


@dataclass
class Fault:
    """One armed fault: what it matches, what it does, and how many more requests it applies to."""

    id: int
    method: str
    path: str
    action: str | dict[str, Any]
    remaining: int
    # A rate limiter's record: when each request it let through arrived (monotonic seconds, the last second only).
    admitted: collections.deque = field(default_factory=collections.deque)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request meets this fault."""
        return self.method == method and fnmatch.fnmatchcase(path, self.path)

    def describe(self) -> dict[str, Any]:
        """The JSON shape of the fault in the faults endpoints."""
        return {
            "id": f"fault_{self.id}",
            "method": self.method,
            "path": self.path,
            "action": self.action,
            "remaining": self.remaining,
        }


def _check_action(action: Any) -> str | dict[str, Any]:
    if action == "drop_after_commit":
        return action
    if isinstance(action, dict) and set(action) == {"delay_s"}:
        delay = action["delay_s"]
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY_S:
            raise invalid(f"action.delay_s must be a number of seconds from 0 to {MAX_DELAY_S}.", param="action")
        return {"delay_s": delay}
    if isinstance(action, dict) and set(action) == {"rate_limit_per_s"}:
        rate = action["rate_limit_per_s"]
        if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 10_000:
            raise invalid("action.rate_limit_per_s must be a whole number of requests from 1 to 10000.", param="action")
        return {"rate_limit_per_s": rate}
    if isinstance(action, dict) and set(action) == {"status"}:
        if action["status"] not in (500, 429):
            raise invalid("action.status must be 500 or 429.", param="action")
        return {"status": action["status"]}
    if isinstance(action, dict) and set(action) == {"status", "after_commit"}:
        if action["status"] != 500 or action["after_commit"] is not True:
            raise invalid("action.after_commit goes with status 500 and must be true.", param="action")
        return {"status": 500, "after_commit": True}
    raise invalid(
        'action must be {"delay_s": N}, "drop_after_commit", {"status": 500}, {"status": 500, "after_commit": '
        'true}, {"status": 429} or {"rate_limit_per_s": N}.',
        param="action",
    )


class FaultBoard:
    """The armed faults of a running emulator (in memory: a restart disarms them)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def arm(self, spec: Any) -> Fault:
        """Validate a fault's JSON spec and arm it; a 400 StripeError when the spec is wrong."""
        if not isinstance(spec, dict):
            raise invalid("The body must be a JSON object.")
        unknown = set(spec) - {"method", "path", "action", "times"}
        if unknown:
            raise invalid(f"Received unknown parameter: {sorted(unknown)[0]}", param=sorted(unknown)[0])
        method = spec.get("method")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise invalid(f"method must be one of {', '.join(METHODS)}.", param="method")
        path = spec.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise invalid("path must be a glob over request paths, starting with '/'.", param="path")
        times = spec.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise invalid("times must be a positive integer.", param="times")
        action = _check_action(spec.get("action"))
        with self._lock:
            fault = Fault(self._next_id, method.upper(), path, action, times)
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault this request meets, counted down (and disarmed at zero), or None.

        A rate limiter answers as a 429 status fault for a request beyond its rate, and None for one it lets through.
        """
        if not self._faults:  # the common case, without taking the lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    if isinstance(fault.action, dict) and "rate_limit_per_s" in fault.action:
                        return _limited(fault, time.monotonic())
                    return fault
        return None

    def describe(self) -> list[dict[str, Any]]:
        """The armed faults, oldest first."""
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def clear(self) -> int:
        """Disarm every fault; return how many were armed."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
        return count


def _limited(limiter: Fault, now: float) -> Fault | None:
    """A 429 fault when `limiter` already let its rate through in the second before `now`; else None (and counted)."""
    while limiter.admitted and limiter.admitted[0] <= now - 1.0:
        limiter.admitted.popleft()
    if len(limiter.admitted) >= limiter.action["rate_limit_per_s"]:
        return Fault(limiter.id, limiter.method, limiter.path, {"status": 429}, limiter.remaining)
    limiter.admitted.append(now)
    return None


def injected_error(status: int) -> StripeError:
    """The error an injected status fault answers, in Stripe's shape."""
    if status == 429:
        # Stripe's rate-limit answer: HTTP 429 with code rate_limit (docs.stripe.com/rate-limits,
        # docs.stripe.com/error-codes#rate-limit); the SDKs raise RateLimitError for it.
        return StripeError(
            429,
            "invalid_request_error",
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    # Stripe's api_error: "API errors cover any other type of problem (e.g., a temporary problem with Stripe's
    # servers)" (docs.stripe.com/api/errors).
    return StripeError(500, "api_error", "An unknown error occurred. Please try again later. (injected fault)")


async def apply_delay(fault: Fault | None) -> None:
    """Wait out a delay fault (other requests are served meanwhile)."""
    if fault is not None and isinstance(fault.action, dict) and "delay_s" in fault.action:
        await asyncio.sleep(fault.action["delay_s"])


class ConnectionDropper:
    """Outermost ASGI wrapper: for a request flagged DROP_FLAG, close the connection instead of answering.

    The handler has run and committed by then. Closing needs the server's transport, which uvicorn's `send`
    carries (`send.__self__.transport`); under another server the response is delivered and a warning logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        dropped = False

        async def send_or_drop(message: Message) -> None:
            nonlocal dropped
            if dropped:
                return
            if message["type"] == "http.response.start" and scope.get(DROP_FLAG):
                cycle = getattr(send, "__self__", None)
                transport = getattr(cycle, "transport", None)
                if transport is not None:
                    dropped = True
                    transport.abort()
                    cycle.disconnected = True  # uvicorn then neither answers 500 nor logs a missing response
                    log.info(
                        "fault drop_after_commit: %s %s committed, connection closed", scope["method"], scope["path"]
                    )
                    return
                log.warning("drop_after_commit: this server gives no transport to close; the response is sent")
            await send(message)

        await self.app(scope, receive, send_or_drop)
