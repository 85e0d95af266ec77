"""`python -m bench.webhook_bench`: webhook deliveries per second the emulator makes to 1 and to 4 endpoints.

Each endpoint is a local receiver (http.server, answering 200) that holds its answers closed at first: the
charges are made, their deliveries queue up, then the receivers open and the clock runs from that moment to the
last delivery received. So the figure is the delivery path alone (find due rows, sign, POST, record the
attempt, count down pending_webhooks), not the charges' own cost. WEBHOOK_BENCH_EVENTS sets the number of
events (default 300).
"""

from __future__ import annotations

import http.server
import os
import sys
import tempfile
import threading
import time

import stripe

from tests.support import free_port, start_process, stop_process, wait_for_http

EVENTS = int(os.environ.get("WEBHOOK_BENCH_EVENTS", "300"))
TIMEOUT_S = 300.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections in a burst: a 1 s SYN retry would be measured


class Gate:
    """Receivers that count deliveries and hold every answer until opened."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.lock = threading.Lock()
        self.count = 0
        self.last = 0.0
        self.servers: list[http.server.ThreadingHTTPServer] = []

    def receiver(self) -> str:
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gate.open.wait(TIMEOUT_S)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with gate.lock:
                    gate.count += 1
                    gate.last = time.perf_counter()

            def log_message(self, format: str, *args: object) -> None:
                return

        port = free_port()
        server = _Server(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return f"http://127.0.0.1:{port}/hooks"

    def close(self) -> None:
        self.open.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


def deliveries_per_second(endpoints: int) -> float:
    """Deliveries per second of EVENTS charge.succeeded events to `endpoints` endpoints."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as data_dir:
        args = [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--data-dir", data_dir, "--quiet"]
        args += ["--webhook-retry-schedule", "0"]  # a post held past its timeout is tried again at once
        proc = start_process(args)
        gate = Gate()
        try:
            wait_for_http(f"http://127.0.0.1:{port}/_emulator/health", proc=proc)
            client = stripe.StripeClient(
                "sk_test_bench", base_addresses={"api": f"http://127.0.0.1:{port}"}, max_network_retries=0
            )
            for _ in range(endpoints):
                client.v1.webhook_endpoints.create(
                    params={"url": gate.receiver(), "enabled_events": ["charge.succeeded"]}
                )
            for n in range(EVENTS):
                client.v1.charges.create(params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa"})
            expected = EVENTS * endpoints
            started = time.perf_counter()
            gate.open.set()
            deadline = started + TIMEOUT_S
            while time.perf_counter() < deadline:
                with gate.lock:
                    if gate.count >= expected:
                        return expected / (gate.last - started)
                if proc.poll() is not None:
                    raise RuntimeError(f"the emulator exited with {proc.returncode}")
                time.sleep(0.01)  # polling interval while the deliveries arrive
            raise TimeoutError(f"only {gate.count} of {expected} deliveries within {TIMEOUT_S:.0f} s")
        finally:
            gate.close()
            stop_process(proc)


def main() -> int:
    """Print the two figures."""
    for endpoints, name in ((1, "1_endpoint"), (4, "4_endpoints")):
        rate = deliveries_per_second(endpoints)
        print(f"bench: webhook_deliveries_per_s_{name} = {rate:.0f} deliveries/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
