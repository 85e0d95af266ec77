"""Emails on the pages through AppTest: the Mailbox, undelivered emails on Orders, carrier and tracking number
from "Mark shipped" to Orders and Your order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shop import catalog, orders
from shop.checkout import charges
from shop.db import get_engine
from shop.mail import local_server, outbox
from shop.mail.sender import Sender
from shop.mail.settings import get_mail_settings
from tests.support import ROOT, free_port, use_emulator
from tests.support_app import sign_in_as_staff
from tests.support_data import CUSTOMER

DASHBOARD = str(ROOT / "dashboard.py")
HAMMING = "art-of-doing-science"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator) -> Iterator[Path]:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("LOCAL_SMTP_PORT", str(free_port()))
    get_mail_settings.cache_clear()
    private_emulator.reset()
    yield tmp_path
    local_server.stop_all()
    get_mail_settings.cache_clear()


def open_page(page: str, signed_in: bool = True) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    if signed_in:
        sign_in_as_staff(at)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def paid_order() -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    result = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242")
    assert result.succeeded
    return result.order


def deliver() -> None:
    settings = get_mail_settings()
    local_server.ensure_running(settings.target.port, settings.mailbox_dir)
    Sender(get_engine(), settings).run_once()


def markdown(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.markdown, *at.caption])


def test_the_mailbox_is_empty_then_lists_and_opens_each_email(env) -> None:
    at = open_page("mailbox")
    assert at.title[0].value == "Mailbox" and "No email yet" in markdown(at)
    order = paid_order()
    orders.mark_shipped(order.id, carrier="DHL", tracking_number="JD0123")
    deliver()
    at = open_page("mailbox")
    assert "2 messages" in markdown(at)
    assert {metric.label: metric.value for metric in at.metric} == {"Waiting to send": "0", "Sent": "2", "Failed": "0"}
    assert list(at.dataframe[0].value["Order"]) == [order.id, order.id]
    assert f"Your order {order.id} has shipped" in markdown(at)  # the newest is open
    sources = [code.value for code in at.code]
    assert any("JD0123" in text for text in sources) and any("Message-ID:" in text for text in sources)


def test_orders_shows_an_email_the_server_refused_with_what_to_fix(env) -> None:
    order = orders.create_order(
        orders.Customer(**{**CUSTOMER.__dict__, "email": "ada@nowhere.invalid"}), catalog.priced_line(HAMMING, 1)
    )
    charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex)
    deliver()
    (failed,) = outbox.messages(order_id=order.id, engine=get_engine())
    assert failed.status == "failed"
    at = open_page("orders")
    text = markdown(at)
    assert "1 customer email(s) not delivered" in text
    assert order.id in text and "refused the address ada@nowhere.invalid" in text and "550 5.1.2" in text


def test_mark_shipped_takes_a_carrier_and_tracking_number_shown_on_orders_and_your_order(env) -> None:
    order = paid_order()
    at = open_page("orders")
    drawn = list(at.session_state["orders_table_drawn"])
    at.session_state["orders_table"] = {"selection": {"rows": [drawn.index(order.id)], "columns": []}}
    at.run()
    at.text_input(key="orders_ship_carrier").input("UPS")
    at.text_input(key="orders_ship_tracking").input("1Z999AA1")
    at.button(key="orders_ship").click().run()
    assert [s.value for s in at.success] == [f"Order {order.id} marked shipped. Tracking: UPS 1Z999AA1."]
    shipped = orders.get_order(order.id)
    assert (shipped.carrier, shipped.tracking_number) == ("UPS", "1Z999AA1")
    assert list(at.dataframe[0].value["Tracking"]) == ["UPS 1Z999AA1"]
    assert [m.kind for m in outbox.messages(order_id=order.id, engine=get_engine())] == ["shipped", "confirmed"]

    customer = open_page("your_order", signed_in=False)
    customer.text_input(key="your_order_number").input(order.id)
    customer.text_input(key="your_order_email").input(CUSTOMER.email)
    next(button for button in customer.button if button.label == "Find my order").click().run()
    assert "Carrier <strong>UPS</strong>" in markdown(customer) and "1Z999AA1" in markdown(customer)


def test_the_charge_page_lists_the_orders_emails_and_one_the_server_refused(env, private_emulator) -> None:
    import streamlit as st

    from shop import sync

    st.cache_data.clear()
    order = orders.create_order(
        orders.Customer(**{**CUSTOMER.__dict__, "email": "ada@nowhere.invalid"}), catalog.priced_line(HAMMING, 1)
    )
    charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex)
    order = orders.get_order(order.id)
    orders.mark_shipped(order.id, carrier="USPS", tracking_number="9400 1000")
    deliver()
    sync.sync(private_emulator.client())
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    sign_in_as_staff(at)
    at.run()
    at.query_params["id"] = order.charge_id
    at.switch_page("pages/charge.py")
    at.run()
    assert not at.exception, at.exception
    text = markdown(at)
    assert "Shipped with USPS · tracking 9400 1000" in text
    assert "2 customer email(s) not delivered" in text and "refused the address ada@nowhere.invalid" in text
    assert "order confirmed to ada@nowhere.invalid · failed" in text and "shipped to ada@nowhere.invalid" in text
