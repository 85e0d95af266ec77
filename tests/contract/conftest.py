"""The contract suite's client: the session emulator by default, real Stripe test mode with STRIPE_SECRET_KEY."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest
import stripe

HERE = os.path.dirname(__file__)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a contract test."""
    for item in items:
        if str(item.path).startswith(HERE):
            item.add_marker(pytest.mark.contract)


def _real_secret_key() -> str | None:
    key = os.environ.get("STRIPE_SECRET_KEY", "")
    if key.startswith("sk_live_") or key.startswith("rk_live_"):
        raise pytest.UsageError("The contract suite never runs with a live key: set an sk_test_ key or none.")
    return key if key.startswith("sk_test_") else None


@pytest.fixture(scope="session")
def real_stripe() -> bool:
    """True when the suite talks to real Stripe test mode instead of the emulator."""
    return _real_secret_key() is not None


@pytest.fixture(scope="session")
def stripe_client(request: pytest.FixtureRequest) -> stripe.StripeClient:
    """A StripeClient for the API under test (no retries, so that every request is visible to the tests)."""
    key = _real_secret_key()
    if key is not None:
        return stripe.StripeClient(key, max_network_retries=0)
    return request.getfixturevalue("emulator").client()


@pytest.fixture(scope="session")
def publishable_client(request: pytest.FixtureRequest) -> stripe.StripeClient:
    """A client with a publishable key: it may create tokens from raw card details, as Stripe.js does."""
    if _real_secret_key() is not None:
        key = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
        if not key.startswith("pk_test_"):
            pytest.skip("tokenizing raw card numbers against real Stripe needs STRIPE_PUBLISHABLE_KEY=pk_test_…")
        return stripe.StripeClient(key, max_network_retries=0)
    return request.getfixturevalue("emulator").client("pk_test_emulator")


@pytest.fixture(scope="session")
def api_base(request: pytest.FixtureRequest) -> str | None:
    """The base URL to give other clients (None = Stripe's own)."""
    if _real_secret_key() is not None:
        return None
    return request.getfixturevalue("emulator").url


@pytest.fixture
def make_client(api_base: str | None) -> Callable[[str], stripe.StripeClient]:
    """Build a client with any key against the API under test (for the auth tests)."""

    def build(key: str) -> stripe.StripeClient:
        if api_base is None:
            return stripe.StripeClient(key, max_network_retries=0)
        return stripe.StripeClient(key, base_addresses={"api": api_base}, max_network_retries=0)

    return build


@pytest.fixture
def key() -> Callable[[], str]:
    """Fresh idempotency keys."""
    return lambda: f"contract-{uuid.uuid4()}"
