"""Fees, net after fees and refunds by the day issued, on charges made in a private emulator and synced.

The expected numbers are summed here from the emulator's own objects (its balance transactions and refunds, read
through the SDK), not from the shop's copy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stripe

from shop import analytics, sync
from tests.support import Emulator, use_emulator

DAY = 86400
START = int(datetime(2026, 10, 5, tzinfo=UTC).timestamp())  # the period: Oct 5–11 (7 days)
END = START + 7 * DAY


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator: Emulator) -> stripe.StripeClient:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    client = private_emulator.client()
    yield client
    at(client, None)


def at(api: stripe.StripeClient, when: int | None) -> None:
    """Freeze the emulator's clock at `when` (None: real time again)."""
    api.raw_request("post", "/_emulator/clock", frozen_time="" if when is None else str(when))


def charge(api: stripe.StripeClient, when: int, amount: int, **params) -> stripe.Charge:
    at(api, when)
    return api.v1.charges.create(params={"amount": amount, "currency": "usd", "source": "tok_visa", **params})


def refund(api: stripe.StripeClient, when: int, charge_id: str, amount: int) -> stripe.Refund:
    at(api, when)
    return api.v1.refunds.create(params={"charge": charge_id, "amount": amount})


@pytest.fixture
def history(api: stripe.StripeClient) -> dict[str, list]:
    """Charges before, in and after the period; refunds issued before, in and after it, of charges of all three."""
    before = charge(api, START - 3 * DAY, 4000)
    inside = [charge(api, START + DAY, 2300), charge(api, START + 2 * DAY, 5150), charge(api, START + 6 * DAY, 999)]
    charge(api, START + 3 * DAY, 7000, capture=False)  # authorized only: no gross, no fee
    after = charge(api, END + DAY, 1200)
    refunds = [
        refund(api, START + 2 * DAY, before.id, 1500),  # issued in the period, of a charge before it
        refund(api, START + 4 * DAY, inside[0].id, 300),  # both in the period
        refund(api, END + 2 * DAY, inside[1].id, 5150),  # of a charge in the period, issued after it
        refund(api, END + 2 * DAY, after.id, 200),  # neither
    ]
    at(api, END + 3 * DAY)
    sync.sync(api)
    return {"inside": inside, "refunds": refunds}


def stripe_fees(api: stripe.StripeClient, charges: list) -> int:
    return sum(api.v1.balance_transactions.retrieve(c.balance_transaction).fee for c in charges)


def refunds_issued(api: stripe.StripeClient, start: int, end: int) -> int:
    listed = api.v1.refunds.list(params={"created": {"gte": start, "lt": end}, "limit": 100}).data
    return sum(r.amount for r in listed if r.status not in ("failed", "canceled"))


def bounds() -> tuple[datetime, datetime]:
    return datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(END, UTC)


def test_fees_and_net_after_fees_are_stripes_fees_of_the_periods_charges(api, history):
    inside = history["inside"]
    kpis = analytics.kpis(analytics.load_charges(), *bounds())
    gross = sum(c.amount for c in inside)
    refunded = 300 + 5150  # on the charge's day: what was refunded of the period's charges, whenever
    fees = stripe_fees(api, inside)
    assert fees == sum(round(c.amount * 0.029) + 30 for c in inside)  # Stripe's 2.9% + 30¢, checked by hand
    now = kpis.current
    assert (now.gross, now.refunded, now.fees, now.fees_unknown) == (gross, refunded, fees, 0)
    assert now.net_after_fees == gross - refunded - fees
    assert kpis.previous.fees == stripe_fees(api, [c for c in api.v1.charges.list().data if c.created < START])


def test_refunds_by_issue_day_count_what_was_refunded_in_the_period(api, history):
    frame = analytics.load_charges()
    by_issue = analytics.kpis(frame, *bounds(), refunds=analytics.refund_history())
    expected = refunds_issued(api, START, END)
    assert expected == 1500 + 300
    assert by_issue.current.refunded == expected
    assert by_issue.current.gross == sum(c.amount for c in history["inside"])
    assert by_issue.current.net == by_issue.current.gross - expected
    previous_start = START - 7 * DAY
    assert by_issue.previous.refunded == refunds_issued(api, previous_start, START) == 0


def test_the_net_series_adds_up_to_the_kpis_in_both_ways_of_counting_refunds(api, history):
    frame = analytics.load_charges()
    refunds = analytics.refund_history()
    start, end = bounds()
    for given in (None, refunds):
        series = analytics.net_series(frame, start, end, given)
        kpis = analytics.kpis(frame, start, end, given).current
        assert int(series["net_after_fees"].sum()) == kpis.net_after_fees
        assert int(series["fees"].sum()) == kpis.fees
    by_issue = analytics.net_series(frame, start, end, refunds).set_index("bucket")
    issue_day = start + timedelta(days=2)
    assert by_issue.loc[issue_day, "refunded"] == 1500  # the day the refund of the older charge was issued
