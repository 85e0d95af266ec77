"""Which unpaid orders the shop asks Stripe about: only those whose answer never reached it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shop import attempts, catalog, clock, order_checks, orders
from shop.db import get_engine
from tests.support_data import CUSTOMER

HAMMING = "art-of-doing-science"
NOW = int(time.time())
IN_FLIGHT_S = 90.0


@pytest.fixture
def engine(tmp_path: Path):
    return get_engine(f"sqlite:///{tmp_path / 'shop.db'}")


def intent_order(engine, intent: str, *, at: int, outcome: str | None = None) -> orders.Order:
    with clock.store_clock(lambda: at):
        order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1), engine=engine)
        orders.set_payment_intent(order.id, intent, engine=engine)
        if outcome:
            attempt = attempts.start_attempt(order.id, f"n-{intent}", engine=engine)
            if outcome != "pending":
                attempts.finish_attempt(attempt.id, outcome, code="card_declined", engine=engine)
    return orders.get_order(order.id, engine=engine)


def listed(engine) -> tuple[list[str], list[str]]:
    found = order_checks.unanswered(now=NOW, in_flight_s=IN_FLIGHT_S, engine=engine)
    return sorted(a.order_id for a in found.attempts), sorted(o.id for o in found.open_intents)


def test_a_decline_and_a_customer_at_checkout_are_not_asked_about(engine):
    intent_order(engine, "pi_declined", at=NOW - 3600, outcome="failed")  # Stripe answered: declined
    intent_order(engine, "pi_now", at=NOW - 10)  # a customer still at checkout
    assert listed(engine) == ([], [])


def test_an_unanswered_attempt_and_an_old_unreported_intent_are(engine):
    lost = intent_order(engine, "pi_lost", at=NOW - 3600, outcome="error")  # Stripe could not be reached
    crashed = intent_order(engine, "pi_crash", at=NOW - 3600, outcome="pending")  # its call ended long ago
    intent_order(engine, "pi_running", at=NOW - 5, outcome="pending")  # its call may still be running
    closed = intent_order(engine, "pi_closed_tab", at=NOW - 3600)  # the page never reported back
    attempt_orders, open_intents = listed(engine)
    assert attempt_orders == sorted([lost.id, crashed.id])
    assert closed.id in open_intents and lost.id in open_intents and crashed.id in open_intents
    assert not order_checks.in_flight(attempts.list_attempts(crashed.id, engine=engine)[0], NOW, IN_FLIGHT_S)
