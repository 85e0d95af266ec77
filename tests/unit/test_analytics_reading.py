"""The notebooks' tables as read: dollars beside dollars, cut weeks marked, waits in words, no "+00:00"."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from shop import analytics
from shop.analytics import reading
from shop.db import get_engine
from tests.support_data import FIXTURE, store_charges

CURRENT = analytics.period_bounds(date(2026, 11, 14), date(2026, 11, 20))  # Saturday to Friday


@pytest.fixture
def frame(tmp_path: Path) -> pd.DataFrame:
    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    store_charges(engine, FIXTURE)
    return analytics.filter_charges(analytics.load_charges(engine), analytics.ChargeFilter(*CURRENT))


def test_weekly_totals_are_in_dollars_and_name_the_weeks_cut_short(frame):
    weekly = reading.weekly_totals(frame, *CURRENT)
    assert list(weekly.index) == ["2026-11-09 (part: 14 Nov–15 Nov)", "2026-11-16 (part: 16 Nov–20 Nov)"]
    in_cents = analytics.totals_by(frame, analytics.week_of(frame["created_at"]))
    # Same numbers, only the unit: every money column (fees included) in dollars, net after fees beside them.
    assert list(weekly["gross"]) == list(in_cents["gross"] / 100)
    assert list(weekly["fees"]) == list(in_cents["fees"] / 100)
    assert list(weekly["net_after_fees"]) == list((in_cents["net"] - in_cents["fees"]) / 100)
    assert "fees_unknown" not in weekly
    assert weekly["gross"].sum() == analytics.totals(frame).gross / 100
    whole = analytics.period_bounds(date(2026, 11, 9), date(2026, 11, 22))
    assert list(reading.weekly_totals(frame, *whole).index) == ["2026-11-09", "2026-11-16"]


def test_charges_without_a_fee_yet_are_named_only_when_there_are_some(frame):
    # The fixture's charges were stored without their balance transactions: no fee known yet.
    unknown = reading.in_dollars(analytics.totals_by(frame, "book"))
    assert unknown[reading.FEES_MISSING].sum() == analytics.totals(frame).fees_unknown > 0
    known = frame.assign(fee=pd.Series([30] * len(frame), dtype="Int64", index=frame.index))
    shown = reading.in_dollars(analytics.totals_by(known, "book"))
    assert reading.FEES_MISSING not in shown and "fees_unknown" not in shown


def test_recovered_orders_read_in_words_and_dollars_without_offsets(frame):
    recovered = reading.recovered_for_reading(analytics.recovered_orders(frame))
    row = recovered.iloc[0]
    assert row["time_to_recover"] == "5 minutes"
    assert row["amount"] == 23.0
    assert row["first_failed_at"].endswith(" UTC") and "+00:00" not in row["first_failed_at"]


def test_the_failures_summary_says_the_wait_in_words(frame):
    recovered = analytics.recovered_orders(frame)
    counts = analytics.failure_counts(frame, analytics.load_failed_without_charge(get_engine("sqlite://")))
    headline = reading.failures_headline(
        counts,
        analytics.failures_by_code(frame),
        analytics.recovery_summary(frame),
        recovered,
        *CURRENT,
    )
    summary = reading.failures_summary(headline, recovered)["value"]
    assert summary["Median time to recover"] == "5 minutes"
    assert summary["Recovered volume"] == "$23.00"
    assert summary["Failed attempts"] == f"{counts.failed} (0 before a charge was made)"
    assert headline["median_minutes_to_recover"] == timedelta(minutes=5).total_seconds() / 60


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("requested_by_customer", "requested by customer"),
        ("partially_refunded", "partially refunded"),
        ("product_not_received", "product not received"),
        ("warning_needs_response", "inquiry: needs a response"),
        (None, ""),
    ],
)
def test_codes_in_words(code, words):
    from shop.words import code_words

    assert code_words(code) == words
