"""Elements with the Checkout Sessions API in Chromium, through the emulator's fake Stripe.js: a merchant page on
its own origin calls `stripe.initCheckoutElementsSdk`, mounts the Payment Element and the Shipping Address Element,
sets the email with `actions.updateEmail`, and pays with `actions.confirm()` (docs.stripe.com/js/custom_checkout).
What the customer types lives in the emulator's frames; the page sees only the Session object."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import FrameLocator, Page, expect

from tests.support import Emulator, free_port, wait_until
from tests.support_browser import CHALLENGE_MODAL, FUTURE_YY

pytestmark = pytest.mark.e2e

PUBLISHABLE_KEY = "pk_test_emulator_elements"
TOTAL = 6400
ITEMS = [
    {"price_data": {"currency": "usd", "unit_amount": 2300, "product_data": {"name": "Stubborn Attachments"}},
     "quantity": 2},
    {"price_data": {"currency": "usd", "unit_amount": 1800, "product_data": {"name": "The Great Stagnation"}},
     "quantity": 1},
]  # fmt: skip

# A merchant's checkout page, as docs.stripe.com/payments/quickstart-checkout-sessions builds one: the session's
# client secret comes in the query string (a shop's server would write it into its page).
MERCHANT_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checkout</title>
<style>
  body { margin: 0; padding: 24px 16px; background: #f6f9fc; color: #30313d;
         font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
  main { max-width: 520px; margin: 0 auto; padding: 24px; background: #fff; border-radius: 8px;
         box-shadow: 0 2px 5px rgba(50, 50, 93, .1), 0 1px 2px rgba(0, 0, 0, .07); }
  h1 { margin: 0 0 16px; font-size: 22px; }
  h2 { margin: 24px 0 10px; font-size: 16px; }
  label { display: block; margin-bottom: 4px; font-size: 14px; }
  #email { box-sizing: border-box; width: 100%; padding: 12px; font-size: 16px; border: 1px solid #e6e6e6;
           border-radius: 5px; }
  #pay { width: 100%; margin-top: 20px; padding: 12px; border: 0; border-radius: 5px; background: #635bff;
         color: #fff; font-size: 16px; font-weight: 600; }
  #pay:disabled { opacity: .5; }
  #message { min-height: 20px; color: #df1b41; }
  #message.ok { color: #1a7f37; }
</style>
</head>
<body>
<main>
  <h1>Pay <span id="total"></span></h1>
  <label for="email">Email</label>
  <input id="email" type="email" autocomplete="email">
  <h2>Shipping address</h2>
  <div id="address-element"></div>
  <h2>Payment</h2>
  <div id="payment-element"></div>
  <button id="pay" type="button" disabled>Pay</button>
  <p id="message" role="alert"></p>
</main>
<script src="EMULATOR_URL/v3/"></script>
<script>
  const clientSecret = new URLSearchParams(window.location.search).get("cs");
  const stripe = Stripe("PUBLISHABLE_KEY");
  const checkout = stripe.initCheckoutElementsSdk({
    clientSecret,
    elementsOptions: { appearance: { theme: "stripe", variables: { colorPrimary: "#635bff" } } },
  });
  window.checkout = checkout;
  window.clientSecret = clientSecret;
  window.sessions = [];
  window.result = null;
  const pay = document.getElementById("pay");
  const message = document.getElementById("message");
  checkout.on("change", (session) => {
    window.sessions.push(session);
    document.getElementById("total").textContent = session.total.total.amount;
    pay.disabled = !session.canConfirm;
  });
  checkout.createShippingAddressElement().mount("#address-element");
  checkout.createPaymentElement().mount("#payment-element");
  const loaded = checkout.loadActions();
  document.getElementById("email").addEventListener("change", async (event) => {
    const { actions } = await loaded;
    const updated = await actions.updateEmail(event.target.value);
    message.textContent = updated.type === "error" ? updated.error.message : "";
  });
  pay.addEventListener("click", async () => {
    const { actions } = await loaded;
    pay.disabled = true;
    const result = await actions.confirm({ redirect: "if_required" });
    window.result = result;
    message.className = result.type === "success" ? "ok" : "";
    message.textContent = result.type === "success"
      ? `Thanks! Payment ${result.session.status.paymentStatus}.` : result.error.message;
    pay.disabled = result.type === "success";
  });
</script>
</body>
</html>
"""


class MerchantServer:
    """Serves the merchant page at any path (its query carries the session's client secret), on its own port."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MerchantServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def merchant(emulator: Emulator) -> Iterator[MerchantServer]:
    html = MERCHANT_PAGE.replace("EMULATOR_URL", emulator.url).replace("PUBLISHABLE_KEY", PUBLISHABLE_KEY)
    with MerchantServer(html) as server:
        yield server


def new_session(emulator: Emulator, **params) -> stripe.checkout.Session:
    """An elements session shipping to the US, Canada, the UK, Germany and France, with phone collection."""
    return emulator.client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "elements",
            "line_items": ITEMS,
            "return_url": f"{emulator.url}/_emulator/health?session_id={{CHECKOUT_SESSION_ID}}",
            "payment_method_types": ["card", "us_bank_account", "klarna"],
            "shipping_address_collection": {"allowed_countries": ["US", "CA", "GB", "DE", "FR"]},
            "phone_number_collection": {"enabled": True},
            "payment_intent_data": {"metadata": {"order_id": "e2e-elements"}},
            **params,
        }
    )


def open_checkout(page: Page, merchant: MerchantServer, session: stripe.checkout.Session) -> None:
    page.goto(f"{merchant.url}?cs={session.client_secret}")
    expect(page.locator("#total")).to_have_text("$64.00")


def payment_frame(page: Page) -> FrameLocator:
    return page.frame_locator("#payment-element iframe")


def address_frame(page: Page) -> FrameLocator:
    return page.frame_locator("#address-element iframe")


def card_frame(page: Page) -> FrameLocator:
    return payment_frame(page).frame_locator("iframe.card-frame")


def fill_contact_and_address(page: Page, country: str = "US") -> None:
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Email").blur()
    frame = address_frame(page)
    frame.get_by_label("Full name").fill("Ada Lovelace")
    frame.get_by_label("Country or region").select_option(country)
    frame.get_by_label("Address line 1").fill("1 Main St")
    frame.get_by_label("City").fill("San Francisco")
    if country == "US":
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


def pay_and_wait(page: Page) -> dict:
    pay = page.get_by_role("button", name="Pay")
    expect(pay).to_be_enabled()
    page.evaluate("window.result = null")
    pay.click()
    page.wait_for_function("() => window.result !== null", timeout=20000)
    return page.evaluate("window.result")


def test_card_4242_pays_the_session_with_the_address_and_contact_on_it(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    type_card(page, "4242424242424242")
    result = pay_and_wait(page)
    assert result["type"] == "success", result
    assert result["session"]["status"] == {"type": "complete", "paymentStatus": "paid"}
    expect(page.locator("#message")).to_have_text("Thanks! Payment paid.")

    client = emulator.client()
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert (done.customer_details.email, done.customer_details.phone) == ("ada@example.com", "+1 415 555 0100")
    shipping = done.collected_information.shipping_details
    assert (shipping.name, shipping.address.line1, shipping.address.state, shipping.address.postal_code) == (
        "Ada Lovelace",
        "1 Main St",
        "CA",
        "94107",
    )
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert (intent.status, intent.amount_received, intent.metadata["order_id"]) == ("succeeded", TOTAL, "e2e-elements")
    assert (intent.shipping.name, intent.shipping.address.city) == ("Ada Lovelace", "San Francisco")
    # The merchant page's own DOM never held what was typed into the frames.
    html = page.content()
    assert "4242" not in html and "1 Main St" not in html


def test_card_3184_pays_after_the_challenge_is_completed(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    type_card(page, "4000002760003184")
    page.get_by_role("button", name="Pay").click()
    challenge = page.frame_locator(f"{CHALLENGE_MODAL} iframe")
    challenge.get_by_role("button", name="Complete").click()
    page.wait_for_function("() => window.result !== null", timeout=20000)
    assert page.evaluate("window.result.type") == "success"
    expect(page.locator(CHALLENGE_MODAL)).to_have_count(0)
    done = emulator.client().v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")


def test_a_declined_card_then_4242_pays_the_same_session_once(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    type_card(page, "4000000000009995")
    declined = pay_and_wait(page)
    assert declined["type"] == "error"
    assert declined["error"]["message"] == "Your card has insufficient funds."
    expect(page.locator("#message")).to_have_text("Your card has insufficient funds.")
    # Everything typed stays; only the card changes.
    expect(address_frame(page).get_by_label("Address line 1")).to_have_value("1 Main St")
    clear_card(page)
    type_card(page, "4242424242424242")
    paid = pay_and_wait(page)
    assert paid["type"] == "success", paid

    client = emulator.client()
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    charges = client.v1.charges.list(params={"payment_intent": done.payment_intent}).data
    assert sorted(charge.status for charge in charges) == ["failed", "succeeded"]
    assert len(client.v1.payment_intents.list(params={"limit": 100}).data) >= 1
    assert [s.id for s in client.v1.checkout.sessions.list(params={"payment_intent": done.payment_intent}).data] == [
        session.id
    ]


def test_the_address_element_checks_each_countrys_rules(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    frame = address_frame(page)
    frame.get_by_label("Country or region").select_option("GB")
    expect(frame.get_by_label("County (optional)")).to_be_visible()
    postcode = frame.get_by_label("Postcode")
    postcode.fill("12345")
    postcode.blur()
    expect(frame.get_by_role("alert")).to_have_text("Your postcode is not valid (like SW1A 1AA).")
    postcode.fill("sw1a 1aa")
    frame.get_by_label("Country or region").select_option("DE")
    expect(frame.get_by_label("State")).to_have_count(0)
    frame.get_by_label("Postal code").fill("1011")
    frame.get_by_label("Postal code").blur()
    expect(frame.get_by_role("alert")).to_have_text("Your postal code is not valid (like 10115).")
    frame.get_by_label("Country or region").select_option("CA")
    expect(frame.get_by_label("Province")).to_be_visible()
    frame.get_by_label("Postal code").fill("K1A 0B1")
    frame.get_by_label("Postal code").blur()
    expect(frame.locator("#address-error")).to_be_empty()
    frame.get_by_label("Phone number").fill("12")
    frame.get_by_label("Phone number").blur()
    expect(frame.get_by_role("alert")).to_contain_text("Your phone number is invalid")
    expect(page.get_by_role("button", name="Pay")).to_be_disabled()


def pay_by_bank(page: Page, account: str) -> dict:
    frame = payment_frame(page)
    frame.get_by_role("tab", name="US bank account").click()
    frame.get_by_label("Full name").fill("Ada Lovelace")
    frame.get_by_label("Routing number").fill("110000000")
    frame.get_by_label("Account number", exact=True).fill(account)
    frame.get_by_label("Confirm account number").fill(account)
    return pay_and_wait(page)


def session_events(emulator: Emulator, session_id: str) -> list[str]:
    found = emulator.client().v1.events.list(params={"limit": 100}).data
    return [event.type for event in reversed(found) if event.data.object.id == session_id]


def test_a_bank_debit_completes_the_session_unpaid_then_succeeds_with_no_click(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    result = pay_by_bank(page, "000123456789")
    assert result["type"] == "success", result
    # Completed, not yet paid: the debit is processing (docs.stripe.com/payments/checkout/fulfill-orders).
    assert result["session"]["status"] == {"type": "complete", "paymentStatus": "unpaid"}
    client = emulator.client()
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    assert client.v1.payment_intents.retrieve(intent_id).status == "processing"
    wait_until(
        lambda: client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid",
        "the bank debit never settled",
    )
    assert session_events(emulator, session.id) == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ]
    charge = client.v1.charges.retrieve(client.v1.payment_intents.retrieve(intent_id).latest_charge)
    assert (charge.status, charge.payment_method_details.us_bank_account.last4) == ("succeeded", "6789")
    assert charge.shipping.address.line1 == "1 Main St"


def test_a_bank_debit_that_fails_tells_the_session_why(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    result = pay_by_bank(page, "000222222227")
    assert result["session"]["status"] == {"type": "complete", "paymentStatus": "unpaid"}
    client = emulator.client()
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    wait_until(
        lambda: "checkout.session.async_payment_failed" in session_events(emulator, session.id),
        "the failed debit never reached the session",
    )
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.last_payment_error.code) == ("requires_payment_method", "insufficient_funds")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"


def test_a_bank_account_with_a_wrong_routing_number_is_refused_in_the_frame(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    frame = payment_frame(page)
    frame.get_by_role("tab", name="US bank account").click()
    frame.get_by_label("Full name").fill("Ada Lovelace")
    frame.get_by_label("Routing number").fill("110000001")
    frame.get_by_label("Routing number").blur()
    expect(frame.get_by_role("alert")).to_have_text("Enter a valid 9-digit routing number.")
    expect(page.get_by_role("button", name="Pay")).to_be_disabled()
    assert emulator.client().v1.checkout.sessions.retrieve(session.id).payment_intent is None


@pytest.mark.parametrize(
    ("button", "status"), [("Authorize test payment", "succeeded"), ("Fail test payment", "failed")]
)
def test_klarna_redirects_to_its_test_page_and_back_to_the_return_url(
    page: Page, emulator: Emulator, merchant: MerchantServer, button: str, status: str
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    payment_frame(page).get_by_role("tab", name="Klarna").click()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading", name="Klarna test payment page")).to_be_visible(timeout=15000)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"**/_emulator/health?session_id={session.id}&**", timeout=15000)
    assert f"redirect_status={status}" in page.url
    done = emulator.client().v1.checkout.sessions.retrieve(session.id)
    intent = emulator.client().v1.payment_intents.retrieve(done.payment_intent)
    if status == "succeeded":
        assert (done.status, done.payment_status, intent.status) == ("complete", "paid", "succeeded")
        charge = emulator.client().v1.charges.retrieve(intent.latest_charge)
        assert charge.payment_method_details.type == "klarna"
    else:
        assert (done.status, intent.status) == ("open", "requires_payment_method")
        assert intent.last_payment_error.code == "payment_intent_payment_attempt_failed"


def test_at_phone_width_the_elements_fit_and_a_card_pays(
    page: Page, emulator: Emulator, merchant: MerchantServer, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    type_card(page, "4242424242424242")
    for frame in ("#payment-element iframe", "#address-element iframe"):
        box = page.locator(frame).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "checkout-elements-390.png"), full_page=True)
    result = pay_and_wait(page)
    assert result["type"] == "success", result


def test_the_contact_actions_check_what_they_are_given_and_the_old_init_name_throws(
    page: Page, emulator: Emulator, merchant: MerchantServer
) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    results = page.evaluate(
        """async () => {
            const {type, actions} = await window.checkout.loadActions();
            const badPhone = await actions.updatePhoneNumber("12");
            const phone = await actions.updatePhoneNumber("+44 20 7946 0958");
            const badEmail = await actions.updateEmail("ada@");
            const email = await actions.updateEmail("ada@example.com");
            let unshownTotal = null;
            const stripe = Stripe("pk_test_emulator_elements");
            const blind = stripe.initCheckoutElementsSdk({clientSecret: window.clientSecret});
            const blindActions = (await blind.loadActions()).actions;
            try { await blindActions.confirm(); } catch (error) { unshownTotal = error.name; }
            let renamed = null;
            try { Stripe("pk_test_x").initCheckout({clientSecret: "x"}); } catch (error) { renamed = error.name; }
            return {type, badPhone, phone, badEmail, email, renamed, unshownTotal, session: actions.getSession()};
        }"""
    )
    assert results["type"] == "success"
    assert results["badPhone"]["type"] == "error"
    assert "phone number is invalid" in results["badPhone"]["error"]["message"]
    assert results["phone"]["type"] == "success"
    assert results["badEmail"]["error"]["message"] == "Your email address is invalid."
    assert (results["session"]["email"], results["session"]["phoneNumber"]) == ("ada@example.com", "+44 20 7946 0958")
    assert results["session"]["total"]["total"] == {"amount": "$64.00", "minorUnitsAmount": TOTAL}
    assert results["session"]["canConfirm"] is False  # no address, no payment details yet
    assert results["renamed"] == "IntegrationError"
    # A page that never read the total to show it cannot confirm (docs.stripe.com/js/custom_checkout/confirm).
    assert results["unshownTotal"] == "IntegrationError"
    details = emulator.client().v1.checkout.sessions.retrieve(session.id).customer_details
    assert (details.email, details.phone) == ("ada@example.com", "+44 20 7946 0958")


def test_two_confirms_at_once_make_one_payment(page: Page, emulator: Emulator, merchant: MerchantServer) -> None:
    session = new_session(emulator)
    open_checkout(page, merchant, session)
    fill_contact_and_address(page)
    type_card(page, "4242424242424242")
    expect(page.get_by_role("button", name="Pay")).to_be_enabled()
    results = page.evaluate(
        """async () => {
            const {actions} = await window.checkout.loadActions();
            const both = await Promise.all([
                actions.confirm({redirect: "if_required"}),
                actions.confirm({redirect: "if_required"}),
            ]);
            return both.map((result) => result.type === "success" ? "success" : result.error.message);
        }"""
    )
    assert sorted(results) == ["A payment is already being confirmed.", "success"]
    client = emulator.client()
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert [charge.status for charge in client.v1.charges.list(params={"payment_intent": done.payment_intent})] == [
        "succeeded"
    ]
