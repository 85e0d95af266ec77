"""Checkout on PaymentIntents (the default) in Chromium: confirmCardPayment, the 3-D Secure modal, one intent per
order whatever the customer does."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.support_browser import (
    CHALLENGE_MODAL,
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    open_shop,
    shop_field,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

PAY = "Pay $23.00"


def details_for(name: str) -> dict[str, str]:
    """Details with an email of their own, so no test's purchase (here or in another file on the same app server)
    looks like a duplicate of another's, which the shop would ask about first."""
    return {**DETAILS, "Full name": name, "Email": f"{name.split()[0].lower()}.intents@example.com"}


def challenge(page: Page) -> FrameLocator:
    """The 3-D Secure challenge once its modal covers the page."""
    expect(page.locator(CHALLENGE_MODAL)).to_be_visible(timeout=30_000)
    frame = page.frame_locator(f"{CHALLENGE_MODAL} iframe")
    expect(frame.get_by_role("button", name="Complete")).to_be_visible()
    return frame


def orders_of(app: StreamlitApp, email: str) -> list[Any]:
    """The intents of `email` in the emulator, by the order id in their metadata."""
    client = app.emulator.client()
    return [
        intent
        for intent in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.receipt_email == email
    ]


def succeeded_charges(app: StreamlitApp, intent_id: str) -> list[Any]:
    client = app.emulator.client()
    return [
        charge
        for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if charge.payment_intent == intent_id and charge.status == "succeeded"
    ]


def error_alert(page: Page, words: str):
    alert = page.get_by_test_id("stAlert").filter(has_text=words)
    expect(alert).to_be_visible(timeout=30_000)
    return alert


def test_4242_pays_and_the_confirmation_shows_the_intents_latest_charge(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Ada Lovelace")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()

    charge_id = confirmed_charge_id(page)
    [intent] = orders_of(streamlit_app, details["Email"])
    assert (intent.status, intent.amount, intent.latest_charge) == ("succeeded", 2300, charge_id)
    expect(page.get_by_text(intent.metadata["order_id"])).to_be_visible()
    expect(page.get_by_text("Visa card ending in 4242")).to_be_visible()


def test_3184_challenge_completed_pays(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Mary Somerville")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name=PAY).click()
    challenge(page).get_by_role("button", name="Complete").click()

    charge_id = confirmed_charge_id(page)
    [intent] = orders_of(streamlit_app, details["Email"])
    assert (intent.status, intent.latest_charge) == ("succeeded", charge_id)


def test_3184_failed_then_4242_pays_the_same_order_with_the_same_intent(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Emmy Noether")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name=PAY).click()
    challenge(page).get_by_role("button", name="Fail").click()

    error_alert(page, "Your bank could not confirm this payment")
    for label, value in details.items():
        expect(shop_field(page, label)).to_have_value(value)
    fill_card(page, "4242 4242 4242 4242")
    expect(page.get_by_role("button", name=PAY)).to_be_enabled(timeout=30_000)
    page.get_by_role("button", name=PAY).click()
    charge_id = confirmed_charge_id(page)

    [intent] = orders_of(streamlit_app, details["Email"])
    assert intent.latest_charge == charge_id
    assert [charge.id for charge in succeeded_charges(streamlit_app, intent.id)] == [charge_id]


def test_3178_authenticates_then_is_declined_for_insufficient_funds(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Sophie Germain")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0082 6000 3178")
    page.get_by_role("button", name=PAY).click()
    challenge(page).get_by_role("button", name="Complete").click()

    error_alert(page, "insufficient funds")
    [intent] = orders_of(streamlit_app, details["Email"])
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "insufficient_funds"


def test_9995_is_declined_and_the_details_are_kept(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Hedy Lamarr")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0000 0000 9995")
    page.get_by_role("button", name=PAY).click()

    error_alert(page, "insufficient funds")
    for label, value in details.items():
        expect(shop_field(page, label)).to_have_value(value)
    expect(page.get_by_role("button", name=PAY)).to_be_enabled(timeout=30_000)


def test_a_double_click_on_pay_charges_once(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Lise Meitner")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).dblclick()

    charge_id = confirmed_charge_id(page)
    [intent] = orders_of(streamlit_app, details["Email"])
    assert [charge.id for charge in succeeded_charges(streamlit_app, intent.id)] == [charge_id]


def test_a_reload_during_the_challenge_leaves_the_order_payable_once(page: Page, streamlit_app: StreamlitApp):
    details = details_for("Chien-Shiung Wu")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name=PAY).click()
    challenge(page)
    [waiting] = orders_of(streamlit_app, details["Email"])
    assert waiting.status == "requires_action"

    page.reload()
    expect(page.get_by_role("button", name=PAY)).to_be_enabled(timeout=30_000)
    wait_for_app(page)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()
    charge_id = confirmed_charge_id(page)

    [intent] = orders_of(streamlit_app, details["Email"])  # the same order and intent, not a second one
    assert intent.id == waiting.id
    assert [charge.id for charge in succeeded_charges(streamlit_app, intent.id)] == [charge_id]


def test_a_second_tab_paying_while_the_first_ones_payment_is_under_way_is_asked_first(
    page: Page, streamlit_app: StreamlitApp
):
    details = details_for("Emilie du Chatelet")
    open_shop(page, streamlit_app)
    fill_details(page, details)
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name=PAY).click()
    challenge(page)  # the first tab's payment is under way: its bank asks the customer to confirm

    second = page.context.new_page()
    open_shop(second, streamlit_app)
    fill_details(second, {**details, "Phone": "+1 415 555 0199"})  # not quite the same details: a new order
    fill_card(second, "4242 4242 4242 4242")
    second.get_by_role("button", name=PAY).click()

    asked = second.get_by_text("that payment may still be under way, perhaps in another tab")
    expect(asked).to_be_visible(timeout=30_000)
    [intent] = orders_of(streamlit_app, details["Email"])  # nothing written, nothing charged while asking
    assert intent.status == "requires_action"
    second.get_by_role("button", name="No, don't buy it again").click()
    expect(second.get_by_text("Nothing was charged")).to_be_visible(timeout=30_000)
    assert len(orders_of(streamlit_app, details["Email"])) == 1
