"""The Failures, Refunds and Disputes pages read only what they show from the synced copy: a period's charges, a
search's matches, the disputed charges. Each test puts a charge just outside what a page should read."""

from __future__ import annotations

import time
from datetime import date

import pytest

from shop import db, schema, sync_rows
from shop.db import get_engine, upsert
from shop.disputes import store_disputes
from tests.app.test_ops_pages import (
    env,  # noqa: F401 (the fixture: a fresh store and emulator account per test)
    find_charge,
    fixture_store,
    metrics,
    open_page,
)
from tests.support_data import charge_object, store_charges, ts

pytestmark = pytest.mark.usefixtures("env")

OUTSIDE_AND_INSIDE = [
    # The week 2026-11-14 .. 11-20 of the fixture, and failures one second either side of it.
    charge_object(
        "ch_fail_before",
        ts(13, 23, 59) + 59,
        2300,
        status="failed",
        last4="0002",
        order_id="SP-EDGE0001",
        failure_code="card_declined",
        decline_code="do_not_honor",
    ),
    charge_object(
        "ch_paid_first_minute", ts(14, 0, 10), 2300, brand="mastercard", last4="4444", order_id="SP-EDGE0001"
    ),
    charge_object(
        "ch_fail_first_second",
        ts(14, 0, 0),
        1500,
        status="failed",
        failure_code="card_declined",
        decline_code="lost_card",
        order_id=None,
    ),
    charge_object(
        "ch_fail_after",
        ts(21, 0, 0),
        2300,
        status="failed",
        failure_code="card_declined",
        decline_code="stolen_card",
        order_id=None,
    ),
]


def failures_for_fixture_week():
    at = open_page("failures")
    at.selectbox(key="failures_period").select("Custom range").run()
    at.date_input(key="failures_dates").set_value((date(2026, 11, 14), date(2026, 11, 20))).run()
    assert not at.exception, at.exception
    return at


def test_failures_count_only_the_periods_charges_and_a_failure_before_it_recovers_nothing():
    fixture_store()
    store_charges(get_engine(), OUTSIDE_AND_INSIDE)
    at = failures_for_fixture_week()
    shown = metrics(at)
    # In the week: d, f and the one at its first second failed; a b c e g h and the first-minute one succeeded.
    assert shown["Failed attempts"][0] == "3"
    assert shown["Failure rate"][0] == "30.0%"
    # SP-EDGE0001 failed the second before the week: in the week it is a success only, not a recovered order.
    assert shown["Failed orders recovered"][0] == "1 of 2"
    assert shown["Recovered volume"][0] == "$23.00"
    assert set(at.dataframe[0].value["Charge"]) == {"ch_d", "ch_f", "ch_fail_first_second"}
    assert list(at.dataframe[1].value["Order"]) == ["SP-DDDD0001"]
    advice = " ".join(block.value for block in at.markdown)
    assert "<code>lost_card</code>" in advice
    assert "<code>do_not_honor</code>" not in advice and "<code>stolen_card</code>" not in advice

    # Another period reads its own charges (the cache is per period): all time has every failure.
    at.selectbox(key="failures_period").select("All time").run()
    shown = metrics(at)
    assert shown["Failed attempts"][0] == "6"
    assert shown["Failed orders recovered"][0] == "2 of 4"  # SP-EDGE0001 now fails and is paid with another card
    assert shown["Recovered volume"][0] == "$46.00"


def test_failures_read_the_period_again_after_the_copy_changed():
    fixture_store()
    at = failures_for_fixture_week()
    assert metrics(at)["Failed attempts"][0] == "2"
    late = charge_object("ch_late", ts(20, 9), 4100, status="failed", failure_code="card_declined", order_id=None)
    engine = get_engine()
    with engine.begin() as conn:
        seq = db.next_change(conn)  # as a sync or a webhook stores it: a new data version
        upsert(conn, schema.charges, [{**sync_rows.charge_row(late), "sync_seq": seq}])
    at.run()
    assert metrics(at)["Failed attempts"][0] == "3"


def test_the_refund_search_finds_a_charge_older_than_any_period():
    fixture_store()
    two_years_ago = int(time.time()) - 730 * 86400
    store_charges(
        get_engine(),
        [
            charge_object(
                "ch_ancient", two_years_ago, 3100, amount_refunded=600, email="ancient@example.com", last4="1881"
            )
        ],
    )
    at = open_page("refunds")
    find_charge(at, "ANCIENT@")
    assert at.selectbox(key="refund_charge").value == "ch_ancient"
    shown = metrics(at)
    assert shown["Charged"][0] == "$31.00" and shown["Refunded so far"][0] == "$6.00"
    assert shown["Can still be refunded"][0] == "$25.00"
    at.radio(key="refund_how").set_value("Everything left")
    next(button for button in at.button if button.label == "Refund…").click().run()
    assert not at.exception, at.exception
    pending = at.session_state["refund_pending"]
    assert (pending["charge_id"], pending["amount"], pending["card"]) == ("ch_ancient", 2500, "visa •••• 1881")

    find_charge(at, "sp-dddd0001")  # an order number in lower case: both of its charges, newest first
    assert at.selectbox(key="refund_charge").options[0].startswith("ch_e ·")
    assert [option.split(" ·")[0] for option in at.selectbox(key="refund_charge").options] == ["ch_e", "ch_d"]


def test_disputes_show_the_order_of_an_old_charge_and_count_every_successful_charge():
    fixture_store()  # 8 successful charges, ch_old two months before the others
    lost = {
        "id": "dp_old",
        "charge": "ch_old",
        "created": ts(3, month=10),
        "amount": 9900,
        "currency": "usd",
        "reason": "fraudulent",
        "status": "lost",
        "evidence_details": {"due_by": ts(20, month=10)},
        "balance_transactions": [{"amount": -9900, "fee": 1500}],
    }
    elsewhere = {**lost, "id": "dp_elsewhere", "charge": "ch_not_synced", "amount": 500, "balance_transactions": []}
    with get_engine().begin() as conn:
        store_disputes(conn, [lost, elsewhere], ts(20, month=10))
    at = open_page("disputes")
    rate = next(metric for metric in at.metric if metric.label == "Dispute rate")
    assert rate.value == "25.00%"
    assert rate.help == "2 disputes / 8 successful charges, all time."
    history = at.dataframe[0].value.set_index("Dispute")
    assert history.loc["dp_old", "Order"] == "SP-OLD00001"
    assert history.loc["dp_elsewhere", "Order"] == "–"
