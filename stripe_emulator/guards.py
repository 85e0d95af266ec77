"""Limits every request meets before any handler runs: the Host it names and the size of its body.

The emulator listens on loopback with an API that can wipe its store (`/_emulator/reset`). A web page on any
origin can make a browser send requests to 127.0.0.1, and DNS rebinding can even make them same-origin under the
attacker's name; the one thing such a request cannot fake is its `Host` header, so only loopback names (and
hosts the operator lists) are answered.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_emulator.errors import StripeError, invalid

MAX_BODY_BYTES = 1024 * 1024  # Stripe's own requests are a few KB; 1 MB leaves room for any real one
ALLOWED_HOSTS_ENV = "STRIPE_EMULATOR_ALLOWED_HOSTS"
LOOPBACK_NAMES = {"localhost"}


def body_too_large(limit: int = MAX_BODY_BYTES) -> StripeError:
    """Stripe-shaped answer to a body over the limit."""
    return invalid(
        f"Request body too large: the emulator accepts at most {limit // (1024 * 1024)} MB "
        f"({limit} bytes) per request.",
        status=413,
    )


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read piece by piece and refused (413) as soon as it passes `limit` bytes (MAX_BODY_BYTES
    unless the route takes file uploads)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def allowed_hosts_from_env() -> list[str]:
    """Extra host names from STRIPE_EMULATOR_ALLOWED_HOSTS (comma-separated)."""
    return [name.strip() for name in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if name.strip()]


def host_name(header: str) -> str:
    """The host part of a Host header value: `[::1]:80` -> `::1`, `Example:80` -> `example`."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def is_loopback(name: str) -> bool:
    """True for localhost and any loopback address (127.0.0.0/8, ::1)."""
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostGuard:
    """ASGI middleware answering 400 to any HTTP request whose Host is neither loopback nor allowed."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {host_name(name) for name in allowed_hosts}

    def allows(self, header: str) -> bool:
        """Whether a Host header value names this emulator."""
        name = host_name(header)
        return bool(name) and (is_loopback(name) or name in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"host"), "")
        if self.allows(header):
            await self.app(scope, receive, send)
            return
        error = invalid(
            f"Invalid Host header: {header[:100]!r}. The emulator answers only loopback names (localhost, "
            f"127.0.0.1, ::1) and hosts allowed with --allow-host or {ALLOWED_HOSTS_ENV}."
        )
        body = json.dumps(error.body(), indent=2).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
