"""The Checkout Session's hosted page in Chromium: a customer pays a session's `url` with a test card and lands on
its success_url; 3-D Secure and a decline followed by another card on the same session; embedded Checkout."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator

import pytest
import stripe
from playwright.sync_api import FrameLocator, Page, expect

from tests.support import Emulator, free_port
from tests.support_browser import CHALLENGE_MODAL, FUTURE_YY

pytestmark = pytest.mark.e2e

ITEMS = [
    {"price_data": {"currency": "usd", "unit_amount": 2300, "product_data": {"name": "Stubborn Attachments"}},
     "quantity": 2},
    {"price_data": {"currency": "usd", "unit_amount": 1800, "product_data": {"name": "The Art of <b>Science</b>"}},
     "quantity": 1},
]  # fmt: skip
TOTAL = 6400


def new_session(emulator: Emulator, **params) -> stripe.checkout.Session:
    """A hosted session whose success_url is a page of the emulator's own (so the redirect lands somewhere)."""
    return emulator.client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": ITEMS,
            "success_url": f"{emulator.url}/_emulator/health?paid={{CHECKOUT_SESSION_ID}}",
            "customer_email": "ada@example.com",
            "payment_intent_data": {"metadata": {"order_id": "e2e-1"}},
            **params,
        }
    )


def card_frame(page: Page) -> FrameLocator:
    return page.frame_locator("#card-element iframe")


def type_card(page: Page, number: str) -> None:
    """Type a card into the Element's frame as a customer would, finding each input by its label."""
    frame = card_frame(page)
    for label, text in (
        ("Card number", number),
        ("expiration date", f"12{FUTURE_YY}"),
        ("CVC", "123"),
        ("ZIP", "94103"),
    ):
        field = frame.get_by_label(label)
        field.click()
        field.press_sequentially(text)


def clear_card(page: Page) -> None:
    """Select each card field and delete what it holds (keys, as a customer does: a narrow Element hides the
    whole number until its field has focus)."""
    frame = card_frame(page)
    for label in ("Card number", "expiration date", "CVC", "ZIP"):
        frame.get_by_label(label).focus()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.press("Backspace")


def fill_details(page: Page) -> None:
    page.get_by_label("Cardholder name").fill("Ada Lovelace")


def pay(page: Page) -> None:
    page.get_by_role("button", name=f"Pay ${TOTAL / 100:.2f}").click()


def expect_success_url(page: Page, session_id: str) -> None:
    page.wait_for_url(re.compile(re.escape(f"/_emulator/health?paid={session_id}") + "$"), timeout=15000)


def paid_session(emulator: Emulator, session_id: str) -> stripe.checkout.Session:
    client = emulator.client()
    done = client.v1.checkout.sessions.retrieve(session_id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert (intent.status, intent.amount, intent.amount_received, intent.currency) == ("succeeded", TOTAL, TOTAL, "usd")
    assert intent.metadata["order_id"] == "e2e-1"
    return done


def test_the_page_shows_the_order_and_finds_its_fields_by_label(page: Page, emulator: Emulator) -> None:
    created = new_session(emulator, phone_number_collection={"enabled": True})
    page.goto(created.url)
    summary = page.get_by_role("list", name="Order summary")
    expect(summary).to_contain_text("Stubborn Attachments")
    expect(summary).to_contain_text("Qty 2, $23.00 each")
    # A product name is text, never markup.
    expect(summary).to_contain_text("The Art of <b>Science</b>")
    expect(page.get_by_text("Total due")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("ada@example.com")
    expect(page.get_by_label("Phone number")).to_be_visible()
    expect(page.get_by_label("Cardholder name")).to_be_visible()
    expect(card_frame(page).get_by_label("Card number")).to_be_editable()
    expect(page.get_by_label("Full name")).to_have_count(0)  # no shipping address asked for


def test_4242_pays_and_lands_on_the_success_url(page: Page, emulator: Emulator) -> None:
    created = new_session(
        emulator,
        phone_number_collection={"enabled": True},
        shipping_address_collection={"allowed_countries": ["US", "CA"]},
    )
    page.goto(created.url)
    page.get_by_label("Phone number").fill("+1 415 555 0100")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Country or region").select_option("US")
    page.get_by_label("Address line 1").fill("1 Main St")
    page.get_by_label("City").fill("San Francisco")
    page.get_by_label("Postal code").fill("94107")
    fill_details(page)
    type_card(page, "4242424242424242")
    pay(page)
    expect_success_url(page, created.id)

    done = paid_session(emulator, created.id)
    assert (done.customer_details.email, done.customer_details.name) == ("ada@example.com", "Ada Lovelace")
    assert done.customer_details.phone == "+1 415 555 0100"
    shipping = done.collected_information.shipping_details
    assert (shipping.name, shipping.address.line1, shipping.address.country) == ("Ada Lovelace", "1 Main St", "US")
    client = emulator.client()
    listed = client.v1.checkout.sessions.list(params={"payment_intent": done.payment_intent})
    assert [found.id for found in listed.data] == [created.id]
    completed = client.v1.events.list(params={"type": "checkout.session.completed", "limit": 5})
    assert created.id in [event.data.object.id for event in completed.data]
    # Paid once: the page of a complete session says so and offers no form.
    page.goto(f"{emulator.url}/c/pay/{created.id}")
    expect(page.get_by_role("heading", name="Payment complete")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)


def test_3184_pays_after_the_challenge(page: Page, emulator: Emulator) -> None:
    created = new_session(emulator)
    page.goto(created.url)
    fill_details(page)
    type_card(page, "4000002760003184")
    pay(page)
    expect(page.locator(CHALLENGE_MODAL)).to_be_visible()
    challenge = page.frame_locator(f"{CHALLENGE_MODAL} iframe")
    challenge.get_by_role("button", name="Complete").click()
    expect_success_url(page, created.id)
    paid_session(emulator, created.id)


def test_a_decline_then_4242_pays_the_same_session(page: Page, emulator: Emulator) -> None:
    created = new_session(emulator)
    page.goto(created.url)
    fill_details(page)
    type_card(page, "4000000000009995")
    pay(page)
    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")
    declined = emulator.client().v1.checkout.sessions.retrieve(created.id)
    assert (declined.status, declined.payment_status) == ("open", "unpaid")
    first_intent = declined.payment_intent
    assert emulator.client().v1.payment_intents.retrieve(first_intent).status == "requires_payment_method"

    clear_card(page)
    type_card(page, "4242424242424242")
    pay(page)
    expect_success_url(page, created.id)
    done = paid_session(emulator, created.id)
    assert done.payment_intent == first_intent  # the retry confirmed the same intent
    charges = emulator.client().v1.charges.list(params={"payment_intent": first_intent})
    assert sorted(charge.status for charge in charges.data) == ["failed", "succeeded"]


# A shop's page on another origin that mounts embedded Checkout with the fake Stripe.js.
EMBED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body>
<h1>Checkout</h1><div id="checkout"></div>
<script src="EMULATOR/v3/"></script>
<script>
  window.completed = false;
  const stripe = Stripe("pk_test_emulator");
  stripe.createEmbeddedCheckoutPage({ fetchClientSecret: async () => "SECRET" })
    .then((checkout) => checkout.mount("#checkout"));
</script></body></html>"""


@pytest.fixture
def shop_page() -> Iterator[tuple[str, list[str]]]:
    """A one-page server on its own port: set `pages[0]` to the HTML it answers."""
    pages = [""]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages[0].encode() if self.path.startswith("/checkout") else b"<h1>Returned</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()


def test_embedded_checkout_pays_in_its_iframe_and_goes_to_return_url(
    page: Page, emulator: Emulator, shop_page: tuple[str, list[str]]
) -> None:
    origin, pages = shop_page
    created = emulator.client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "embedded_page",
            "line_items": ITEMS,
            "return_url": f"{origin}/return?session_id={{CHECKOUT_SESSION_ID}}",
            "payment_intent_data": {"metadata": {"order_id": "e2e-1"}},
        }
    )
    pages[0] = EMBED_PAGE.replace("EMULATOR", emulator.url).replace("SECRET", created.client_secret)
    page.goto(f"{origin}/checkout")
    checkout = page.frame_locator("#checkout iframe")
    checkout.get_by_label("Email").fill("ada@example.com")
    checkout.get_by_label("Cardholder name").fill("Ada Lovelace")
    frame = checkout.frame_locator("#card-element iframe")
    for label, text in (("Card number", "4242424242424242"), ("expiration date", f"12{FUTURE_YY}"), ("CVC", "123")):
        frame.get_by_label(label).click()
        frame.get_by_label(label).press_sequentially(text)
    frame.get_by_label("ZIP").press_sequentially("94103")
    checkout.get_by_role("button", name=f"Pay ${TOTAL / 100:.2f}").click()
    page.wait_for_url(f"{origin}/return?session_id={created.id}", timeout=15000)
    paid_session(emulator, created.id)


def test_init_embedded_checkout_is_gone_since_dahlia(page: Page, emulator: Emulator) -> None:
    # docs.stripe.com/changelog/dahlia/2026-03-25/rename-init-embedded-checkout-to-create-embedded-checkout-page
    page.goto(f"{emulator.url}/_emulator/health")
    page.add_script_tag(url=f"{emulator.url}/v3/")
    error = page.evaluate(
        """() => { try { Stripe("pk_test_x").initEmbeddedCheckout({ clientSecret: "cs_test_a_secret_b" }); }
                   catch (err) { return [err.name, err.message]; } return null; }"""
    )
    assert error is not None and error[0] == "IntegrationError" and "createEmbeddedCheckoutPage" in error[1]
