"""The Developers page in Chromium: a purchase's events with their deliveries, a resend the app applies once, and
each demo control armed from the page giving the outcome it announces — one charge per order throughout.

The app and emulator are this module's own: an armed fault must never meet another module's payment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from shop import demo_faults
from tests.support import Emulator, free_port, wait_until
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_address,
    fill_card,
    fill_details,
    open_shop,
    sidebar_link,
    sign_in,
    tick_table_row,
    type_card_in_payment_element,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

PAY = "Pay $23.00"


@pytest.fixture(scope="module")
def app(private_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    running = StreamlitApp(free_port(), tmp_path_factory.mktemp("developers-shop"), private_emulator)
    running.start()
    yield running
    running.stop()


def buy(page: Page, app: StreamlitApp, name: str) -> None:
    """Open the shop, fill the details (an email of this purchase's own) and a 4242 card, and press Pay."""
    open_shop(page, app)
    fill_details(page, {**DETAILS, "Full name": name, "Email": f"{name.split()[0].lower()}.developers@example.com"})
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=PAY).click()


def succeeded_charges_of(app: StreamlitApp, email: str) -> list:
    client = app.emulator.client()
    return [
        charge
        for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        # A Checkout Session's charge carries the email it collected in billing_details, not as receipt_email.
        if email in (charge.receipt_email, charge.billing_details.email) and charge.status == "succeeded"
    ]


def emulator_list(app: StreamlitApp, what: str, **filters: str) -> list[dict]:
    """One of the emulator's own lists (`/_emulator/deliveries`, `/_emulator/faults`)."""
    return json.loads(app.emulator.client().raw_request("get", f"/_emulator/{what}", **filters).body)["data"]


def open_developers(page: Page, app: StreamlitApp) -> None:
    sign_in(page, app)
    sidebar_link(page, "Developers").click()
    expect(page.get_by_role("heading", name="Developers")).to_be_visible(timeout=30_000)
    wait_for_app(page)


def test_a_purchase_events_are_listed_with_deliveries_and_a_resend_is_applied_once(page: Page, app: StreamlitApp):
    buy(page, app, "Grace Hopper")
    charge_id = confirmed_charge_id(page)
    api = app.emulator.client()
    [event] = [e for e in api.v1.events.list(params={"type": "charge.succeeded"}).data if e.data.object.id == charge_id]
    wait_until(lambda: api.v1.events.retrieve(event.id).pending_webhooks == 0, "the webhook was not delivered")

    page.set_viewport_size({"width": 1280, "height": 1000})
    open_developers(page, app)
    page.get_by_label("Event type").fill("charge.succeeded")
    page.get_by_label("Event type").press("Enter")
    page.get_by_label("Charge, intent, refund or order").fill(charge_id)
    page.get_by_label("Charge, intent, refund or order").press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("1 event (the newest 100 at most).")).to_be_visible()
    tick_table_row(page)
    expect(page.get_by_role("heading", name=f"Event {event.id}")).to_be_visible()
    expect(page.get_by_text(f"charge.succeeded · {charge_id}")).to_be_visible()

    page.get_by_role("button", name="Resend this event").click()
    wait_for_app(page)
    expect(page.get_by_text(f"Sent {event.id} again to 1 endpoint.")).to_be_visible()

    def resent() -> list[dict]:
        return [
            d for d in emulator_list(app, "deliveries", event=event.id) if d["resend"] and d["state"] == "succeeded"
        ]

    wait_until(resent, "the resent event was not delivered")
    # The app answered the resend, and applied nothing twice: the order has its one charge.
    assert resent()[0]["attempts"][-1]["response_body"] == "Already applied."
    assert [c.id for c in succeeded_charges_of(app, "grace.developers@example.com")] == [charge_id]


def arm_from_the_page(staff: Page, app: StreamlitApp, fault: demo_faults.DemoFault, integration: str) -> None:
    """Open Developers, pick `fault` and the integration named `integration`, and arm it; check what the page says."""
    open_developers(staff, app)
    staff.get_by_text(fault.label, exact=True).click()
    wait_for_app(staff)
    expect(staff.get_by_text(fault.outcome)).to_be_visible()
    staff.get_by_role("radiogroup", name="For a payment through").get_by_text(integration).click()
    wait_for_app(staff)
    staff.get_by_role("button", name="Arm for the next payment").click()
    wait_for_app(staff)
    expect(staff.get_by_text(f"Armed: {fault.label}.")).to_be_visible()
    expect(staff.get_by_text(f"Armed now: {fault.label}, for {integration}.")).to_be_visible(timeout=15_000)


# The customer's side of each demo control: what the first press of Pay shows, and whether a second one is needed.
FIRST_PRESS_PAYS = {"slow": True, "lost": True, "error": False, "rate_limited": False}


@pytest.mark.parametrize("control", [fault.key for fault in demo_faults.FAULTS])
def test_each_demo_control_gives_the_outcome_it_announces(browser: Browser, app: StreamlitApp, control: str):
    fault = demo_faults.BY_KEY[control]
    staff = browser.new_page(viewport={"width": 1280, "height": 1000})
    customer = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        arm_from_the_page(staff, app, fault, "PaymentIntents with the Card Element")

        name = f"Demo {control.replace('_', ' ').title()}"
        email = f"{control}.developers@example.com"
        open_shop(customer, app)
        fill_details(customer, {**DETAILS, "Full name": name, "Email": email})
        fill_card(customer, "4242424242424242")
        customer.get_by_role("button", name=PAY).click()
        if not FIRST_PRESS_PAYS[control]:
            expect(customer.get_by_text("not charged", exact=False).first).to_be_visible(timeout=30_000)
            assert succeeded_charges_of(app, email) == []
            customer.get_by_role("button", name=PAY).click()
        charge_id = confirmed_charge_id(customer)
        assert [c.id for c in succeeded_charges_of(app, email)] == [charge_id]

        assert emulator_list(app, "faults") == []  # the fault met its one request
    finally:
        staff.close()
        customer.close()


@pytest.mark.parametrize("control", ["lost", "error"])
def test_a_demo_control_armed_for_checkout_sessions_meets_a_payment_made_through_it(
    browser: Browser, app: StreamlitApp, control: str
):
    # A stakeholder who switched the shop page to Checkout Sessions demos a fault there: armed for the server's
    # CHECKOUT_API only, it waited for a PaymentIntents payment that never came.
    fault = demo_faults.BY_KEY[control]
    staff = browser.new_page(viewport={"width": 1280, "height": 1000})
    customer = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        arm_from_the_page(staff, app, fault, "Checkout Sessions with the Payment Element")

        email = f"{control}.sessions.developers@example.com"
        open_shop(customer, app)
        fill_details(customer, {**DETAILS, "Full name": f"Sessions {control.title()}", "Email": email})
        customer.get_by_role("combobox", name="Integration (demo)").click()
        customer.get_by_role("option", name="Checkout Sessions with the Payment Element").click()
        customer.get_by_role("button", name="Continue to payment").click()
        fill_address(customer, f"Sessions {control.title()}")
        type_card_in_payment_element(customer, "4242424242424242")
        pay = customer.get_by_role("button", name=re.compile(r"^Pay \$23\.00"))
        expect(pay).to_be_enabled(timeout=30_000)
        pay.click()
        if not FIRST_PRESS_PAYS[control]:
            said = customer.get_by_text(re.compile("nothing was charged|not charged")).first
            expect(said).to_be_visible(timeout=30_000)
            assert succeeded_charges_of(app, email) == []
            expect(pay).to_be_enabled(timeout=30_000)
            pay.click()
        charge_id = confirmed_charge_id(customer)
        assert [c.id for c in succeeded_charges_of(app, email)] == [charge_id]
        assert emulator_list(app, "faults") == []  # the fault met the session's payment
    finally:
        staff.close()
        customer.close()
