"""The Orders page shows staff the second charges the shop refunded on its own."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shop import catalog, orders, second_charges
from shop.checkout import charges, unwanted_charges
from tests.support import ROOT, use_emulator
from tests.support_app import sign_in_as_staff
from tests.support_data import CUSTOMER

TITLE = "Second charges refunded automatically"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator) -> Path:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    return tmp_path


def orders_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    sign_in_as_staff(at)
    at.run()
    at.switch_page("pages/orders.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_second_charge_is_listed_with_its_order_charge_and_amount(env, private_emulator):
    api = private_emulator.client()
    order = orders.create_order(CUSTOMER, catalog.priced_line("art-of-doing-science", 1))
    paid = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, card_brand="visa", card_last4="4242")
    late = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "metadata": {"order_id": order.id}}
    )
    assert not any(TITLE in text for text in (m.value for m in orders_page().markdown))

    unwanted_charges.refund_second_charge(orders.get_order(order.id), late.id, 2300, "usd", api, "sync")

    at = orders_page()
    assert any(TITLE in m.value for m in at.markdown)
    [frame] = [df.value for df in at.dataframe if "Charge" in df.value.columns and "Found by" in df.value.columns]
    assert list(frame["Order"]) == [order.id]
    assert list(frame["Charge"]) == [late.id]
    assert list(frame["Amount"]) == [23.0]
    assert frame["Refund"].iloc[0].startswith("re_")
    assert paid.charge_id not in set(frame["Charge"])


def test_a_charge_refunded_for_not_being_the_orders_amount_says_so():
    from ui.second_charges import second_charges_frame

    record = second_charges.SecondCharge("ch_1", "SP-1", 4600, "usd", unwanted_charges.MISMATCH, 1, "re_1", 2)
    assert list(second_charges_frame([record])["Found by"]) == ["amount not the order's"]
