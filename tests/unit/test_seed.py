"""shop.seed: the planned mix stays within its stated bounds, a run goes through the real path, reruns add."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from shop import analytics, attempts, clock, config, orders, seed
from shop.checkout import charges
from shop.config import load_settings
from tests.support import Emulator, use_emulator

NOW = 1_790_000_000  # a fixed "now" (a Thursday) so the planned calendar does not depend on today
DAYS = 30


@pytest.fixture(scope="module")
def big_plan() -> list[seed.PlannedOrder]:
    """2,000 planned orders: enough for the shares to sit near their targets for this fixed seed."""
    return seed.plan_history(orders_count=2000, days=DAYS, seed=11, now=NOW)


def steps_of(plan: list[seed.PlannedOrder], kind: str) -> list[seed.Step]:
    return [step for order in plan for step in order.steps if step.kind == kind]


def test_plan_is_repeatable_and_a_later_run_gets_a_fresh_stream() -> None:
    first = seed.plan_history(orders_count=50, days=DAYS, seed=7, now=NOW)
    again = seed.plan_history(orders_count=50, days=DAYS, seed=7, now=NOW)
    later = seed.plan_history(orders_count=50, days=DAYS, seed=7, now=NOW, offset=50)
    assert first == again
    assert [order.at for order in later] != [order.at for order in first]
    assert {o.customer.email for o in later} != {o.customer.email for o in first}


def test_every_step_is_in_the_window_and_in_order(big_plan: list[seed.PlannedOrder]) -> None:
    for order in big_plan:
        assert NOW - DAYS * seed.DAY <= order.at <= NOW
        times = [step.at for step in order.steps]
        assert times == sorted(times)
        assert all(order.at <= at <= NOW for at in times)
    line = seed.timeline(big_plan)
    assert [step.at for step in line] == sorted(step.at for step in line)


def test_payments_mix_within_bounds(big_plan: list[seed.PlannedOrder]) -> None:
    first_tokens = [order.steps[0].token for order in big_plan if order.steps]
    declined_first = [token for token in first_tokens if token in seed.DECLINE_CARDS]
    assert 0.10 <= len(declined_first) / len(first_tokens) <= 0.18
    decline_counts = Counter(declined_first)
    assert decline_counts.most_common(1)[0][0] == "tok_chargeDeclinedInsufficientFunds"
    assert len(decline_counts) >= 8  # spread over the facts page's decline codes
    paid = [order for order in big_plan if any(s.kind == "pay" and s.token in seed.SUCCESS_CARDS for s in order.steps)]
    brands = Counter(seed.SUCCESS_CARDS[s.token][0] for s in steps_of(paid, "pay") if s.token in seed.SUCCESS_CARDS)
    assert {"visa", "mastercard", "amex", "discover"} <= set(brands)
    assert brands["visa"] > brands["mastercard"] > brands["amex"]
    recovered = [order for order in paid if order.steps[0].token in seed.DECLINE_CARDS]
    assert 0.45 <= len(recovered) / len(declined_first) <= 0.75
    assert 0.80 <= len(paid) / len(big_plan) <= 0.95


def test_fulfilment_and_refund_mix_within_bounds(big_plan: list[seed.PlannedOrder]) -> None:
    paid = [order for order in big_plan if any(s.token in seed.SUCCESS_CARDS for s in order.steps if s.token)]
    cancelled = steps_of(paid, "cancel")
    assert 0.02 <= len(cancelled) / len(paid) <= 0.06
    refunds = steps_of(paid, "refund") + steps_of(paid, "approve")
    assert 0.03 <= len(refunds) / len(paid) <= 0.10
    assert {step.reason for step in steps_of(paid, "refund")} == {"fraudulent", "duplicate", "requested_by_customer"}
    assert any(step.amount for step in refunds) and any(step.amount is None for step in refunds)  # partial and full
    assert steps_of(paid, "request") and steps_of(paid, "reject")
    # Most orders paid more than four days ago have shipped (the rest were cancelled or refunded before).
    old = [order for order in paid if order.at < NOW - 4 * seed.DAY]
    shipped = [order for order in old if any(step.kind == "ship" for step in order.steps)]
    assert len(shipped) / len(old) >= 0.9
    recent = [order for order in paid if order.at > NOW - 2 * seed.HOUR]
    assert not any(step.kind == "ship" for order in recent for step in order.steps)


def test_calendar_and_customers_within_bounds(big_plan: list[seed.PlannedOrder]) -> None:
    per_weekday = Counter(time.gmtime(order.at).tm_wday for order in big_plan)
    weekday_mean = sum(per_weekday[d] for d in range(5)) / 5
    weekend_mean = (per_weekday[5] + per_weekday[6]) / 2
    assert weekday_mean > 1.4 * weekend_mean
    daytime = [order for order in big_plan if 8 <= time.gmtime(order.at).tm_hour < 22]
    assert len(daytime) / len(big_plan) >= 0.75

    per_customer = Counter(order.customer.email for order in big_plan)
    from_returning = sum(count for count in per_customer.values() if count > 1)
    assert 0.25 <= from_returning / len(big_plan) <= 0.6
    assert all(email.endswith(("@example.com", "@example.org")) for email in per_customer)
    assert len({order.customer.email for order in big_plan}) == len({order.customer for order in big_plan})


@pytest.fixture(scope="module")
def emulator(private_emulator: Emulator) -> Emulator:
    """This module's own emulator: seeding moves its clock and fills it with a month of charges."""
    return private_emulator


@pytest.fixture
def seeded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> Path:
    """A fresh order store and settings pointing at this module's emulator (emulator mode)."""
    use_emulator(monkeypatch, emulator, tmp_path)
    return tmp_path


def emulator_clock(emulator) -> dict:
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/clock", headers={"Authorization": "Bearer sk_test_emulator"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def charges_of(client, order_ids: set[str], since: int) -> list:
    listed = client.v1.charges.list(params={"limit": 100, "created": {"gte": since}})
    return [charge for charge in listed.auto_paging_iter() if charge.metadata.to_dict().get("order_id") in order_ids]


def test_seed_runs_through_the_shop_and_a_rerun_adds_without_duplicates(seeded_env: Path, emulator) -> None:
    client = emulator.client()
    since = int(time.time()) - (DAYS + 1) * seed.DAY

    first = seed.seed(orders_count=60, days=DAYS, seed_value=4, client=client)
    assert first.orders == 60 and first.errors == 0
    assert emulator_clock(emulator)["frozen_time"] is None  # back to real time
    first_orders = {order.id: order for order in orders.list_orders()}
    assert len(first_orders) == 60
    first_charges = charges_of(client, set(first_orders), since)
    assert len(first_charges) == first.charges == len(attempts.list_attempts())
    # History spread over the month, and each order's time agrees with its first charge's.
    created = sorted(charge.created for charge in first_charges)
    assert created[-1] - created[0] > 20 * seed.DAY
    first_charge_of = {}
    for charge in sorted(first_charges, key=lambda c: c.created):
        first_charge_of.setdefault(charge.metadata["order_id"], charge.created)
    assert all(first_orders[order_id].created == at for order_id, at in first_charge_of.items())
    statuses = Counter(order.status for order in first_orders.values())
    assert statuses["shipped"] > 30 and statuses["failed"] + statuses["pending"] < 10
    # The local copy is synced: every charge of the run is in the analytics frame.
    frame = analytics.load_charges()
    assert {charge.id for charge in first_charges} <= set(frame["id"])

    second = seed.seed(orders_count=60, days=DAYS, seed_value=4, client=client)
    assert second.run_id != first.run_id
    all_orders = orders.list_orders()
    assert len(all_orders) == 120 and len({order.id for order in all_orders}) == 120
    all_charges = charges_of(client, {order.id for order in all_orders}, since)
    assert len(all_charges) == first.charges + second.charges == len(attempts.list_attempts())
    succeeded_per_order = Counter(c.metadata["order_id"] for c in all_charges if c.status == "succeeded")
    assert max(succeeded_per_order.values()) == 1
    keys = [attempt.idempotency_key for attempt in attempts.list_attempts()]
    assert len(keys) == len(set(keys))
    # The second run is new history, not a replay of the first: other times, mostly other people.
    second_orders = [order for order in all_orders if order.id not in first_orders]
    assert {o.created for o in second_orders}.isdisjoint({o.created for o in first_orders.values()})
    paid = [order for order in all_orders if order.paid_at]
    assert all(order.charge_id in {c.id for c in all_charges} for order in paid)


def test_plan_has_a_few_of_each_rarer_story_at_the_age_it_needs() -> None:
    plan = seed.plan_history(orders_count=800, days=60, seed=5, now=NOW)
    stories = Counter(order.story for order in plan if order.story)
    assert set(stories) == {name for name, *_ in seed.SPECIAL_STORIES}
    assert stories["expired_authorization"] == 1
    rare = set(stories) - {"bank_debit"}
    assert all(1 <= stories[name] <= 12 for name in rare)  # a few of each in 800, not a flood
    assert 0.04 * 800 <= stories["bank_debit"] <= 0.08 * 800  # some customers pay from their bank
    for order in plan:
        kinds = [step.kind for step in order.steps]
        if order.story == "dispute_open" or order.story == "inquiry":
            assert order.at > NOW - 6 * seed.DAY and "evidence" not in kinds  # its deadline still ahead
        elif order.story in ("dispute_won", "dispute_lost"):
            assert kinds == ["pay", "ship", "evidence"]
        elif order.story == "expired_authorization":
            assert order.capture == "manual" and kinds == ["pay"] and order.at < NOW - 7 * seed.DAY
        elif order.story == "at_shipment":
            assert order.capture == "manual" and "ship" not in kinds
        elif order.story == "recovered_decline":
            pays = [step for step in order.steps if step.kind == "pay"]
            assert kinds == ["pay", "pay", "ship"] and pays[0].token in seed.DECLINE_CARDS
            assert NOW - 20 * seed.DAY <= order.at < pays[1].at <= NOW
        elif order.story in ("bank_debit", "settled_debit", "returned_debit"):
            debit = order.steps[0]
            returned = seed.BANK_ACCOUNTS[debit.token][0] is not None
            # Nothing ships before the bank has answered, and a returned debit never ships.
            assert kinds == ["pay_debit", "debit_settles"] + ([] if returned else ["ship"])
            assert order.steps[1].at - debit.at >= 2 * seed.DAY and order.steps[1].at <= NOW
            if order.story != "bank_debit":  # the two kept inside "Last 30 days"
                assert returned is (order.story == "returned_debit") and order.at >= NOW - 20 * seed.DAY
    assert any(o.story == "at_shipment" and "ship_capture" in [s.kind for s in o.steps] for o in plan)
    tokens = {step.token for order in plan for step in order.steps if step.token}
    assert {"tok_createDisputeInquiry", "tok_refundFail"} <= tokens


@pytest.mark.parametrize("hour", range(0, 24, 3))
def test_a_small_run_at_any_hour_holds_a_recovered_order_inside_the_last_30_days(hour: int) -> None:
    # Which arrival times fall before "now" moved with the hour of the run, and the one retry of a 60-order run
    # could land outside "Last 30 days" (the notebooks' and the Failures page's default): none to chart then.
    now = NOW + hour * seed.HOUR
    range_start = (now // seed.DAY - 29) * seed.DAY  # midnight UTC 29 days back, as the date presets count
    recovered = []
    for order in seed.plan_history(orders_count=60, days=DAYS, seed=21, now=now):
        pays = [step for step in order.steps if step.kind == "pay"]
        if len(pays) == 2 and pays[0].token in seed.DECLINE_CARDS and pays[1].token in seed.SUCCESS_CARDS:
            recovered.append((pays[0].at, pays[1].at))
    assert any(range_start <= declined < paid <= now for declined, paid in recovered), recovered


def test_seeded_history_has_disputes_failing_refunds_captures_at_shipment_and_an_expiry(
    seeded_env: Path, emulator
) -> None:
    client = emulator.client()
    report = seed.seed(orders_count=60, days=DAYS, seed_value=6, client=client)
    assert report.errors == 0
    order_ids = {order.id for order in orders.list_orders()}
    charges = charges_of(client, order_ids, int(time.time()) - (DAYS + 1) * seed.DAY)
    charge_ids = {charge.id for charge in charges}

    listed = client.v1.disputes.list(params={"limit": 100}).auto_paging_iter()
    ours = [dispute for dispute in listed if dispute.charge in charge_ids]
    statuses = Counter(dispute.status for dispute in ours)
    assert statuses["won"] >= 1 and statuses["lost"] >= 1, statuses
    assert statuses["needs_response"] >= 1 and statuses["warning_needs_response"] >= 1, statuses
    waiting = [d for d in ours if d.status in ("needs_response", "warning_needs_response")]
    assert all(dispute.evidence_details.due_by > time.time() for dispute in waiting)

    refunds = [r for r in client.v1.refunds.list(params={"limit": 100}).auto_paging_iter() if r.charge in charge_ids]
    assert any(refund.status == "failed" for refund in refunds)
    assert any(refund.reason == "expired_uncaptured_charge" for refund in refunds)

    captured_later = []
    for charge in charges:
        if charge.captured and charge.balance_transaction:
            moved = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
            if moved.created > charge.created + seed.HOUR:  # the money was taken when the book shipped
                captured_later.append(charge.id)
    assert captured_later

    summary = report.summary()
    assert f"{len(ours) - statuses['warning_needs_response']} dispute" in summary
    assert "captured at shipment" in summary and "left to expire" in summary
    assert report.captured_at_shipment >= 1 and report.left_to_expire == 1 and report.refunds_failing >= 1

    # Bank debits through Checkout Sessions: Stripe settled some and returned one, and each order says which.
    debits = [charge for charge in charges if charge.payment_method_details.type == "us_bank_account"]
    assert Counter(charge.status for charge in debits) == {
        "succeeded": report.bank_debits - report.debits_returned,
        "failed": report.debits_returned,
    }
    assert report.debits_returned >= 1 and report.bank_debits > report.debits_returned
    for charge in debits:
        order = orders.get_order(charge.metadata["order_id"])
        assert order is not None
        assert (order.charge_id == charge.id) is (charge.status == "succeeded") is bool(order.paid_at)
        assert order.status == ("failed" if charge.status == "failed" else "shipped")
    assert f"{report.bank_debits} orders paid by US bank account ({report.debits_returned} returned" in summary


def test_a_rebuilt_store_seeds_again_against_the_same_account(
    seeded_env: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = seed.seed(orders_count=60, days=DAYS, seed_value=8, client=emulator.client())
    assert first.refunds_full + first.refunds_partial + first.cancelled > 0
    # The order store is thrown away but Stripe keeps its charges and idempotency keys: the same plan again.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{seeded_env / 'rebuilt.db'}")
    config.get_settings.cache_clear()
    again = seed.seed(orders_count=60, days=DAYS, seed_value=8, client=emulator.client())
    assert again.run_id == first.run_id and again.skipped == 0
    assert (again.refunds_full, again.refunds_partial, again.cancelled) == (
        first.refunds_full,
        first.refunds_partial,
        first.cancelled,
    )


def test_if_empty_seeds_only_an_empty_store(seeded_env: Path, emulator, capsys: pytest.CaptureFixture) -> None:
    assert seed.main(["--if-empty", "--orders", "5", "--days", "3"]) == 0
    assert len(orders.list_orders()) == 5
    assert seed.main(["--if-empty", "--orders", "5", "--days", "3"]) == 0
    assert len(orders.list_orders()) == 5
    assert "nothing to seed" in capsys.readouterr().out


def test_clocks_return_to_real_time_when_a_run_fails(
    seeded_env: Path, emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_pay = charges.pay_order
    calls = []

    def pay_then_fail(*args, **kwargs):
        calls.append(args)
        if len(calls) == 4:
            raise RuntimeError("the machine fell over")
        return real_pay(*args, **kwargs)

    monkeypatch.setattr(charges, "pay_order", pay_then_fail)
    with pytest.raises(RuntimeError, match="fell over"):
        seed.seed(orders_count=10, days=DAYS, seed_value=2, client=emulator.client())
    assert emulator_clock(emulator)["frozen_time"] is None
    assert abs(clock.now() - time.time()) < 5


def test_if_empty_never_seeds_a_stripe_account_unasked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_x")
    config.get_settings.cache_clear()

    def must_not_seed(**_options):
        raise AssertionError("seeded a Stripe account without --yes")

    monkeypatch.setattr(seed.cli, "seed", must_not_seed)
    try:
        assert seed.main(["--if-empty"]) == 0
    finally:
        config.get_settings.cache_clear()
    assert "--yes" in capsys.readouterr().out


def test_stripe_test_mode_plays_the_history_at_real_time(seeded_env: Path, emulator: Emulator) -> None:
    # Stripe mode as configured with test keys; the emulator stands in for api.stripe.com through the client.
    test_mode = dataclasses.replace(
        load_settings(env={"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}, secrets={}),
        database_url=config.get_settings().database_url,
    )
    client = emulator.client()
    before = int(time.time())
    report = seed.seed(orders_count=12, days=DAYS, seed_value=3, settings=test_mode, confirmed=True, client=client)
    made = orders.list_orders()
    assert report.mode == "stripe" and len(made) == 12
    assert all(order.created >= before for order in made)  # no clock was moved: everything happened just now
    charges = charges_of(client, {order.id for order in made}, before)
    assert len(charges) == report.charges and all(charge.created >= before for charge in charges)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_counts_to_the_total() -> None:
    stream = _Terminal()
    bar = seed.progress_bar("Seeding", "step", total=200, stream=stream)
    for _ in range(200):
        bar.update(1)
    bar.close()
    last = stream.getvalue().split("\r")[-1]
    assert last.startswith("Seeding: 100%") and "200/200" in last


def test_progress_bar_stays_out_of_a_log() -> None:
    stream = io.StringIO()
    bar = seed.progress_bar("Seeding", "step", total=200, stream=stream)
    bar.update(200)
    bar.close()
    assert stream.getvalue() == ""


class NoCallsClient:
    """A Stripe client stand-in that fails the test if the seeder touches Stripe."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the seeder used Stripe ({name}) although it should have refused")


def test_refuses_a_live_key_even_when_live_keys_are_allowed() -> None:
    live = load_settings(
        env={"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_PUBLISHABLE_KEY": "pk_live_x", "ALLOW_LIVE_KEYS": "1"},
        secrets={},
    )
    with pytest.raises(seed.SeedError, match="live"):
        seed.seed(orders_count=5, settings=live, confirmed=True, client=NoCallsClient())


def test_stripe_test_mode_needs_yes() -> None:
    test_mode = load_settings(env={"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}, secrets={})
    with pytest.raises(seed.SeedError, match="--yes") as refused:
        seed.seed(orders_count=5, settings=test_mode, client=NoCallsClient())
    assert "real creation time" in str(refused.value)


@pytest.mark.parametrize(
    ("allow_live", "message"),
    [("", "Live Stripe keys are refused"), ("1", "Refusing to seed with a live Stripe key")],
)
def test_command_line_refuses_live_key(
    allow_live: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_live_x")
    monkeypatch.setenv("ALLOW_LIVE_KEYS", allow_live)
    config.get_settings.cache_clear()
    try:
        assert seed.main(["--yes", "--orders", "3"]) == 2
    finally:
        config.get_settings.cache_clear()
    assert message in capsys.readouterr().err
