"""Failed payments without a charge (a failed 3-D Secure check) counted beside failed charges, and the weekly rate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from shop import analytics, attempts, catalog, clock, orders
from shop.db import get_engine
from tests.support_data import CUSTOMER, FIXTURE, store_charges, ts

HAMMING = "art-of-doing-science"
CURRENT = analytics.period_bounds(date(2026, 11, 14), date(2026, 11, 20))
AUTH_FAILED = "payment_intent_authentication_failure"


def failed_attempt(engine, when: int, *, intent: str, code: str = AUTH_FAILED, charge_id: str | None = None) -> None:
    """An order paid through a PaymentIntent whose confirm failed at `when`, as shop.checkout.intents records it."""
    with clock.store_clock(lambda: when):
        order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1), engine=engine)
        if intent:
            orders.set_payment_intent(order.id, intent, engine=engine)
        attempt = attempts.start_attempt(order.id, f"auth-{when}", engine=engine)
        attempts.finish_attempt(
            attempt.id, "failed", charge_id=charge_id, code=code, message="Unable to authenticate.", engine=engine
        )


@pytest.fixture
def engine(tmp_path: Path):
    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    store_charges(engine, FIXTURE)
    return engine


def test_a_failed_3ds_check_without_a_charge_is_a_failed_attempt(engine):
    failed_attempt(engine, ts(16, 9), intent="pi_auth1")
    failed_attempt(engine, ts(10, 9), intent="pi_before")  # before the period
    failed_attempt(engine, ts(16, 10), intent="pi_declined", code="card_declined", charge_id="ch_d")  # has a charge
    failed_attempt(engine, ts(16, 11), intent="pi_lost", code=attempts.NOT_CHARGED)  # never reached Stripe
    failed_attempt(engine, ts(16, 12), intent="", code=AUTH_FAILED)  # a Charges-flow order: no intent
    charges = analytics.load_charges(engine, start=CURRENT[0], end=CURRENT[1])
    without = analytics.load_failed_without_charge(engine, start=CURRENT[0], end=CURRENT[1])
    assert list(without["code"]) == [AUTH_FAILED]
    assert without["amount"].iloc[0] == 2300  # the order's amount
    assert without["book"].iloc[0] == "The Art of Doing Science and Engineering"

    before = analytics.failure_counts(charges, without.iloc[0:0])
    counts = analytics.failure_counts(charges, without)
    assert counts.failed_without_charge == 1
    assert counts.failed == before.failed + 1
    assert counts.rate == pytest.approx(counts.failed / (counts.succeeded + counts.failed))
    assert counts.rate > before.rate

    codes = analytics.failures_by_code(charges, without).set_index("code")
    assert codes.loc[AUTH_FAILED, "count"] == 1
    assert "3-D Secure" in codes.loc[AUTH_FAILED, "explanation"]
    daily = analytics.failure_rate_series(charges, *CURRENT, without).set_index("bucket")
    plain = analytics.failure_rate_series(charges, *CURRENT).set_index("bucket")
    nov16 = pd.Timestamp("2026-11-16", tz="UTC")
    assert daily.loc[nov16, "attempts"] == plain.loc[nov16, "attempts"] + 1
    assert daily.loc[nov16, "failed"] == plain.loc[nov16, "failed"] + 1


def test_the_weekly_rate_adds_up_to_the_period_and_marks_cut_weeks(engine):
    failed_attempt(engine, ts(17, 9), intent="pi_auth1")
    charges = analytics.load_charges(engine, start=CURRENT[0], end=CURRENT[1])
    without = analytics.load_failed_without_charge(engine, start=CURRENT[0], end=CURRENT[1])
    weekly = analytics.weekly_failure_rate(charges, *CURRENT, without)
    counts = analytics.failure_counts(charges, without)
    assert int(weekly["attempts"].sum()) == counts.succeeded + counts.failed
    assert int(weekly["failed"].sum()) == counts.failed
    # 14-20 Nov 2026 is Saturday to Friday: the week of Monday 9 Nov holds two of its days, that of 16 Nov five.
    weeks = weekly.set_index("week_of")
    assert list(weeks.index) == [pd.Timestamp("2026-11-09", tz="UTC"), pd.Timestamp("2026-11-16", tz="UTC")]
    assert list(weeks["partial"]) == [True, True]
    whole = analytics.weekly_failure_rate(charges, *analytics.period_bounds(date(2026, 11, 9), date(2026, 11, 22)))
    assert not whole["partial"].any()
    assert analytics.week_label(pd.Timestamp("2026-11-09", tz="UTC"), True) == "week of 09 Nov (part)"


def test_no_failures_without_a_charge_changes_nothing(engine):
    charges = analytics.load_charges(engine)
    without = analytics.load_failed_without_charge(engine)
    assert without.empty and list(without.columns) == list(analytics.WITHOUT_CHARGE_COLUMNS)
    counts = analytics.failure_counts(charges, without)
    assert counts.failed == analytics.totals(charges).failed
    assert counts.rate == pytest.approx(1 - analytics.totals(charges).success_rate)
