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

from tests.support import Emulator, free_port

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
    change = wait_for_change(card_page, brand="visa", complete=False)
    assert error_of(change) == ("invalid_number", MSG_INVALID_NUMBER)
    expect(card_page.locator("#card-errors")).to_have_text(MSG_INVALID_NUMBER)
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
