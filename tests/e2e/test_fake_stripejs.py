"""The emulator's fake Stripe.js in Chromium: a page on another origin mounts the card Element, a customer
types cards into its iframe, and the page sees Stripe's events and gets tokens the API knows."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
from collections.abc import Iterator

import pytest
import stripe
from playwright.sync_api import FrameLocator, Page, expect

from stripe_emulator import cards
from tests.support import Emulator, free_port
from tests.support_browser import CHALLENGE_MODAL

pytestmark = pytest.mark.e2e

PUBLISHABLE_KEY = "pk_test_emulator"
THIS_YEAR = dt.date.today().year
FUTURE_YY = f"{(THIS_YEAR + 3) % 100:02d}"
PAST_YY = f"{(THIS_YEAR - 1) % 100:02d}"

# Stripe.js's own wording of the Card Element's validation errors.
MSG_INCOMPLETE_NUMBER = "Your card number is incomplete."
MSG_INVALID_NUMBER = "Your card number is invalid."
MSG_YEAR_PAST = "Your card's expiration year is in the past."
MSG_INCOMPLETE_CVC = "Your card's security code is incomplete."

# A page like a shop's checkout: it loads Stripe.js from the emulator, mounts the card Element and writes
# what Stripe.js tells it into the DOM (and into window variables the test waits on).
HARNESS = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Card Element</title>
<style>
  body { margin: 0; padding: 28px; background: #f6f9fc; color: #30313d;
         font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
  .panel { width: 460px; padding: 22px 24px; background: #fff; border-radius: 8px;
           box-shadow: 0 2px 5px rgba(50, 50, 93, .1), 0 1px 2px rgba(0, 0, 0, .07); }
  label { display: block; margin-bottom: 8px; font-size: 14px; font-weight: 500; }
  #card { padding: 11px 12px; background: #fff; border: 1px solid #e0e0e6; border-radius: 5px;
          box-shadow: 0 1px 1px rgba(0, 0, 0, .03), 0 3px 6px rgba(0, 0, 0, .02);
          transition: border-color .15s, box-shadow .15s; }
  #card.StripeElement--focus { border-color: #8ab4f0; box-shadow: 0 0 0 3px rgba(5, 115, 225, .2); }
  #card.StripeElement--invalid { border-color: #df1b41; }
  #card.StripeElement--invalid.StripeElement--focus { box-shadow: 0 0 0 3px rgba(223, 27, 65, .15); }
  #card-errors { min-height: 20px; margin-top: 8px; color: #df1b41; font-size: 14px; }
  button { margin-top: 6px; padding: 10px 16px; border: 0; border-radius: 5px; background: #635bff;
           color: #fff; font-size: 15px; font-weight: 600; }
  pre { display: none; }
</style>
</head>
<body>
<div class="panel">
  <label for="card">Card information</label>
  <div id="card"></div>
  <div id="card-errors" role="alert"></div>
  <button id="pay" type="button">Pay $23.00</button>
</div>
<pre id="change"></pre>
<pre id="result"></pre>
<script src="EMULATOR_URL/v3/"></script>
<script>
  window.events = [];
  window.lastChange = null;
  window.tokenResult = null;
  const stripe = Stripe("PUBLISHABLE_KEY");
  const elements = stripe.elements();
  window.elements = elements;
  function watch(card) {
    for (const type of ["ready", "focus", "blur", "escape"]) {
      card.on(type, (event) => window.events.push(type + ":" + event.elementType));
    }
    card.on("change", (event) => {
      window.lastChange = event;
      document.getElementById("change").textContent = JSON.stringify(event);
      document.getElementById("card-errors").textContent = event.error ? event.error.message : "";
    });
  }
  window.mountCard = function () {
    const card = elements.create("card", {
      style: {
        base: { color: "#32325d", fontSize: "16px", "::placeholder": { color: "#aab7c4" } },
        invalid: { color: "#df1b41", iconColor: "#df1b41" },
      },
    });
    watch(card);
    card.mount("#card");
    return card;
  };
  window.card = window.mountCard();
  window.stripe = stripe;
  // Runs one Stripe.js call and keeps what it settles to, so a test can act (on a 3-D Secure modal, say)
  // while the promise is pending and wait for the outcome afterwards.
  window.outcome = null;
  window.run = (call) => {
    window.outcome = null;
    call().then(
      (result) => { window.outcome = result; },
      (err) => { window.outcome = { rejected: err.name + ": " + err.message }; },
    );
  };
  document.getElementById("pay").addEventListener("click", async () => {
    window.tokenResult = null;
    const result = await stripe.createToken(elements.getElement("card"), {
      name: "Jenny Rosen", address_line1: "354 Oyster Point Blvd", address_city: "South San Francisco",
      address_state: "CA", address_country: "US",
    });
    window.tokenResult = result;
    document.getElementById("result").textContent = JSON.stringify(result);
    document.getElementById("card-errors").textContent = result.error ? result.error.message : "";
  });
</script>
</body>
</html>
"""


def harness_html(emulator_url: str) -> str:
    """The harness page, loading Stripe.js from the emulator at `emulator_url`."""
    return HARNESS.replace("EMULATOR_URL", emulator_url).replace("PUBLISHABLE_KEY", PUBLISHABLE_KEY)


class HarnessServer:
    """Serves the harness page from its own port, so the page and the emulator are different origins."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = 200 if self.path == "/" else 404
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body) if status == 200 else 0))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HarnessServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def harness(emulator: Emulator) -> Iterator[HarnessServer]:
    with HarnessServer(harness_html(emulator.url)) as server:
        yield server


@pytest.fixture
def card_page(page: Page, harness: HarnessServer) -> Page:
    """The harness open in Chromium with the card Element mounted and ready."""
    page.goto(harness.url)
    page.wait_for_function("() => window.events.includes('ready:card')")
    return page


def card_frame(page: Page) -> FrameLocator:
    return page.frame_locator('iframe[name^="__privateStripeFrame"]')


def wait_for_change(page: Page, **expected: object) -> dict:
    """Wait until the last 'change' event has the expected fields; return it."""
    try:
        page.wait_for_function(
            """(expected) => {
                const c = window.lastChange;
                const same = ([k, v]) => JSON.stringify(c[k] ?? null) === JSON.stringify(v);
                return !!c && Object.entries(expected).every(same);
            }""",
            arg=expected,
            timeout=5000,
        )
    except Exception as exc:
        raise AssertionError(f"last change event {page.evaluate('window.lastChange')} lacks {expected}") from exc
    return page.evaluate("window.lastChange")


def create_token(page: Page) -> dict:
    """Click Pay and return what stripe.createToken resolved to."""
    page.click("#pay")
    page.wait_for_function("() => window.tokenResult !== null", timeout=10000)
    return page.evaluate("window.tokenResult")


def type_card(page: Page, number: str, expiry: str, cvc: str, postal: str) -> None:
    """Type each field as a customer would, clicking into it first."""
    frame = card_frame(page)
    for name, text in (("cardnumber", number), ("exp-date", expiry), ("cvc", cvc), ("postal", postal)):
        frame.locator(f'input[name="{name}"]').click()
        frame.locator(f'input[name="{name}"]').press_sequentially(text)


def error_of(change: dict) -> tuple[str, str] | None:
    error = change.get("error")
    return (error["code"], error["message"]) if error else None


def test_visa_typed_in_one_go_advances_fields_and_tokenizes(card_page: Page, emulator: Emulator) -> None:
    frame = card_frame(card_page)
    iframe = card_page.locator('iframe[name^="__privateStripeFrame"]')
    expect(iframe).to_have_attribute("title", "Secure card payment input frame")
    assert iframe.get_attribute("src").startswith(emulator.url + "/")
    expect(frame.locator('input[name="cardnumber"]')).to_have_attribute("placeholder", "Card number")
    expect(frame.locator('input[name="exp-date"]')).to_have_attribute("placeholder", "MM / YY")
    expect(frame.locator('input[name="cvc"]')).to_have_attribute("placeholder", "CVC")
    expect(frame.locator('input[name="postal"]')).to_have_attribute("placeholder", "ZIP")

    # One stream of keys: focus must move on by itself as each field completes.
    frame.locator('input[name="cardnumber"]').click()
    card_page.keyboard.type(f"424242424242424212{FUTURE_YY}12394103")

    change = wait_for_change(card_page, complete=True)
    assert change["elementType"] == "card"
    assert change["brand"] == "visa"
    assert change["empty"] is False
    assert change["value"] == {"postalCode": "94103"}
    assert error_of(change) is None
    expect(frame.locator('input[name="cardnumber"]')).to_have_value("4242 4242 4242 4242")
    expect(frame.locator('input[name="exp-date"]')).to_have_value(f"12 / {FUTURE_YY}")
    expect(card_page.locator("#card")).to_have_class("StripeElement StripeElement--focus StripeElement--complete")

    result = create_token(card_page)
    assert "error" not in result
    token = result["token"]
    assert token["id"].startswith("tok_")
    # The page gets the token, never the number.
    assert "4242424242424242" not in json.dumps(result)
    assert "4242424242424242" not in card_page.content()

    stored = emulator.client().v1.tokens.retrieve(token["id"])
    assert stored.card.last4 == "4242"
    assert stored.card.brand == "Visa"
    assert (stored.card.exp_month, stored.card.exp_year) == (12, 2000 + int(FUTURE_YY))
    assert stored.card.address_zip == "94103"
    assert stored.card.name == "Jenny Rosen"
    assert stored.card.address_country == "US"


def test_amex_takes_fifteen_digits_and_a_four_digit_cvc(card_page: Page, emulator: Emulator) -> None:
    frame = card_frame(card_page)
    # Typed with the spaces as printed on the card.
    type_card(card_page, "3782 822463 10005", f"03{FUTURE_YY}", "123", "")
    change = wait_for_change(card_page, brand="amex")
    expect(frame.locator('input[name="cardnumber"]')).to_have_value("3782 822463 10005")
    # Leaving the CVC with three digits is an incomplete code for Amex.
    frame.locator('input[name="postal"]').press_sequentially("10001")
    change = wait_for_change(
        card_page, error={"type": "validation_error", "code": "incomplete_cvc", "message": MSG_INCOMPLETE_CVC}
    )
    assert change["complete"] is False

    frame.locator('input[name="cvc"]').click()
    frame.locator('input[name="cvc"]').press("End")
    frame.locator('input[name="cvc"]').press_sequentially("4")
    change = wait_for_change(card_page, complete=True, brand="amex")
    expect(frame.locator('input[name="cvc"]')).to_have_value("1234")
    assert error_of(change) is None

    token = create_token(card_page)["token"]
    stored = emulator.client().v1.tokens.retrieve(token["id"])
    assert (stored.card.brand, stored.card.last4) == ("American Express", "0005")
    assert (stored.card.exp_month, stored.card.exp_year) == (3, 2000 + int(FUTURE_YY))


def test_mastercard_pasted_with_spaces_tokenizes(card_page: Page, emulator: Emulator) -> None:
    frame = card_frame(card_page)
    # fill() inserts the whole text at once, as a paste does.
    frame.locator('input[name="cardnumber"]').fill("5555 5555 5555 4444")
    frame.locator('input[name="exp-date"]').fill(f"7/20{FUTURE_YY}")
    frame.locator('input[name="cvc"]').fill("321")
    frame.locator('input[name="postal"]').fill("60601")
    change = wait_for_change(card_page, complete=True)
    assert change["brand"] == "mastercard"
    expect(frame.locator('input[name="exp-date"]')).to_have_value(f"07 / {FUTURE_YY}")

    token = create_token(card_page)["token"]
    stored = emulator.client().v1.tokens.retrieve(token["id"])
    assert (stored.card.brand, stored.card.last4) == ("MasterCard", "4444")
    assert (stored.card.exp_month, stored.card.exp_year) == (7, 2000 + int(FUTURE_YY))


def test_luhn_failure_is_invalid_and_never_sent(card_page: Page) -> None:
    token_requests: list[str] = []
    card_page.on("request", lambda request: "/v1/tokens" in request.url and token_requests.append(request.url))
    frame = card_frame(card_page)
    frame.locator('input[name="cardnumber"]').click()
    frame.locator('input[name="cardnumber"]').press_sequentially("4242424242424241")
    # The message shows once the last digit's change event has come (an earlier one, 15 digits, has no error).
    expect(card_page.locator("#card-errors")).to_have_text(MSG_INVALID_NUMBER)
    change = wait_for_change(card_page, brand="visa", complete=False)
    assert error_of(change) == ("invalid_number", MSG_INVALID_NUMBER)
    expect(card_page.locator("#card")).to_contain_class("StripeElement--invalid")
    # A wrong number does not move the customer on to the expiry.
    expect(frame.locator('input[name="cardnumber"]')).to_be_focused()

    result = create_token(card_page)
    assert result["error"]["type"] == "validation_error"
    assert result["error"]["code"] == "invalid_number"
    assert result["error"]["message"] == MSG_INVALID_NUMBER
    assert token_requests == []


def test_incomplete_number_shows_once_the_customer_moves_on(card_page: Page) -> None:
    frame = card_frame(card_page)
    frame.locator('input[name="cardnumber"]').click()
    frame.locator('input[name="cardnumber"]').press_sequentially("42424242")
    change = wait_for_change(card_page, empty=False, brand="visa")
    # Still typing: no message yet.
    assert error_of(change) is None
    expect(frame.locator('input[name="cardnumber"]')).to_have_value("4242 4242")

    frame.locator('input[name="exp-date"]').click()
    change = wait_for_change(
        card_page, error={"type": "validation_error", "code": "incomplete_number", "message": MSG_INCOMPLETE_NUMBER}
    )
    assert change["complete"] is False
    expect(card_page.locator("#card-errors")).to_have_text(MSG_INCOMPLETE_NUMBER)

    result = create_token(card_page)
    assert result["error"]["code"] == "incomplete_number"
    assert result["error"]["message"] == MSG_INCOMPLETE_NUMBER


def test_expiry_year_in_the_past(card_page: Page) -> None:
    type_card(card_page, "4242424242424242", f"12{PAST_YY}", "", "")
    change = wait_for_change(card_page, complete=False, brand="visa")
    assert error_of(change) == ("invalid_expiry_year_past", MSG_YEAR_PAST)
    expect(card_page.locator("#card-errors")).to_have_text(MSG_YEAR_PAST)

    # Correcting the year clears the message.
    expiry = card_frame(card_page).locator('input[name="exp-date"]')
    expiry.click()
    expiry.press("Backspace")
    expiry.press("Backspace")
    expiry.press_sequentially(FUTURE_YY)
    change = wait_for_change(card_page, error=None)
    expect(expiry).to_have_value(f"12 / {FUTURE_YY}")


def test_typing_with_or_without_spaces_gives_the_same_card(card_page: Page) -> None:
    number = card_frame(card_page).locator('input[name="cardnumber"]')
    number.click()
    number.press_sequentially("4000 0000 0000 9995")
    expect(number).to_have_value("4000 0000 0000 9995")
    number.fill("")
    number.press_sequentially("4000000000009995")
    expect(number).to_have_value("4000 0000 0000 9995")
    # Backspace right after a group's space deletes the digit before it, not just the space.
    number.press("Home")
    for _ in range(5):
        number.press("ArrowRight")
    number.press("Backspace")
    expect(number).to_have_value("4000 0000 0009 995")


def test_declining_card_still_yields_a_token_that_declines_at_charge(card_page: Page, emulator: Emulator) -> None:
    type_card(card_page, "4000000000009995", f"11{FUTURE_YY}", "999", "94103")
    wait_for_change(card_page, complete=True, brand="visa")
    token = create_token(card_page)["token"]
    assert token["id"].startswith("tok_")
    assert token["card"]["last4"] == "9995"

    client = emulator.client()
    with pytest.raises(stripe.CardError) as declined:
        client.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": token["id"]})
    assert declined.value.code == "card_declined"
    assert declined.value.error.decline_code == "insufficient_funds"


def test_network_failure_resolves_an_api_connection_error(card_page: Page) -> None:
    card_page.route("**/v1/tokens", lambda route: route.abort())
    type_card(card_page, "4242424242424242", f"01{FUTURE_YY}", "123", "94103")
    wait_for_change(card_page, complete=True)
    result = create_token(card_page)
    assert result["error"]["type"] == "api_connection_error"
    assert result["error"]["message"]


def test_events_classes_and_lifecycle(card_page: Page) -> None:
    frame = card_frame(card_page)
    frame.locator('input[name="cardnumber"]').click()
    card_page.wait_for_function("() => window.events.includes('focus:card')")
    expect(card_page.locator("#card")).to_contain_class("StripeElement--focus")
    frame.locator('input[name="cardnumber"]').press("Escape")
    card_page.wait_for_function("() => window.events.includes('escape:card')")
    card_page.click("label")
    card_page.wait_for_function("() => window.events.includes('blur:card')")
    expect(card_page.locator("#card")).not_to_contain_class("StripeElement--focus")
    expect(card_page.locator("#card")).to_contain_class("StripeElement--empty")

    # Mounting again where it is keeps one frame; only one card Element per group, as in Stripe.js.
    card_page.evaluate("window.card.mount('#card')")
    expect(card_page.locator('iframe[name^="__privateStripeFrame"]')).to_have_count(1)
    with pytest.raises(Exception, match="Can only create one Element of type card"):
        card_page.evaluate("window.elements.create('card')")

    # Destroyed, then created and mounted again: a fresh, working Element.
    card_page.evaluate("window.events = []; window.card.destroy(); window.card = window.mountCard();")
    card_page.wait_for_function("() => window.events.includes('ready:card')")
    expect(card_page.locator('iframe[name^="__privateStripeFrame"]')).to_have_count(1)
    card_page.evaluate("window.card.update({hidePostalCode: true})")
    expect(card_frame(card_page).locator('input[name="postal"]')).to_be_hidden()
    type_card_without_postal = card_frame(card_page).locator('input[name="cardnumber"]')
    type_card_without_postal.click()
    card_page.keyboard.type(f"555555555555444410{FUTURE_YY}123")
    change = wait_for_change(card_page, complete=True, brand="mastercard")
    assert change["value"] == {}

    card_page.evaluate("window.card.clear()")
    change = wait_for_change(card_page, empty=True, complete=False)
    expect(card_frame(card_page).locator('input[name="cardnumber"]')).to_have_value("")


def test_style_options_size_and_state_apply_inside_the_frame(card_page: Page) -> None:
    frame = card_frame(card_page)
    number = frame.locator('input[name="cardnumber"]')
    iframe = card_page.locator('iframe[name^="__privateStripeFrame"]')
    assert number.evaluate("el => getComputedStyle(el).color") == "rgb(50, 50, 93)"
    assert number.evaluate("el => getComputedStyle(el, '::placeholder').color") == "rgb(170, 183, 196)"
    # The frame is as tall as one line of the chosen font: 1.2 x 16px, rounded up.
    expect(iframe).to_have_attribute("style", re.compile(r"height: 20px"))

    number.click()
    number.press_sequentially("4242424242424241")
    wait_for_change(card_page, complete=False, brand="visa")
    expect(number).to_have_css("color", "rgb(223, 27, 65)")

    card_page.evaluate("window.card.update({style: {base: {fontSize: '20px'}}, disabled: true})")
    expect(iframe).to_have_attribute("style", re.compile(r"height: 24px"))
    expect(number).to_be_disabled()
    # The earlier style options survive an update that names only the font size.
    card_page.evaluate("window.card.update({disabled: false}); window.card.clear()")
    expect(number).to_be_enabled()
    assert number.evaluate("el => getComputedStyle(el).color") == "rgb(50, 50, 93)"

    card_page.evaluate("window.events = []; window.card.focus()")
    expect(number).to_be_focused()
    card_page.wait_for_function("() => window.events.includes('focus:card')")
    card_page.evaluate("window.card.blur()")
    card_page.wait_for_function("() => window.events.includes('blur:card')")


def test_narrow_element_shows_the_number_alone_then_its_last_four(card_page: Page) -> None:
    card_page.evaluate("document.querySelector('.panel').style.width = '280px'")
    frame = card_frame(card_page)
    number, expiry = frame.locator('input[name="cardnumber"]'), frame.locator('input[name="exp-date"]')
    number.click()
    # One line cannot hold all fields: while the number is typed it has the line to itself.
    expect(expiry).to_be_hidden()
    number.press_sequentially("4242424242424242")
    expect(expiry).to_be_focused()
    expect(frame.locator(".last4")).to_have_text("4242")
    expect(frame.locator(".last4")).to_be_visible()
    card_page.keyboard.type(f"12{FUTURE_YY}123")
    wait_for_change(card_page, complete=False, brand="visa")
    # Clicking the last four digits goes back to the whole number.
    frame.locator(".field-number").click()
    expect(number).to_be_focused()
    expect(expiry).to_be_hidden()
    expect(number).to_have_value("4242 4242 4242 4242")
    number.press("Tab")
    expect(expiry).to_be_focused()


def test_the_card_cannot_be_typed_into_before_its_script_runs(page: Page, harness: HarnessServer) -> None:
    # Typed before the frame's script listened, a whole number kept the focus without moving on, and a narrow
    # frame then hid the expiry for good (a phone checkout's test timed out on it).
    held = []

    def hold(route) -> None:
        held.append(route)

    page.route("**/elements/card-frame.js", hold)
    with page.expect_request("**/elements/card-frame.js"):
        page.goto(harness.url, wait_until="commit")  # the page's load waits for the held script
    page.evaluate("document.querySelector('.panel').style.width = '280px'")
    frame = card_frame(page)
    number, expiry = frame.locator('input[name="cardnumber"]'), frame.locator('input[name="exp-date"]')
    expect(number).to_be_attached()
    expect(number).to_be_disabled()
    held[0].continue_()
    page.wait_for_function("() => window.events.includes('ready:card')")
    number.fill("4242 4242 4242 4242")
    expiry.fill(f"12 / {FUTURE_YY}")
    expect(expiry).to_have_value(f"12 / {FUTURE_YY}")
    expect(frame.locator(".last4")).to_have_text("4242")


def test_other_brands_are_detected_and_grouped(card_page: Page) -> None:
    frame = card_frame(card_page)
    number, expiry = frame.locator('input[name="cardnumber"]'), frame.locator('input[name="exp-date"]')
    cards = [
        ("6011111111111117", "discover", "6011 1111 1111 1117"),
        ("3056930009020004", "diners", "3056 9300 0902 0004"),
        ("36227206271667", "diners", "3622 720627 1667"),
        ("3566002020360505", "jcb", "3566 0020 2036 0505"),
        ("6200000000000005", "unionpay", "6200 0000 0000 0005"),
        ("9999999999999995", "unknown", "9999 9999 9999 9995"),
    ]
    for digits, brand, shown in cards:
        number.click()
        number.press_sequentially(digits)
        expect(number).to_have_value(shown)
        change = wait_for_change(card_page, brand=brand, empty=False)
        assert error_of(change) is None, digits
        # A complete number hands the focus on to the expiry.
        expect(expiry).to_be_focused()
        card_page.evaluate("window.card.clear()")
        wait_for_change(card_page, empty=True)


# ---------------------------------------------------------------- one set of card rules for the frame and the API


def _rule_samples() -> list[str]:
    """Digits to judge: every prefix of Stripe's test cards, and numbers at and just past each range's edges."""
    samples = {""}
    for number in (*cards.TEST_CARDS, *cards.TEST_TOKENS.values(), "6205500000000000004", "36227206271667"):
        samples.update(number[:end] for end in range(1, len(number) + 1))
    for bin_range in cards.BIN_RANGES:
        for edge in (int(bin_range.low) - 1, int(bin_range.low), int(bin_range.high), int(bin_range.high) + 1):
            prefix = str(edge).zfill(len(bin_range.low))
            samples.update({prefix, prefix[:-1] or prefix, (prefix + "0" * 19)[:16], (prefix + "0" * 19)[:19]})
    return sorted(samples)


def test_the_frame_reads_the_same_rules_as_the_api(page: Page, emulator: Emulator) -> None:
    # The frame's own document, opened alone, carries the rules; its rules module judges digits as cards.py does.
    page.goto(emulator.url + "/v3/elements-inner-card.html")
    samples = _rule_samples()
    judged = page.evaluate(
        """async (samples) => {
            const { loadRules } = await import("/v3/elements/rules.js");
            const rules = loadRules();
            return samples.map((digits) => [rules.brandOf(digits), rules.panLength(digits), rules.luhnValid(digits)]);
        }""",
        samples,
    )
    expected = [[cards.brand_of(d), cards.pan_length(d), cards.luhn_ok(d)] for d in samples]
    mismatches = [(d, got, want) for d, got, want in zip(samples, judged, expected, strict=True) if got != want]
    assert mismatches == []
    assert len(samples) > 300


def _frame_verdict(page: Page, number: str) -> dict:
    """Paste `number` and good other details into the card frame; return the change event that judges them."""
    frame = card_frame(page)
    frame.locator('input[name="cardnumber"]').fill(number)
    # Leaving the number for the other fields shows what is wrong with it, if anything.
    for name, text in (("exp-date", f"12{FUTURE_YY}"), ("cvc", "123"), ("postal", "94103")):
        frame.locator(f'input[name="{name}"]').fill(text)
    page.wait_for_function(
        "() => window.lastChange && window.lastChange.value.postalCode === '94103'"
        " && (window.lastChange.complete || !!window.lastChange.error)"
    )
    return page.evaluate("window.lastChange")


@pytest.mark.parametrize(
    ("number", "frame_keeps", "frame_error", "api_code"),
    [
        # Stripe's 19-digit UnionPay test card: complete in the frame, a card for the API.
        ("6205500000000000004", "6205 5000 0000 0000 004", None, None),
        # A UnionPay number that fails Luhn: invalid in the frame, incorrect for the API.
        ("6200000000000004", "6200 0000 0000 0004", "invalid_number", "incorrect_number"),
        # A 19-digit Visa number: the frame takes no more than a Visa number's 16 digits, the API refuses 19.
        ("4242424242424242424", "4242 4242 4242 4242", None, "invalid_number"),
        # A 14-digit number where Diners Club numbers have 16 (only prefix 36 has 14).
        ("30569309025904", "3056 9309 0259 04", "incomplete_number", "invalid_number"),
        # Diners Club's prefix 309 is a Diners Club number for both.
        ("3095000000000000", "3095 0000 0000 0000", None, None),
    ],
)
def test_the_frame_and_the_api_treat_a_number_alike(
    card_page: Page, emulator: Emulator, number: str, frame_keeps: str, frame_error: str | None, api_code: str | None
) -> None:
    change = _frame_verdict(card_page, number)
    expect(card_frame(card_page).locator('input[name="cardnumber"]')).to_have_value(frame_keeps)
    assert (change["error"] or {}).get("code") == frame_error
    kept_digits = frame_keeps.replace(" ", "")
    assert change["brand"] == cards.brand_of(kept_digits)

    client = emulator.client(PUBLISHABLE_KEY)
    card = {"number": number, "exp_month": "12", "exp_year": str(THIS_YEAR + 3), "cvc": "123"}
    if api_code is None:
        token = client.v1.tokens.create(params={"card": card})
        assert token.card.last4 == number[-4:]
        assert token.card.brand == cards.BRAND_NAMES[change["brand"]]
    else:
        with pytest.raises(stripe.CardError) as refused:
            client.v1.tokens.create(params={"card": card})
        assert refused.value.code == api_code


# ---------------------------------------------------------------- PaymentIntents and 3-D Secure

BILLING = {"name": "Jenny Rosen", "email": "jenny@example.com", "address": {"country": "US"}}


def new_intent(emulator: Emulator, amount: int = 2300) -> stripe.PaymentIntent:
    """A PaymentIntent made on the server, as the shop makes one per order."""
    return emulator.client().v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "payment_method_types": ["card"]}
    )


def start_card_payment(page: Page, client_secret: str) -> None:
    """Call stripe.confirmCardPayment with the mounted card Element (what the shop's Pay button does)."""
    page.evaluate(
        """([secret, billing]) => window.run(() => window.stripe.confirmCardPayment(secret, {
            payment_method: { card: window.elements.getElement("card"), billing_details: billing },
        }))""",
        [client_secret, BILLING],
    )


def outcome(page: Page, timeout: int = 15000) -> dict:
    """What the last Stripe.js call run through window.run settled to."""
    page.wait_for_function("() => window.outcome !== null", timeout=timeout)
    return page.evaluate("window.outcome")


def challenge(page: Page) -> FrameLocator:
    """The 3-D Secure challenge frame once its modal covers the page and holds the keyboard's focus.

    The frame's text shows before its module script runs; until that script has told the page it loaded, the
    page has not moved the focus in, and a key pressed then goes wherever the focus was (the card frame)."""
    expect(page.locator(CHALLENGE_MODAL)).to_be_visible()
    frame = page.frame_locator(f"{CHALLENGE_MODAL} iframe")
    expect(frame.get_by_text("Emulated 3D Secure test page")).to_be_visible()
    expect(frame.locator("button[data-result]").first).to_be_focused()
    return frame


def type_full_card(page: Page, number: str) -> None:
    type_card(page, number, f"12{FUTURE_YY}", "123", "94103")
    wait_for_change(page, complete=True)


def test_confirm_card_payment_succeeds_and_the_page_never_sees_the_number(card_page: Page, emulator: Emulator) -> None:
    # Every request that carries the card number must come from the card frame, never from the page.
    senders: list[str] = []
    card_page.on(
        "request", lambda request: "4242424242424242" in (request.post_data or "") and senders.append(request.frame.url)
    )
    intent = new_intent(emulator)
    type_full_card(card_page, "4242424242424242")
    start_card_payment(card_page, intent.client_secret)
    result = outcome(card_page)
    assert "error" not in result
    confirmed = result["paymentIntent"]
    assert (confirmed["id"], confirmed["status"]) == (intent.id, "succeeded")
    assert "4242424242424242" not in json.dumps(result)
    assert "4242424242424242" not in card_page.content()
    assert senders and all(url.startswith(emulator.url + "/v3/elements-inner-card.html") for url in senders)

    stored = emulator.client().v1.payment_intents.retrieve(intent.id)
    assert stored.status == "succeeded"
    assert stored.latest_charge.startswith("ch_")
    method = emulator.client().v1.payment_methods.retrieve(stored.payment_method)
    assert (method.card.last4, method.card.brand) == ("4242", "visa")
    # The Element's postal code is the billing postal code, beside what the page gave.
    assert method.billing_details.name == "Jenny Rosen"
    assert method.billing_details.address.postal_code == "94103"
    expect(card_page.locator(CHALLENGE_MODAL)).to_have_count(0)


def test_a_declined_card_resolves_the_decline_with_the_intent(card_page: Page, emulator: Emulator) -> None:
    intent = new_intent(emulator)
    type_full_card(card_page, "4000000000009995")
    start_card_payment(card_page, intent.client_secret)
    error = outcome(card_page)["error"]
    assert (error["type"], error["code"]) == ("card_error", "card_declined")
    assert error["decline_code"] == "insufficient_funds"
    assert error["message"] == "Your card has insufficient funds."
    assert error["payment_intent"]["id"] == intent.id
    assert error["payment_intent"]["status"] == "requires_payment_method"


def test_three_d_secure_completed_in_the_modal_succeeds(card_page: Page, emulator: Emulator) -> None:
    intent = new_intent(emulator)
    type_full_card(card_page, "4000002760003184")
    start_card_payment(card_page, intent.client_secret)
    frame = challenge(card_page)
    # The modal covers the whole page while the promise waits for the customer.
    box = card_page.locator(CHALLENGE_MODAL).bounding_box()
    viewport = card_page.viewport_size
    assert box is not None and viewport is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, viewport["width"], viewport["height"])
    assert card_page.evaluate("window.outcome") is None
    frame.get_by_role("button", name="Complete").click()
    result = outcome(card_page)
    assert result["paymentIntent"]["status"] == "succeeded"
    expect(card_page.locator(CHALLENGE_MODAL)).to_have_count(0)
    assert emulator.client().v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_three_d_secure_failed_in_the_modal_is_an_authentication_failure(card_page: Page, emulator: Emulator) -> None:
    intent = new_intent(emulator)
    type_full_card(card_page, "4000002760003184")
    start_card_payment(card_page, intent.client_secret)
    challenge(card_page).get_by_role("button", name="Fail").click()
    error = outcome(card_page)["error"]
    assert error["code"] == "payment_intent_authentication_failure"
    assert error["payment_intent"]["id"] == intent.id
    assert error["payment_intent"]["status"] == "requires_payment_method"
    expect(card_page.locator(CHALLENGE_MODAL)).to_have_count(0)


@pytest.mark.parametrize("how", ["close button", "Escape"])
def test_closing_the_modal_fails_the_authentication(card_page: Page, emulator: Emulator, how: str) -> None:
    intent = new_intent(emulator)
    type_full_card(card_page, "4000002760003184")
    start_card_payment(card_page, intent.client_secret)
    challenge(card_page)
    if how == "Escape":
        card_page.keyboard.press("Escape")
    else:
        card_page.locator(f"{CHALLENGE_MODAL} button[aria-label='Close']").click()
    error = outcome(card_page)["error"]
    assert error["code"] == "payment_intent_authentication_failure"
    expect(card_page.locator(CHALLENGE_MODAL)).to_have_count(0)
    assert emulator.client().v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_authenticated_then_declined_gives_the_decline(card_page: Page, emulator: Emulator) -> None:
    intent = new_intent(emulator)
    type_full_card(card_page, "4000008260003178")
    start_card_payment(card_page, intent.client_secret)
    challenge(card_page).get_by_role("button", name="Complete").click()
    error = outcome(card_page)["error"]
    assert (error["code"], error["decline_code"]) == ("card_declined", "insufficient_funds")
    assert error["payment_intent"]["status"] == "requires_payment_method"


def test_payment_method_then_confirm_by_id_then_retrieve(card_page: Page, emulator: Emulator) -> None:
    type_full_card(card_page, "5555555555554444")
    card_page.evaluate(
        """(billing) => window.run(() => window.stripe.createPaymentMethod({
            type: "card", card: window.elements.getElement("card"), billing_details: billing,
        }))""",
        BILLING,
    )
    method = outcome(card_page)["paymentMethod"]
    assert method["id"].startswith("pm_")
    assert (method["card"]["brand"], method["card"]["last4"]) == ("mastercard", "4444")
    assert method["billing_details"]["email"] == "jenny@example.com"
    assert "5555555555554444" not in card_page.content()

    intent = new_intent(emulator, amount=4600)
    card_page.evaluate(
        "([secret, pm]) => window.run(() => window.stripe.confirmCardPayment(secret, {payment_method: pm}))",
        [intent.client_secret, method["id"]],
    )
    assert outcome(card_page)["paymentIntent"]["status"] == "succeeded"
    card_page.evaluate(
        "(secret) => window.run(() => window.stripe.retrievePaymentIntent(secret))", intent.client_secret
    )
    retrieved = outcome(card_page)["paymentIntent"]
    assert (retrieved["id"], retrieved["amount"], retrieved["payment_method"]) == (intent.id, 4600, method["id"])


def test_handle_card_action_shows_the_challenge_of_a_server_confirmed_intent(
    card_page: Page, emulator: Emulator
) -> None:
    intent = emulator.client().v1.payment_intents.create(
        params={
            "amount": 2300,
            "currency": "usd",
            "payment_method_types": ["card"],
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    card_page.evaluate("(secret) => window.run(() => window.stripe.handleCardAction(secret))", intent.client_secret)
    challenge(card_page).get_by_role("button", name="Complete").click()
    assert outcome(card_page)["paymentIntent"]["status"] == "succeeded"

    # Nothing left to handle: Stripe.js says so rather than opening anything.
    card_page.evaluate(
        "(secret) => window.run(() => window.stripe.handleNextAction({clientSecret: secret}))", intent.client_secret
    )
    assert outcome(card_page)["error"]["code"] == "payment_intent_unexpected_state"
    expect(card_page.locator(CHALLENGE_MODAL)).to_have_count(0)


def test_a_malformed_client_secret_is_an_integration_error(card_page: Page) -> None:
    card_page.evaluate("() => window.run(() => window.stripe.confirmCardPayment('pi_123', {}))")
    assert outcome(card_page)["rejected"].startswith("IntegrationError")


def new_setup_intent(emulator: Emulator, customer: str) -> stripe.SetupIntent:
    """A SetupIntent made on the server for a customer, to save a card for later."""
    return emulator.client().v1.setup_intents.create(params={"customer": customer, "payment_method_types": ["card"]})


def start_card_setup(page: Page, client_secret: str) -> None:
    """Call stripe.confirmCardSetup with the mounted card Element."""
    page.evaluate(
        """([secret, billing]) => window.run(() => window.stripe.confirmCardSetup(secret, {
            payment_method: { card: window.elements.getElement("card"), billing_details: billing },
        }))""",
        [client_secret, BILLING],
    )


def test_confirm_card_setup_runs_the_challenge_and_saves_the_card(card_page: Page, emulator: Emulator) -> None:
    customer = emulator.client().v1.customers.create(params={"email": "jenny@example.com"})
    intent = new_setup_intent(emulator, customer.id)
    type_full_card(card_page, "4000002760003184")
    start_card_setup(card_page, intent.client_secret)
    challenge(card_page).get_by_role("button", name="Complete").click()
    result = outcome(card_page)
    assert (result["setupIntent"]["id"], result["setupIntent"]["status"]) == (intent.id, "succeeded")
    stored = emulator.client().v1.setup_intents.retrieve(intent.id)
    method = emulator.client().v1.payment_methods.retrieve(stored.payment_method)
    assert (method.customer, method.card.last4) == (customer.id, "3184")
    expect(card_page.locator(CHALLENGE_MODAL)).to_have_count(0)


def test_confirm_card_setup_resolves_a_decline_and_a_failed_challenge(card_page: Page, emulator: Emulator) -> None:
    customer = emulator.client().v1.customers.create(params={"email": "jenny@example.com"})
    declined = new_setup_intent(emulator, customer.id)
    type_full_card(card_page, "4000000000000002")
    start_card_setup(card_page, declined.client_secret)
    error = outcome(card_page)["error"]
    assert (error["type"], error["code"]) == ("card_error", "card_declined")
    assert error["setup_intent"]["status"] == "requires_payment_method"

    failing = new_setup_intent(emulator, customer.id)
    card_frame(card_page).locator('input[name="cardnumber"]').focus()
    card_page.keyboard.press("ControlOrMeta+A")
    card_page.keyboard.press("Backspace")
    card_frame(card_page).locator('input[name="cardnumber"]').press_sequentially("4000002760003184")
    wait_for_change(card_page, complete=True)
    start_card_setup(card_page, failing.client_secret)
    challenge(card_page).get_by_role("button", name="Fail").click()
    error = outcome(card_page)["error"]
    assert error["code"] == "setup_intent_authentication_failure"
    assert error["setup_intent"]["status"] == "requires_payment_method"
    assert emulator.client().v1.payment_methods.list(params={"customer": customer.id}).data == []
