"""Running the emulator from tests: a server process on a free port, its emulator-only controls (reset, clock,
faults, webhook deliveries) as methods, and a webhook receiver. The pytest plugin (`pytest_plugin.py`) turns
these into fixtures; they work without pytest too.

Only the standard library is needed here, except `EmulatorServer.client()` and `WebhookReceiver`'s signature
check, which use the `stripe` SDK (the package's `test` extra).
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SECRET_KEY = "sk_test_emulator"
PUBLISHABLE_KEY = "pk_test_emulator"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; fail early if `proc` exits first."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:  # connection refused while the server starts
            last_error = exc
        time.sleep(0.05)  # polling interval of a wait-for-condition, not a fixed delay
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


def start_process(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, log: Path | None = None
) -> subprocess.Popen:
    """Start a server in its own process group so that `stop_process` ends it and its children.

    Its output goes to `log` when given, else nowhere."""
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)  # the server's data directory may not exist yet
    output = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        )
    finally:
        if log:
            output.close()  # the child holds its own copy


def stop_process(proc: subprocess.Popen) -> None:
    """End a process group started by `start_process`."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class EmulatorServer:
    """`python -m stripe_emulator` in its own process, on `port` with its store in `data_dir`.

    `args` are more command-line options (e.g. `["--webhook-retry-schedule", "1,2"]`)."""

    def __init__(self, port: int, data_dir: Path, args: list[str] | None = None, log: Path | None = None) -> None:
        self.port = port
        self.data_dir = Path(data_dir)
        self.url = f"http://127.0.0.1:{port}"
        self.args = list(args or [])
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        command = [sys.executable, "-m", "stripe_emulator", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), *self.args]
        self.proc = start_process(command, log=self.log)
        wait_for_http(f"{self.url}/_emulator/health", proc=self.proc)

    def stop(self) -> None:
        """Stop the server (its store stays in `data_dir`)."""
        if self.proc is not None:
            stop_process(self.proc)

    def client(self, key: str = SECRET_KEY) -> Any:
        """A `stripe.StripeClient` pointed at this emulator (no retries: a test sees every answer)."""
        import stripe

        return stripe.StripeClient(key, base_addresses={"api": self.url, "files": self.url}, max_network_retries=0)

    # ---- the emulator-only endpoints (docs: the package README)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {SECRET_KEY}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from exc

    def reset(self) -> None:
        """Empty the account: every object, webhook endpoint and idempotency key; the clock runs again, faults
        are cleared."""
        self._call("POST", "/_emulator/reset")

    def freeze_clock(self, when: int) -> None:
        """Make "now" the Unix time `when` for every object and lazy rule (expiries, availability, payouts)."""
        self._call("POST", "/_emulator/clock", {"frozen_time": int(when)})

    def unfreeze_clock(self) -> None:
        """Let the clock follow real time again."""
        self._call("POST", "/_emulator/clock", {"frozen_time": None})

    def now(self) -> int:
        """The emulated account's current Unix time."""
        return self._call("GET", "/_emulator/clock")["now"]

    def arm_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Arm a fault, e.g. `{"method": "POST", "path": "/v1/charges", "action": {"status": 500}, "times": 1}`
        (faults.py and the package README list the actions); returns it as the emulator describes it."""
        return self._call("POST", "/_emulator/faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        """The armed faults."""
        return self._call("GET", "/_emulator/faults")["data"]

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._call("DELETE", "/_emulator/faults")

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        """The webhook delivery log, oldest first (filters: `event`, `endpoint`, `state`)."""
        query = "&".join(f"{name}={value}" for name, value in filters.items())
        return self._call("GET", f"/_emulator/deliveries{'?' + query if query else ''}")["data"]


@contextmanager
def running_emulator(
    data_dir: Path, port: int | None = None, args: list[str] | None = None
) -> Iterator[EmulatorServer]:
    """An emulator on `port` (a free one by default) with its store in `data_dir`, stopped on exit."""
    server = EmulatorServer(port or free_port(), data_dir, args)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class WebhookReceiver:
    """A local HTTP server that takes the emulator's webhook deliveries (any path), answering 200.

    `url` is where to point a webhook endpoint; once `secret` is set (the endpoint's `whsec_…`), each delivery's
    `Stripe-Signature` is checked with the stripe SDK and a bad one is answered 400 and not kept."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks"
        self.secret: str | None = None
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 200 if receiver._accept(body, self.headers.get("Stripe-Signature", "")) else 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        return Handler

    def _accept(self, body: bytes, signature: str) -> bool:
        if self.secret is not None:
            import stripe

            try:
                stripe.WebhookSignature.verify_header(body.decode(), signature, self.secret, tolerance=300)
            except stripe.SignatureVerificationError:
                return False
        with self._changed:
            self.received.append(json.loads(body))
            self._changed.notify_all()
        return True

    def start(self) -> None:
        """Start listening."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The events received so far (of one type when given), in arrival order."""
        with self._changed:
            return [event for event in self.received if event_type in (None, event["type"])]

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `count` events of `event_type` have arrived; return them (TimeoutError if they do not)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.events(event_type)) >= count, timeout):
                got = [event["type"] for event in self.received]
                raise TimeoutError(f"{count} × {event_type} not received within {timeout}s; received {got}")
            return self.events(event_type)
