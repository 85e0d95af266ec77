"""Automatic payouts on the emulator's clock: the available balance paid out each midnight UTC, its transactions.

Stripe's test mode has no clock to move for payouts, so these tests run on a private emulator of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import stripe

from tests.contract.calls import charge

MONDAY = int(dt.datetime(2030, 1, 7, 10, 0, tzinfo=dt.UTC).timestamp())
DAY = 86400


@pytest.fixture
def api(private_emulator) -> Iterator[stripe.StripeClient]:
    private_emulator.reset()
    client = private_emulator.client()
    yield client
    client.raw_request("post", "/_emulator/clock", frozen_time="")


def at(client: stripe.StripeClient, when: int) -> None:
    client.raw_request("post", "/_emulator/clock", frozen_time=str(when))


def balance(client: stripe.StripeClient) -> tuple[int, int]:
    found = client.v1.balance.retrieve()
    return found.available[0].amount, found.pending[0].amount


def test_the_available_balance_is_paid_out_at_midnight_with_its_transactions(api):
    at(api, MONDAY)
    first = charge(api, amount=2300)  # net 2203, available Wednesday 00:00
    second = charge(api, amount=1000)  # net 941
    refund = api.v1.refunds.create(params={"charge": second.id, "amount": 500})  # -500 at once
    assert balance(api) == (-500, 2203 + 941)

    at(api, MONDAY + DAY)  # Tuesday: the refund alone is not a positive balance
    assert api.v1.payouts.list().data == []

    at(api, MONDAY + 2 * DAY)  # Wednesday 10:00
    [payout] = api.v1.payouts.list().data
    assert payout.id.startswith("po_")
    assert (payout.object, payout.status, payout.automatic) == ("payout", "paid", True)
    assert (payout.amount, payout.currency) == (2203 + 941 - 500, "usd")
    wednesday = MONDAY - 10 * 3600 + 2 * DAY
    assert payout.arrival_date == payout.created == wednesday
    own = api.v1.balance_transactions.retrieve(payout.balance_transaction)
    assert (own.type, own.amount, own.net, own.source) == ("payout", -2644, -2644, payout.id)
    covered = {txn.id for txn in api.v1.balance_transactions.list(params={"payout": payout.id, "limit": 100}).data}
    assert covered == {first.balance_transaction, second.balance_transaction, refund.balance_transaction, own.id}
    assert balance(api) == (0, 0)
    assert api.v1.payouts.retrieve(payout.id).amount == 2644
    events = api.v1.events.list(params={"type": "payout.paid"}).data
    assert [event.data.object.id for event in events] == [payout.id]


def test_each_day_has_its_own_payout_and_weekends_wait(api):
    friday = MONDAY + 4 * DAY
    at(api, friday)
    made = charge(api, amount=1000, expand=["balance_transaction"])
    tuesday_midnight = friday - 10 * 3600 + 4 * DAY
    assert made.balance_transaction.available_on == tuesday_midnight
    at(api, tuesday_midnight - 1)
    assert api.v1.payouts.list().data == []
    assert balance(api) == (0, 941)
    at(api, tuesday_midnight + 3600)
    charge(api, amount=2000)
    at(api, tuesday_midnight + 3 * DAY)  # Friday: Tuesday's and Thursday's payouts were made
    payouts = api.v1.payouts.list().data
    assert [p.amount for p in payouts] == [2000 - 88, 941]
    assert [p.created for p in payouts] == [tuesday_midnight + 2 * DAY, tuesday_midnight]


def test_an_unknown_payout_is_a_404(api):
    with pytest.raises(stripe.InvalidRequestError) as info:
        api.v1.payouts.retrieve("po_doesnotexist")
    assert info.value.http_status == 404
