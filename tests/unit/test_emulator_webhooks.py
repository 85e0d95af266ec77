"""Webhook delivery by the emulator: signed POSTs a local receiver checks with the SDK, retries, the delivery log,
restarts, and the `listen` command."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.webhooks import sign
from tests.support import ROOT, free_port, start_process, stop_process, wait_for_http

SECRET_KEY = "sk_test_webhooks"
HEADERS = {"Authorization": f"Bearer {SECRET_KEY}"}
CHARGE = {"amount": 2300, "currency": "usd", "source": "tok_visa"}


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy or the deadline passes; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)  # polling interval of a wait-for-condition


@dataclass
class Received:
    body: bytes
    signature: str | None
    at: float
    path: str


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the emulator posts up to 8 at once: the default backlog of 5 could drop one


@dataclass
class Receiver:
    """An http.server on a free loopback port that records each POST and answers from a script of statuses."""

    statuses: list[int] = field(default_factory=list)  # answers in turn; 200 once they run out
    release: threading.Event | None = None  # when set, each answer waits until it is released
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)  # when each answer was sent

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(
                        Received(body, self.headers.get("Stripe-Signature"), time.monotonic(), self.path)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.release is not None:
                    receiver.release.wait(timeout=10)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with receiver.lock:
                    receiver.answered.append(time.monotonic())

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(item.body) for item in self.received]

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if json.loads(item.body)["type"] == event_type]


class RunningEmulator:
    """`python -m stripe_emulator` in a subprocess with its own retry schedule."""

    def __init__(self, data_dir: Path, schedule: str = "0.2,0.4,0.8", port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "stripe_emulator", "--port", str(self.port), "--data-dir", str(data_dir)]
        self.proc = start_process([*args, "--webhook-retry-schedule", schedule, "--quiet"])
        wait_for_http(f"{self.url}/_emulator/health", proc=self.proc)
        self.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": self.url}, max_network_retries=0)

    def stop(self) -> None:
        stop_process(self.proc)

    def endpoint(self, url: str, events: list[str] | None = None) -> Any:
        return self.client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": events or ["*"]})

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/_emulator/deliveries", params=filters, headers=HEADERS)
        response.raise_for_status()
        return response.json()["data"]

    def charge(self) -> Any:
        return self.client.v1.charges.create(params=CHARGE)

    def event_of(self, object_id: str, event_type: str) -> Any:
        events = self.client.v1.events.list(params={"type": event_type, "limit": 100}).data
        return next(event for event in events if event.data.object.id == object_id)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = RunningEmulator(tmp_path_factory.mktemp("webhooks"))
    yield running
    running.stop()


@pytest.fixture
def fresh(emu: RunningEmulator) -> Iterator[RunningEmulator]:
    emu.client.raw_request("post", "/_emulator/reset")
    yield emu
    emu.client.raw_request("post", "/_emulator/reset")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def test_a_delivery_verifies_with_the_sdk(fresh, receiver):
    endpoint = fresh.endpoint(receiver.url)
    charge = fresh.charge()
    got = wait_for(lambda: receiver.of_type("charge.succeeded"))
    assert len(got) == 1
    event = stripe.Webhook.construct_event(got[0].body, got[0].signature, endpoint.secret)
    assert event.type == "charge.succeeded"
    assert event.data.object.id == charge.id
    assert got[0].path == "/hooks"
    assert event.id == fresh.event_of(charge.id, "charge.succeeded").id


def test_the_sdk_refuses_a_tampered_body_a_wrong_secret_and_an_old_timestamp(fresh, receiver):
    endpoint = fresh.endpoint(receiver.url)
    fresh.charge()
    got = wait_for(lambda: receiver.of_type("charge.succeeded"))[0]
    tampered = got.body.replace(b'"amount": 2300', b'"amount": 1')
    assert tampered != got.body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, got.signature, endpoint.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(got.body, got.signature, "whsec_not_the_right_one")
    # The same scheme over the same body, dated 10 minutes ago: past the SDK's 5-minute tolerance.
    old = sign(got.body.decode(), endpoint.secret, int(time.time()) - 600)
    stripe.Webhook.construct_event(got.body, old, endpoint.secret, tolerance=None)  # the signature itself is right
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(got.body, old, endpoint.secret)


def test_enabled_events_filter_and_star(fresh):
    everything, refunds_only = Receiver().start(), Receiver().start()
    try:
        fresh.endpoint(everything.url, ["*"])
        fresh.endpoint(refunds_only.url, ["charge.refunded"])
        charge = fresh.charge()
        fresh.client.v1.refunds.create(params={"charge": charge.id})
        wait_for(lambda: everything.of_type("charge.refunded") and refunds_only.of_type("charge.refunded"))
        wait_for(lambda: all(d["state"] != "pending" for d in fresh.deliveries()))
        assert {"charge.succeeded", "charge.refunded"} <= {event["type"] for event in everything.events()}
        assert [event["type"] for event in refunds_only.events()] == ["charge.refunded"]
    finally:
        everything.stop()
        refunds_only.stop()


def test_a_disabled_endpoint_gets_nothing(fresh, receiver):
    endpoint = fresh.endpoint(receiver.url)
    fresh.client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    watcher = Receiver().start()
    try:
        fresh.endpoint(watcher.url)  # an enabled one, to know when the event has been delivered
        charge = fresh.charge()
        assert wait_for(lambda: watcher.of_type("charge.succeeded"))
        assert receiver.received == []
        assert fresh.deliveries(endpoint=endpoint.id) == []
        event = fresh.event_of(charge.id, "charge.succeeded")
        assert [d["endpoint"] for d in fresh.deliveries(event=event.id)] != [endpoint.id]
        assert len(fresh.deliveries(event=event.id)) == 1
    finally:
        watcher.stop()


def test_a_500_is_retried_per_the_schedule_and_pending_webhooks_counts_down(fresh):
    failing_once = Receiver(statuses=[500]).start()
    try:
        endpoint = fresh.endpoint(failing_once.url, ["charge.succeeded"])
        charge = fresh.charge()
        assert fresh.event_of(charge.id, "charge.succeeded").pending_webhooks == 1
        got = wait_for(lambda: len(failing_once.received) >= 2 and failing_once.received)
        assert len(got) == 2
        assert json.loads(got[0].body)["id"] == json.loads(got[1].body)["id"]
        assert got[1].at - got[0].at >= 0.2  # the schedule's first wait
        event = fresh.event_of(charge.id, "charge.succeeded")
        assert wait_for(lambda: fresh.event_of(charge.id, "charge.succeeded").pending_webhooks == 0)
        (delivery,) = fresh.deliveries(event=event.id)
        assert delivery["endpoint"] == endpoint.id
        assert delivery["state"] == "succeeded"
        assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 200]
    finally:
        failing_once.stop()


def test_retries_stop_after_the_schedule(fresh):
    always_failing = Receiver(statuses=[503] * 10).start()
    try:
        fresh.endpoint(always_failing.url, ["charge.succeeded"])
        charge = fresh.charge()
        event = fresh.event_of(charge.id, "charge.succeeded")
        assert wait_for(lambda: fresh.deliveries(event=event.id)[0]["state"] == "failed")
        (delivery,) = fresh.deliveries(event=event.id)
        assert [attempt["status_code"] for attempt in delivery["attempts"]] == [503] * 4  # first try + 3 retries
        assert fresh.event_of(charge.id, "charge.succeeded").pending_webhooks == 1
        # docs.stripe.com/api/events/list: delivery_success=false lists events not delivered to every endpoint.
        undelivered = fresh.client.v1.events.list(params={"delivery_success": False, "limit": 100}).data
        delivered = fresh.client.v1.events.list(params={"delivery_success": True, "limit": 100}).data
        assert event.id in [item.id for item in undelivered]
        assert event.id not in [item.id for item in delivered]
    finally:
        always_failing.stop()


def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_up(fresh):
    later = Receiver()  # its port is chosen, nothing listens yet
    fresh.endpoint(later.url, ["charge.succeeded"])
    charge = fresh.charge()
    event = fresh.event_of(charge.id, "charge.succeeded")
    assert wait_for(lambda: fresh.deliveries(event=event.id)[0]["attempts"])
    later.start()
    try:
        got = wait_for(lambda: later.of_type("charge.succeeded"))
        assert [json.loads(item.body)["id"] for item in got] == [event.id]
        (delivery,) = wait_for(lambda: [d for d in fresh.deliveries(event=event.id) if d["state"] == "succeeded"])
        assert delivery["attempts"][0]["status_code"] is None
        assert delivery["attempts"][0]["error"]
        assert delivery["attempts"][-1]["status_code"] == 200
    finally:
        later.stop()


def test_a_slow_receiver_never_holds_up_the_api_call(fresh):
    release = threading.Event()
    slow = Receiver(release=release).start()
    try:
        fresh.endpoint(slow.url, ["charge.succeeded"])
        charge = fresh.charge()
        # The receiver holds each delivery until released (or 10 s): the API answered before it let go.
        assert slow.answered == []
        assert charge.status == "succeeded"
        assert wait_for(lambda: slow.received)
        # Another call while the delivery is held open by the receiver.
        assert fresh.client.v1.charges.retrieve(charge.id).id == charge.id
        assert slow.answered == []
    finally:
        release.set()
        slow.stop()


def test_four_endpoints_each_get_every_event_once(fresh):
    receivers = [Receiver().start() for _ in range(4)]
    try:
        for item in receivers:
            fresh.endpoint(item.url, ["charge.succeeded"])
        made = {fresh.charge().id for _ in range(5)}
        assert wait_for(lambda: all(len(item.received) >= 5 for item in receivers))
        wait_for(lambda: all(d["state"] == "succeeded" for d in fresh.deliveries()))
        for item in receivers:
            events = item.events()
            assert len(events) == 5
            assert {event["data"]["object"]["id"] for event in events} == made
        assert len(fresh.deliveries()) == 20
    finally:
        for item in receivers:
            item.stop()


def test_urls_outside_loopback_and_the_allowed_hosts_are_refused(fresh):
    with pytest.raises(stripe.InvalidRequestError) as info:
        fresh.endpoint("https://example.com/hooks")
    assert info.value.param == "url"
    assert "loopback" in str(info.value.user_message)


def test_reset_clears_endpoints_and_deliveries(fresh, receiver):
    fresh.endpoint(receiver.url)
    fresh.charge()
    assert wait_for(lambda: fresh.deliveries())
    fresh.client.raw_request("post", "/_emulator/reset")
    assert fresh.deliveries() == []
    assert fresh.client.v1.webhook_endpoints.list().data == []


def test_a_resend_delivers_the_same_event_again_and_leaves_pending_webhooks_alone(fresh, receiver):
    endpoint = fresh.endpoint(receiver.url)
    other = Receiver().start()
    try:
        fresh.endpoint(other.url)
        charge = fresh.charge()
        wait_for(lambda: receiver.of_type("charge.succeeded") and other.of_type("charge.succeeded"))
        event = fresh.event_of(charge.id, "charge.succeeded")
        wait_for(lambda: fresh.client.v1.events.retrieve(event.id).pending_webhooks == 0)

        answer = fresh.client.raw_request("post", f"/_emulator/events/{event.id}/resend", webhook_endpoint=endpoint.id)
        assert json.loads(answer.body)["webhook_endpoints"] == [endpoint.id]
        again = wait_for(
            lambda: len(receiver.of_type("charge.succeeded")) == 2 and receiver.of_type("charge.succeeded")
        )
        assert json.loads(again[1].body)["id"] == event.id
        stripe.Webhook.construct_event(again[1].body, again[1].signature, endpoint.secret)
        assert len(other.of_type("charge.succeeded")) == 1  # only the endpoint asked for
        resent = [d for d in fresh.deliveries(event=event.id) if d["endpoint"] == endpoint.id]
        wait_for(lambda: all(d["state"] == "succeeded" for d in fresh.deliveries(event=event.id)))
        assert len(resent) == 2
        assert fresh.client.v1.events.retrieve(event.id).pending_webhooks == 0
    finally:
        other.stop()


def test_a_resend_of_an_unknown_event_is_stripes_404(fresh):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        fresh.client.raw_request("post", "/_emulator/events/evt_missing/resend")
    assert refused.value.http_status == 404


def test_the_delivery_log_needs_a_secret_key(fresh):
    assert httpx.get(f"{fresh.url}/_emulator/deliveries").status_code == 401


def test_a_pending_delivery_resumes_after_a_restart(tmp_path):
    port = free_port()
    first = RunningEmulator(tmp_path, schedule="1", port=port)
    later = Receiver()
    try:
        first.endpoint(later.url, ["charge.succeeded"])
        charge = first.charge()
        event = first.event_of(charge.id, "charge.succeeded")
        assert wait_for(lambda: first.deliveries(event=event.id)[0]["attempts"])  # failed once: nobody listens
    finally:
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
    later.start()
    second = RunningEmulator(tmp_path, schedule="1", port=port)
    try:
        got = wait_for(lambda: later.of_type("charge.succeeded"))
        assert [json.loads(item.body)["id"] for item in got] == [event.id]
        assert wait_for(lambda: second.event_of(charge.id, "charge.succeeded").pending_webhooks == 0)
    finally:
        second.stop()
        later.stop()


def test_listen_forwards_signed_deliveries(fresh, receiver):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "listen",
            "--forward-to",
            receiver.url,
            "--api-base",
            fresh.url,
            "--api-key",
            SECRET_KEY,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        ready = wait_for(lambda: [line for line in lines if "whsec_" in line])
        assert ready, f"no secret printed; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        secret = ready[0].split("secret is ")[1].split()[0]
        (endpoint,) = fresh.client.v1.webhook_endpoints.list().data
        charge = fresh.charge()
        got = wait_for(lambda: receiver.of_type("charge.succeeded"))
        event = stripe.Webhook.construct_event(got[0].body, got[0].signature, secret)
        assert event.data.object.id == charge.id
        assert wait_for(lambda: any(f"<-- [200] POST {receiver.url}" in line for line in lines))
        assert any(f"--> charge.succeeded [{event.id}]" in line for line in lines)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    with pytest.raises(stripe.InvalidRequestError):
        fresh.client.v1.webhook_endpoints.retrieve(endpoint.id)  # deleted on SIGTERM


def test_the_command_reads_the_retry_schedule(tmp_path, monkeypatch):
    from stripe_emulator import __main__ as cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(cli, "create_app", lambda data_dir, **options: seen.update(options))
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: None)
    cli.main(["--data-dir", str(tmp_path), "--webhook-retry-schedule", "1,2.5,4"])
    assert seen["webhook_retries"] == (1.0, 2.5, 4.0)
    with pytest.raises(SystemExit):
        cli.main(["--data-dir", str(tmp_path), "--webhook-retry-schedule", "soon"])


@pytest.mark.parametrize(("value", "expected"), [("0.5,1", (0.5, 1.0)), ("", ())])
def test_the_environment_sets_the_retry_schedule(tmp_path, monkeypatch, value, expected):
    from stripe_emulator.app import create_app

    monkeypatch.setenv("STRIPE_EMULATOR_WEBHOOK_RETRIES", value)
    assert create_app(tmp_path).state.emulator.webhooks.retry_schedule == expected
