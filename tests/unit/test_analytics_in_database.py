"""shop.analytics.in_database against the pandas functions it stands in for, on SQLite and PostgreSQL.

One store of a few thousand varied charges and refunds (every display status, fees missing, odd emails, refunds
issued long after their charge, failed refunds) and many filters and periods: each number the database computes
must equal the pandas number over the same rows.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from shop import analytics, catalog, schema, sync
from shop.analytics import in_database
from shop.db import get_engine

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
FIRST_DAY = NOW - timedelta(days=120)
CODES = [("card_declined", "insufficient_funds"), ("card_declined", "lost_card"), ("expired_card", None)]
EMAILS = ["ada@example.com", "Bob_1@Example.com", "carol%x@example.org", "dan@example.net", ""]
NAMES = ["Ada Lovelace", "BOB", "Carol Ann", "", "Dan de Vries"]


def _charge_rows(rng: random.Random, count: int) -> list[dict]:
    books = [book.id for book in catalog.all_books()]
    rows = []
    for number in range(count):
        created = int(
            (FIRST_DAY + timedelta(seconds=rng.randrange(int((NOW - FIRST_DAY).total_seconds())))).timestamp()
        )
        amount = rng.choice([500, 1999, 2300, 4600, 12000])
        kinds = ["paid", "failed", "held", "released", "part_captured", "pending", "refunded", "partial"]
        kind = rng.choices(kinds, [45, 15, 6, 4, 4, 3, 12, 11])[0]
        status = {"failed": "failed", "pending": "pending"}.get(kind, "succeeded")
        captured = kind in ("paid", "part_captured", "refunded", "partial")
        amount_captured = amount // 2 if kind == "part_captured" else (amount if captured else 0)
        # Stripe counts what a capture left uncaptured, and a released authorization, as refunded.
        refunded_amount = {
            "refunded": amount,
            "partial": amount // 3,
            "released": amount,
            "part_captured": amount - amount_captured,
        }.get(kind, 0)
        failure_code, decline_code = rng.choice(CODES) if kind == "failed" else (None, None)
        fee = None if not captured or rng.random() < 0.1 else round(amount_captured * 0.029) + 30
        rows.append(
            {
                "id": f"ch_{number:06d}",
                "created": created,
                "amount": amount,
                "amount_captured": amount_captured,
                "amount_refunded": refunded_amount,
                "currency": "usd",
                "status": status,
                "paid": status == "succeeded",
                "captured": captured,
                "refunded": kind in ("refunded", "released"),
                "failure_code": failure_code,
                "decline_code": decline_code,
                "card_brand": rng.choice(["visa", "mastercard", None]),
                "card_last4": rng.choice(["4242", "0002", None]),
                "receipt_email": rng.choice(EMAILS) or None,
                "customer_name": rng.choice(NAMES) or None,
                "order_id": f"SP-{rng.randrange(800):04d}" if rng.random() < 0.9 else None,
                "book_id": rng.choice(books),
                "quantity": rng.choice([1, 2, None]),
                "fee": fee,
                "net": None if fee is None else amount_captured - fee,
                "disputed": rng.random() < 0.02,
            }
        )
    return rows


def _refund_rows(rng: random.Random, charges: list[dict]) -> list[dict]:
    rows = []
    for charge in charges:
        if not charge["amount_refunded"]:
            continue
        later = charge["created"] + rng.choice([60, 3600, 86400 * 3, 86400 * 40])
        rows.append(
            {
                "id": f"re_{charge['id'][3:]}",
                "charge_id": charge["id"],
                "created": min(later, int(NOW.timestamp())),
                "amount": charge["amount_refunded"],
                "currency": "usd",
                "reason": "requested_by_customer",
                "status": rng.choices(["succeeded", "pending", "failed", "canceled", None], [80, 5, 5, 5, 5])[0],
                "raw": "{}",
            }
        )
    # A refund of a charge the copy does not have: never counted.
    rows.append(dict(rows[0], id="re_orphan", charge_id="ch_not_synced"))
    return rows


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    engine = get_engine(database_url)
    sync.ensure_schema(engine)
    rng = random.Random(14)
    rows = _charge_rows(rng, 3000)
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.charges), rows)
        conn.execute(sa.insert(schema.refunds), _refund_rows(rng, rows))
    return engine


def _day(days_ago: int) -> date:
    return (NOW - timedelta(days=days_ago)).date()


PERIODS = {
    "last 30 days, still running": (_day(29), _day(0)),
    "a whole week in the past": (_day(20), _day(14)),
    "one day (hourly)": (_day(3), _day(3)),
    "today (hourly, still running)": (_day(0), _day(0)),
    "all time": (FIRST_DAY.date(), _day(0)),
    "before any charge": (_day(400), _day(300)),
    "partly before the first charge": (_day(140), _day(100)),
}

FILTERS = {
    "none": {},
    "statuses": {"statuses": (analytics.REFUNDED, analytics.PARTIALLY_REFUNDED)},
    "uncaptured and pending": {"statuses": (analytics.UNCAPTURED, analytics.PENDING)},
    "email, case and wildcards": {"email": "  b_1@EXAMPLE "},
    "a percent sign is a character": {"email": "carol%"},
    "name": {"email": "ann"},
    "books": {"book_ids": ("art-of-doing-science",)},
    "amounts": {"min_amount": 1000, "max_amount": 4600},
    "codes": {"codes": ("insufficient_funds", "expired_card")},
    "nothing matches": {"email": "nobody-at-all"},
}


def _pandas_numbers(frame: pd.DataFrame, refunds: pd.DataFrame | None, chosen: analytics.ChargeFilter):
    without_dates = analytics.filter_charges(frame, chosen, with_dates=False)
    rows = analytics.filter_charges(without_dates, chosen)
    start, end = chosen.start, chosen.end
    in_period = without_dates[
        (without_dates["created_at"] >= pd.Timestamp(start)) & (without_dates["created_at"] < pd.Timestamp(end))
    ]
    return {
        "kpis": analytics.kpis(without_dates, start, end, refunds, now=NOW),
        "volume": analytics.volume_series(rows, start, end),
        "net": analytics.net_series(without_dates, start, end, refunds),
        "held": analytics.uncaptured(in_period),
        "processing": analytics.processing(in_period),
        "rows": rows,
    }


@pytest.mark.parametrize("by_issue", [False, True], ids=["refunds by charge day", "refunds by issue day"])
def test_every_number_equals_the_pandas_number(engine: sa.Engine, by_issue: bool):
    frame = analytics.load_charges(engine)
    refunds = analytics.refund_history(engine) if by_issue else None
    checked = processing = 0
    for period_name, (first, last) in PERIODS.items():
        start, end = analytics.period_bounds(first, last)
        for filter_name, options in FILTERS.items():
            chosen = analytics.ChargeFilter(start=start, end=end, **options)
            where = f"{period_name} / {filter_name}"
            expected = _pandas_numbers(frame, refunds, chosen)
            got = in_database.summary(chosen, refunds_by_issue=by_issue, now=NOW, engine=engine)
            assert got.kpis == expected["kpis"], where
            assert got.rows == len(expected["rows"]), where
            assert (got.held_count, got.held_amount) == expected["held"], where
            assert (got.processing_count, got.processing_amount) == expected["processing"], where
            processing += got.processing_count
            pd.testing.assert_frame_equal(got.volume, expected["volume"], check_dtype=False, obj=where)
            pd.testing.assert_frame_equal(got.net, expected["net"], check_dtype=False, obj=where)
            checked += bool(len(expected["rows"]))
    assert checked > 40  # most combinations select charges: the comparison is not of empty frames
    assert processing > 0  # some periods hold a pending charge: "processing" is compared on more than zeros


def test_the_newest_rows_and_the_csv_are_the_filtered_rows(engine: sa.Engine):
    frame = analytics.load_charges(engine)
    start, end = analytics.period_bounds(*PERIODS["all time"])
    for options in FILTERS.values():
        chosen = analytics.ChargeFilter(start=start, end=end, **options)
        rows = analytics.filter_charges(frame, chosen)
        assert list(in_database.newest(chosen, 25, engine=engine)["id"]) == list(rows["id"][:25])
        assert in_database.matching_csv(chosen, engine=engine) == analytics.charges_csv(rows)


def test_the_csv_of_many_rows_is_written_in_chunks_with_one_header(engine: sa.Engine, monkeypatch):
    monkeypatch.setattr(in_database, "CSV_CHUNK_ROWS", 700)  # 3,000 charges: five chunks
    chosen = analytics.ChargeFilter()
    text = in_database.matching_csv(chosen, engine=engine)
    assert text == analytics.charges_csv(analytics.load_charges(engine))
    assert text.count(b"id,created_utc") == 1


def test_a_summary_without_a_period_is_refused_with_a_sentence(engine: sa.Engine):
    with pytest.raises(ValueError, match="needs a period"):
        in_database.summary(analytics.ChargeFilter(), engine=engine)
