"""The Checkout Elements component (components/checkout_elements) in Chromium, on a small Streamlit page of its own
(tests/component_apps/checkout_elements_app.py) that creates a `ui_mode="elements"` Checkout Session through the
SDK against the emulator and shows the component's report as plain text.

What the customer types stays in the emulator's frames; the page's report carries the state, the session's id and
total and an error; every outcome is checked against the session retrieved through the SDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import FrameLocator, Page, expect

from tests.component_apps import ComponentApp
from tests.support import Emulator, free_port, wait_until
from tests.support_browser import CHALLENGE_MODAL, FUTURE_YY

pytestmark = pytest.mark.e2e

TOTAL = 6400


@pytest.fixture(scope="module")
def emulator(private_emulator: Emulator) -> Emulator:
    """This module's own emulator: the bank-debit test moves its clock days ahead, and the events dated then would
    otherwise stay newest on the shared emulator past everything later tests make."""
    return private_emulator


@pytest.fixture(scope="module")
def checkout_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComponentApp]:
    app = ComponentApp("checkout_elements_app.py", free_port(), tmp_path_factory.mktemp("checkout-app"), emulator)
    app.start()
    yield app
    app.stop()


def report(page: Page) -> dict:
    """The component's latest report, as the page shows it (JSON in st.text)."""
    return json.loads(page.get_by_test_id("stText").filter(has_text='"session_id"').inner_text())


def wait_for_state(page: Page, state: str, timeout: int = 30_000) -> dict:
    expect(page.get_by_text(f"state: {state}", exact=True)).to_be_visible(timeout=timeout)
    return report(page)


def open_checkout(page: Page, app: ComponentApp) -> str:
    """Open the page on a new session; return the session's id once the Elements are ready."""
    page.goto(f"{app.url}/?session_id=new")
    outcome = wait_for_state(page, "ready")
    assert outcome["total"] == {"amount": "$64.00", "minor_units": TOTAL, "currency": "usd"}
    expect(page.locator(".sp-co-amount")).to_have_text("$64.00")
    return outcome["session_id"]


def payment_frame(page: Page) -> FrameLocator:
    return page.frame_locator(".sp-co-payment iframe")


def address_frame(page: Page) -> FrameLocator:
    return page.frame_locator(".sp-co-address iframe")


def card_frame(page: Page) -> FrameLocator:
    return payment_frame(page).frame_locator("iframe.card-frame")


def pay_button(page: Page):
    return page.get_by_role("button", name=re.compile(r"^(Pay|Processing)"))


def fill_address(page: Page) -> None:
    frame = address_frame(page)
    frame.get_by_label("Full name").fill("Ada Lovelace")
    frame.get_by_label("Country or region").select_option("US")
    frame.get_by_label("Address line 1").fill("1 Main St")
    frame.get_by_label("City").fill("San Francisco")
    frame.get_by_label("State").select_option("CA")
    frame.get_by_label("ZIP code").fill("94107")
    frame.get_by_label("Phone number").fill("+1 415 555 0100")


def type_card(page: Page, number: str) -> None:
    frame = card_frame(page)
    for label, text in (
        ("Card number", number),
        ("expiration date", f"12{FUTURE_YY}"),
        ("CVC", "123"),
        ("ZIP", "94107"),
    ):
        field = frame.get_by_label(label)
        field.click()
        field.press_sequentially(text)


def clear_card(page: Page) -> None:
    frame = card_frame(page)
    for label in ("Card number", "expiration date", "CVC", "ZIP"):
        frame.get_by_label(label).focus()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.press("Backspace")


def retrieve(emulator: Emulator, session_id: str) -> stripe.checkout.Session:
    return emulator.client().v1.checkout.sessions.retrieve(session_id)


def test_card_4242_succeeds_and_completes_the_session(
    page: Page, emulator: Emulator, checkout_app: ComponentApp, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1500})  # tall enough for the whole form in the screenshot
    session_id = open_checkout(page, checkout_app)
    expect(pay_button(page)).to_be_disabled()  # nothing typed yet: the SDK's canConfirm is false
    fill_address(page)
    type_card(page, "4242424242424242")
    expect(pay_button(page)).to_have_text("Pay $64.00")
    expect(pay_button(page)).to_be_enabled()
    page.screenshot(path=str(tmp_path / "checkout-elements-component-1280.png"), animations="disabled")
    pay_button(page).click()
    outcome = wait_for_state(page, "succeeded")
    assert outcome["session_id"] == session_id and outcome["error"] is None and outcome["attempt"]
    expect(page.locator(".sp-co-message")).to_have_text("Payment received.")

    done = retrieve(emulator, session_id)
    assert (done.status, done.payment_status, done.amount_total) == ("complete", "paid", TOTAL)
    assert done.customer_details.email == "ada@example.com"
    assert done.collected_information.shipping_details.address.line1 == "1 Main St"
    # The Streamlit page never held what was typed into the frames.
    html = page.content()
    assert "4242 4242" not in html and "4242424242424242" not in html and "1 Main St" not in html


def test_card_3184_pays_once_the_challenge_is_completed(
    page: Page, emulator: Emulator, checkout_app: ComponentApp
) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    type_card(page, "4000002760003184")
    pay_button(page).click()
    challenge = page.locator(CHALLENGE_MODAL)
    expect(challenge).to_be_visible()
    # The challenge covers the viewport, not a slice of the component: nothing clips it.
    box = challenge.bounding_box()
    assert box is not None and box["height"] >= page.viewport_size["height"] - 1
    page.frame_locator(f"{CHALLENGE_MODAL} iframe").get_by_role("button", name="Complete").click()
    wait_for_state(page, "succeeded")
    expect(challenge).to_have_count(0)
    done = retrieve(emulator, session_id)
    assert (done.status, done.payment_status) == ("complete", "paid")


def test_a_declined_card_then_4242_pays_the_same_session_with_the_address_kept(
    page: Page, emulator: Emulator, checkout_app: ComponentApp
) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    type_card(page, "4000000000009995")
    pay_button(page).click()
    declined = wait_for_state(page, "failed")
    assert declined["error"]["message"] == "Your card has insufficient funds."
    assert declined["session_id"] == session_id
    expect(page.locator(".sp-co-message")).to_have_text("Your card has insufficient funds.")
    # The rerun that showed the report remounted nothing: the card and the address typed are still there.
    expect(card_frame(page).get_by_label("Card number")).to_have_value(re.compile(r"^4000 ?0000 ?0000 ?9995$"))
    expect(address_frame(page).get_by_label("Address line 1")).to_have_value("1 Main St")
    expect(address_frame(page).get_by_label("Full name")).to_have_value("Ada Lovelace")
    clear_card(page)
    type_card(page, "4242424242424242")
    expect(pay_button(page)).to_be_enabled()
    pay_button(page).click()
    paid = wait_for_state(page, "succeeded")
    assert paid["session_id"] == session_id and paid["attempt"] != declined["attempt"]

    client = emulator.client()
    done = retrieve(emulator, session_id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    charges = client.v1.charges.list(params={"payment_intent": done.payment_intent}).data
    assert sorted(charge.status for charge in charges) == ["failed", "succeeded"]


def test_a_bank_debit_reports_processing_then_the_session_is_paid_on_the_emulator_clock(
    page: Page, emulator: Emulator, checkout_app: ComponentApp
) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    frame = payment_frame(page)
    frame.get_by_role("tab", name="US bank account").click()
    frame.get_by_label("Full name").fill("Ada Lovelace")
    frame.get_by_label("Routing number").fill("110000000")
    frame.get_by_label("Account number", exact=True).fill("000123456789")
    frame.get_by_label("Confirm account number").fill("000123456789")
    # Freeze the clock first: the debit must still be processing when the page reports it.
    emulator.freeze_clock(emulator.now())
    try:
        pay_button(page).click()
        outcome = wait_for_state(page, "processing")
        assert outcome["error"] is None
        expect(page.locator(".sp-co-message")).to_contain_text("Payment processing")
        done = retrieve(emulator, session_id)
        assert (done.status, done.payment_status) == ("complete", "unpaid")
        client = emulator.client()
        assert client.v1.payment_intents.retrieve(done.payment_intent).status == "processing"
        # Days later on the emulator's clock, the debit settles with no click (the emulator's own tick).
        emulator.freeze_clock(emulator.now() + 3 * 86400)
        wait_until(lambda: retrieve(emulator, session_id).payment_status == "paid", "the bank debit never settled")
        assert client.v1.payment_intents.retrieve(done.payment_intent).status == "succeeded"
    finally:
        emulator.unfreeze_clock()


def test_a_double_click_confirms_one_payment_intent(page: Page, emulator: Emulator, checkout_app: ComponentApp) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    type_card(page, "4242424242424242")
    expect(pay_button(page)).to_be_enabled()
    # Count the confirms sent to Stripe (the address frame also saves the session on its own, on changes: those
    # POSTs say nothing of how many payments were started).
    saves = []
    page.on(
        "request",
        lambda request: (
            saves.append(request.url)
            if request.method == "POST"
            and request.url.split("?")[0].endswith(f"/v1/payment_pages/{session_id}/confirm")
            else None
        ),
    )
    # Two clicks in the same task, before any await: the second must find the first one confirming.
    page.evaluate("() => { const pay = document.querySelector('.sp-pay-button'); pay.click(); pay.click(); }")
    wait_for_state(page, "succeeded")
    # A second confirm would have been refused ("already being confirmed") and reported as a failure.
    expect(page.locator(".sp-co-message")).to_have_text("Payment received.")
    assert len(saves) == 1, saves
    client = emulator.client()
    done = retrieve(emulator, session_id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    charges = client.v1.charges.list(params={"payment_intent": done.payment_intent}).data
    assert [charge.status for charge in charges] == ["succeeded"]
    intents = [
        intent
        for intent in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.metadata.to_dict().get("order_id") == done.metadata["order_id"]
    ]
    assert [intent.id for intent in intents] == [done.payment_intent]


def test_a_reload_after_paying_shows_the_session_as_paid_and_no_pay_button(
    page: Page, emulator: Emulator, checkout_app: ComponentApp
) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    type_card(page, "4242424242424242")
    pay_button(page).click()
    wait_for_state(page, "succeeded")
    page.reload()
    outcome = wait_for_state(page, "succeeded")
    assert outcome["session_id"] == session_id and outcome["attempt"] is None
    expect(pay_button(page)).to_be_disabled()


@pytest.mark.parametrize(
    ("button", "state"), [("Authorize test payment", "succeeded"), ("Fail test payment", "failed")]
)
def test_klarna_leaves_the_page_and_the_return_is_reported(
    page: Page, emulator: Emulator, checkout_app: ComponentApp, button: str, state: str
) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    payment_frame(page).get_by_role("tab", name="Klarna").click()
    expect(pay_button(page)).to_be_enabled()
    pay_button(page).click()
    expect(page.get_by_role("heading", name="Klarna test payment page")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{checkout_app.url}/?session_id={session_id}&**", timeout=15_000)
    outcome = wait_for_state(page, state)
    done = retrieve(emulator, session_id)
    assert outcome["payment_intent"] == done.payment_intent
    assert outcome["redirect_status"] == ("succeeded" if state == "succeeded" else "failed")
    if state == "succeeded":
        assert (done.status, done.payment_status) == ("complete", "paid")
    else:
        assert done.status == "open"
        assert outcome["error"]["message"]
        expect(page.locator(".sp-co-message")).to_have_text(outcome["error"]["message"])
        # The same session, with the address the customer typed before leaving: choose Klarna again and retry.
        expect(address_frame(page).get_by_label("Address line 1")).to_have_value("1 Main St")
        payment_frame(page).get_by_role("tab", name="Klarna").click()
        expect(pay_button(page)).to_be_enabled()


def test_at_390_px_the_checkout_fits_without_horizontal_scroll(
    page: Page, emulator: Emulator, checkout_app: ComponentApp, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_checkout(page, checkout_app)
    fill_address(page)
    type_card(page, "4242424242424242")
    expect(pay_button(page)).to_be_enabled()
    for frame in (".sp-co-payment iframe", ".sp-co-address iframe"):
        box = page.locator(frame).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 390, "height": 1900})  # the whole form in the screenshot, still 390 wide
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "checkout-elements-component-390.png"), animations="disabled")


def test_a_session_whose_total_is_not_the_orders_cannot_be_paid(
    page: Page, emulator: Emulator, checkout_app: ComponentApp
) -> None:
    page.goto(f"{checkout_app.url}/?session_id=new&cart=changed")
    outcome = wait_for_state(page, "failed")
    assert outcome["error"]["code"] == "amount_mismatch"
    assert outcome["total"]["minor_units"] == TOTAL
    fill_address(page)
    type_card(page, "4242424242424242")
    # Everything is filled in (the SDK would let it confirm), yet Pay stays disabled.
    page.wait_for_function(
        "() => document.querySelector('.sp-checkout').parentElement.__stripePressCheckout.session.canConfirm"
    )
    expect(page.locator(".sp-co-message")).to_have_text("The total changed. Reload the page to see the current order.")
    expect(pay_button(page)).to_be_disabled()
    assert retrieve(emulator, outcome["session_id"]).payment_intent is None


def test_a_reload_during_the_challenge_keeps_the_session_and_pays_it_once(
    page: Page, emulator: Emulator, checkout_app: ComponentApp
) -> None:
    session_id = open_checkout(page, checkout_app)
    fill_address(page)
    type_card(page, "4000002760003184")
    pay_button(page).click()
    expect(page.locator(CHALLENGE_MODAL)).to_be_visible()
    page.reload()
    # The same session (its id is in the page's URL), open, with the address saved on it by the first confirm.
    outcome = wait_for_state(page, "ready")
    assert outcome["session_id"] == session_id
    expect(address_frame(page).get_by_label("Address line 1")).to_have_value("1 Main St")
    type_card(page, "4242424242424242")
    pay_button(page).click()
    wait_for_state(page, "succeeded")
    client = emulator.client()
    done = retrieve(emulator, session_id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    charges = client.v1.charges.list(params={"payment_intent": done.payment_intent}).data
    assert [charge.status for charge in charges] == ["succeeded"]
