"""The charge detail, the Charges page's fees, refunds-by-issue-day and search, and Balance, through AppTest."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import streamlit as st
import stripe
from streamlit.testing.v1 import AppTest

from shop import auth, catalog, orders, sync
from shop.checkout import charges
from shop.money import format_amount
from tests.support import ROOT, use_emulator
from tests.support_app import sign_in_as_staff
from tests.support_data import CUSTOMER

DASHBOARD = str(ROOT / "dashboard.py")
HAMMING = "art-of-doing-science"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator) -> Iterator[stripe.StripeClient]:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    auth.THROTTLE.reset()
    st.cache_data.clear()  # the pages cache Stripe's answers for a minute: each test starts with none
    yield private_emulator.client()


def run_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    sign_in_as_staff(at)
    at.run()
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def paid_order() -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    result = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242")
    assert result.succeeded
    return orders.get_order(order.id)


def submit(at: AppTest) -> None:
    """Click the search form's Open button."""
    next(b for b in at.get("form_submit_button") if b.proto.label == "Open charge").click().run()
    assert not at.exception, at.exception


def metric_values(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def page_text(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.text, *at.info, *at.warning, *at.title])


def test_charges_shows_stripes_fees_and_net_after_fees_and_refunds_by_the_day_issued(api):
    first, second = paid_order(), paid_order()
    sync.sync(api)
    txns = [
        api.v1.balance_transactions.retrieve(api.v1.charges.retrieve(o.charge_id).balance_transaction)
        for o in (first, second)
    ]
    fees = sum(t.fee for t in txns)
    gross = first.amount + second.amount

    at = run_page("charges")
    values = metric_values(at)
    assert values["Fees"] == format_amount(fees)
    assert values["Net after fees"] == format_amount(gross - fees)

    assert at.toggle(key="charges_refunds_by_issue").value is False
    at.toggle(key="charges_refunds_by_issue").set_value(True).run()
    assert not at.exception, at.exception
    assert metric_values(at)["Refunded"] == format_amount(0)


def test_the_search_opens_a_charge_by_order_number_and_lists_an_emails_charges(api):
    first, second = paid_order(), paid_order()
    sync.sync(api)
    at = run_page("charges")
    at.text_input(key="find_q").input(CUSTOMER.email)
    submit(at)
    assert "2 charges match" in page_text(at)
    choices = {link.proto.label for link in at.get("page_link")}
    assert any(first.charge_id in label for label in choices) and any(second.charge_id in label for label in choices)

    at.text_input(key="find_q").input(second.id)
    submit(at)
    assert not at.exception, at.exception
    assert second.charge_id in page_text(at)  # the detail page of the order's charge


def test_the_charge_detail_shows_money_card_order_refund_and_timeline(api):
    order = paid_order()
    refund = api.v1.refunds.create(params={"charge": order.charge_id, "amount": 500, "reason": "requested_by_customer"})
    sync.sync(api)
    charge = api.v1.charges.retrieve(order.charge_id, params={"expand": ["balance_transaction"]})

    at = run_page("charge", id=order.charge_id)
    values = metric_values(at)
    assert values["Amount"] == format_amount(charge.amount)
    assert values["Stripe fee"] == format_amount(charge.balance_transaction.fee)
    assert values["Net"] == format_amount(charge.balance_transaction.net)
    assert values["Refunded"] == format_amount(500)
    text = page_text(at)
    checks = charge.payment_method_details.card.checks
    assert order.id in text
    assert "visa •••• 4242" in text
    assert f"cvc check: {checks.cvc_check or 'not checked'}" in text
    assert f"risk: {charge.outcome.risk_level}" in text
    tables = [frame.value for frame in at.dataframe]
    assert any(refund.id in set(t.get("Refund", [])) for t in tables)
    timeline = [str(e.value) for e in at.markdown if "<code>" in str(e.value)]
    assert any("<strong>charge.succeeded</strong>" in line for line in timeline)
    assert any("<strong>charge.refunded</strong>" in line for line in timeline)
    assert not [b for b in at.get("link_button")]  # emulator mode: no Stripe Dashboard link


def test_a_failed_charge_shows_no_fee_rather_than_one_not_synced_yet(api):
    # A failed charge moves no money, so Stripe makes no balance transaction: "not synced yet" promised a fee.
    with pytest.raises(stripe.CardError) as declined:
        api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_chargeDeclined"})
    sync.sync(api)
    values = metric_values(run_page("charge", id=declined.value.error.charge))
    assert (values["Amount"], values["Stripe fee"], values["Net"]) == ("$23.00", "none", "$0.00")


def test_an_unknown_id_says_so_and_the_intent_and_order_number_open_the_charge(api):
    at = run_page("charge", id="ch_doesnotexist")
    assert "Nothing found for" in page_text(at)
    order = paid_order()
    sync.sync(api)
    assert order.charge_id in page_text(run_page("charge", id=order.id))


def test_balance_shows_stripes_available_and_pending_funds(api):
    paid_order()
    expected = api.v1.balance.retrieve()
    at = run_page("balance")
    values = metric_values(at)
    pending = sum(entry.amount for entry in expected.pending)
    assert values["Pending (USD)"] == format_amount(pending)
    assert values["Available (USD)"] == format_amount(sum(entry.amount for entry in expected.available))


def test_balance_lists_a_payout_with_the_transactions_it_paid_out(api):
    monday = 1894010400  # 2030-01-07 10:00 UTC
    api.raw_request("post", "/_emulator/clock", frozen_time=str(monday))
    try:
        charge = api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
        api.raw_request("post", "/_emulator/clock", frozen_time=str(monday + 3 * 86400))  # Thursday: paid out
        [payout] = api.v1.payouts.list().data
        members = api.v1.balance_transactions.list(params={"payout": payout.id}).data
        paid = [txn for txn in members if txn.type != "payout"]

        at = run_page("balance")
    finally:
        api.raw_request("post", "/_emulator/clock", frozen_time="")
    payouts, transactions = (frame.value for frame in at.dataframe)
    assert list(payouts["Payout"]) == [payout.id]
    assert list(transactions["Charge or refund"]) == [charge.id] == [txn.source for txn in paid]
    assert list(transactions["Net"]) == [paid[0].net / 100]
    assert f"net {format_amount(sum(t.net for t in paid))}" in page_text(at)


def test_the_charge_detail_tables_the_charges_disputes(api, monkeypatch):
    # shop.disputes is another module's; a stand-in with its interface (list_disputes) feeds the section here.
    order = paid_order()
    sync.sync(api)
    dispute = SimpleNamespace(
        id="dp_1", created=100, amount=2300, reason="fraudulent", status="needs_response", due_by=900, net_amount=-3800
    )
    fake = SimpleNamespace(list_disputes=lambda **kwargs: [dispute] if kwargs["charge_id"] == order.charge_id else [])
    monkeypatch.setitem(sys.modules, "shop.disputes", fake)

    at = run_page("charge", id=order.charge_id)
    [disputes] = [frame.value for frame in at.dataframe if "reason" in frame.value.columns]
    assert list(disputes["id"]) == ["dp_1"] and list(disputes["amount"]) == [23.0]


def test_what_was_typed_into_the_search_is_shown_as_text_not_markdown(api):
    sync.sync(api)
    at = run_page("charges")
    at.text_input(key="find_q").input("ch_[Approve](https://evil.example/x)")
    submit(at)
    assert not [box.value for box in at.info if "evil.example" in box.value]  # never markdown in a box
    shown = [block.value for block in at.markdown if "No synced charge" in block.value]
    assert shown, page_text(at)
    # One HTML block (ui.messages.show_line): markdown inside it is not parsed, so no link is made of it.
    assert shown[0].startswith("<div>") and shown[0].endswith("</div>")
