"""The shop's "Integration (demo)" switch in Chromium: on a server with the default CHECKOUT_API (PaymentIntents), a
visitor switches their own session to Checkout Sessions, pays with 4242 and sees that integration named."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from shop import orders
from tests.support import Emulator, free_port
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_address,
    fill_details,
    type_card_in_payment_element,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def default_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory):
    """An app server on the default CHECKOUT_API."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop-switch"), emulator, env={"CHECKOUT_API": ""})
    app.start()
    yield app
    app.stop()


def test_switching_to_checkout_sessions_pays_through_it_and_names_it(page: Page, default_app: StreamlitApp) -> None:
    page.goto(default_app.url)
    expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)
    fill_details(page, DETAILS)
    switch = page.get_by_role("combobox", name="Integration (demo)")
    expect(switch).to_be_visible()
    switch.click()
    page.get_by_role("option", name="Checkout Sessions with the Payment Element").click()
    page.get_by_role("button", name="Continue to payment").click()

    fill_address(page)
    type_card_in_payment_element(page, "4242424242424242")
    pay = page.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()

    charge_id = confirmed_charge_id(page)
    expect(page.get_by_text("Paid through Checkout Sessions with the Payment Element.")).to_be_visible()
    client = default_app.emulator.client()
    intent = client.v1.payment_intents.retrieve(client.v1.charges.retrieve(charge_id).payment_intent)
    [session] = client.v1.checkout.sessions.list(params={"payment_intent": intent.id}).data
    assert (session.status, session.payment_status) == ("complete", "paid")
    engine = sa.create_engine(f"sqlite:///{default_app.data_dir / 'shop.db'}")
    try:
        order = orders.get_order(intent.metadata["order_id"], engine=engine)
    finally:
        engine.dispose()
    assert (order.status, order.charge_id) == ("paid", charge_id)
