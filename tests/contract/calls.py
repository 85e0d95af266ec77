"""Short forms of the SDK calls the contract tests repeat."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe


def charge(client: stripe.StripeClient, source: str = "tok_visa", amount: int = 2300, **params: Any) -> Any:
    """Create a charge (raises the SDK's error for a decline)."""
    return client.v1.charges.create(params={"amount": amount, "currency": "usd", "source": source, **params})


def declined(client: stripe.StripeClient, source: str, amount: int = 2300, **params: Any) -> stripe.CardError:
    """Charge a declining source and return the CardError it raises."""
    with pytest.raises(stripe.CardError) as info:
        charge(client, source, amount, **params)
    return info.value


def events_for(
    client: stripe.StripeClient, object_id: str, expected: int = 1, timeout: float = 20.0, **filters: Any
) -> list[Any]:
    """The newest events (up to 100) whose data.object is `object_id`; waits until `expected` have appeared."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.v1.events.list(params={"limit": 100, **filters})
        found = [event for event in page.data if event.data.object.id == object_id]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.5)  # polling interval: real Stripe may publish events a moment after the request
