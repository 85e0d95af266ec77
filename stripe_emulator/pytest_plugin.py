"""The pytest plugin (registered as a `pytest11` entry point when the package is installed): fixtures that run one
emulator for the test session and give each test an empty account.

- `stripe_emulator` (session): the running `EmulatorServer` — `url`, `client()`, `reset()`, `freeze_clock(t)`,
  `unfreeze_clock()`, `now()`, `arm_fault(spec)`, `faults()`, `clear_faults()`, `deliveries()`;
- `stripe_client`: a `stripe.StripeClient` on that emulator, the account emptied (objects, clock, faults) before
  the test;
- `stripe_webhooks`: a `WebhookReceiver` registered as a webhook endpoint for every event type, signatures
  checked; `wait_for("charge.succeeded")` returns the events once they have arrived.

`--stripe-emulator-port` picks the port (default: a free one). A project's own conftest may define fixtures of
the same names; they take precedence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stripe_emulator.testing import EmulatorServer, WebhookReceiver, free_port


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's command-line option."""
    parser.addoption(
        "--stripe-emulator-port", type=int, default=None, help="port of the session's Stripe emulator (default: free)"
    )


@pytest.fixture(scope="session")
def stripe_emulator(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorServer]:
    """One emulator for the test session, on a free port with its store in a temporary directory."""
    port = request.config.getoption("--stripe-emulator-port") or free_port()
    server = EmulatorServer(port, tmp_path_factory.mktemp("stripe-emulator"), ["--quiet"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_client(stripe_emulator: EmulatorServer):
    """A `stripe.StripeClient` on the session's emulator, its account empty at the start of the test."""
    stripe_emulator.reset()
    return stripe_emulator.client()


@pytest.fixture
def stripe_webhooks(stripe_emulator: EmulatorServer, stripe_client) -> Iterator[WebhookReceiver]:
    """A webhook receiver the emulator delivers every event of this test to (signatures checked)."""
    receiver = WebhookReceiver()
    receiver.start()
    try:
        endpoint = stripe_client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
        receiver.secret = endpoint.secret
        yield receiver
    finally:
        receiver.stop()
