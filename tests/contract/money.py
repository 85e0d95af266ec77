"""Short forms the balance, dispute and payout contract tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import stripe


def card_token(publishable_client: stripe.StripeClient, number: str) -> str:
    """A token for a test card number (as Stripe.js makes one from the card form)."""
    token = publishable_client.v1.tokens.create(
        params={"card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}}
    )
    return token.id


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], what: str, timeout: float = 60.0) -> Any:
    """Read until `done(value)` holds (Stripe finishes some changes moments after the request); return the value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.2)  # polling interval while the change happens in the background


def txn(client: stripe.StripeClient, txn_id: str) -> Any:
    """A balance transaction by id."""
    return client.v1.balance_transactions.retrieve(txn_id)
