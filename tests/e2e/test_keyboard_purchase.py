"""A purchase with the keyboard alone, in Chromium: Tab reaches every field in reading order (the card's inputs
included), Enter pays, the 3-D Secure challenge takes the focus, keeps it while open and gives it back when it
closes, and Escape closes it as a failure."""

from __future__ import annotations

from itertools import pairwise

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_checkout_intents import CHALLENGE_MODAL, PAY, details_for, orders_of
from tests.support import wait_until
from tests.support_browser import StreamlitApp, confirmed_charge_id, fill_details, open_shop, rerun_finished

pytestmark = pytest.mark.e2e

THREE_D_SECURE_CARD = "4000002760003184"
# What the keyboard meets after "Full name", in order (Streamlit's "Link to heading" anchors left out).
FORM_ORDER = [
    "Full name",
    "Email",
    "Phone",
    "Address line 1",
    "Address line 2 (optional)",
    "City",
    "State / Region",
    "Postal code",
    "Country",
    "Quantity",
    "Help for Integration (demo)",  # the demo switch of the checkout integration (emulator mode)
    "Integration (demo)",
    "Credit or debit card number",
]
HEADING_LINK = "Link to heading"

# The focused element of one document: its accessible name as its markup gives it, and the name of the frame
# the focus went into when it is an iframe.
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body || element === document.documentElement) return null;
  const name = element.getAttribute("aria-label") || element.textContent.trim();
  return { name, frame: element.tagName === "IFRAME" ? element.name : null };
}"""


def focused(page: Page) -> str | None:
    """The name of what has the keyboard focus now, followed into frames (the card's, the challenge's)."""
    found = page.evaluate(FOCUSED)
    while found is not None and found["frame"]:
        found = page.frame(name=found["frame"]).evaluate(FOCUSED)
    return found["name"] if found else None


def wait_for_focus(page: Page, name: str) -> None:
    wait_until(lambda: focused(page) == name, f"the focus never reached {name!r} (it is on {focused(page)!r})")


def tab(page: Page, *, shift: bool = False) -> str | None:
    """Press Tab (Shift+Tab) past Streamlit's heading anchors; the name of what has the focus then."""
    key = "Shift+Tab" if shift else "Tab"
    page.keyboard.press(key)
    while focused(page) == HEADING_LINK:
        page.keyboard.press(key)
    return focused(page)


def tab_to(page: Page, name: str, most: int = 40) -> list[str | None]:
    """Tab from where the focus is until `name` has it; every stop on the way."""
    stops = []
    while focused(page) != name:
        assert len(stops) < most, f"{name!r} is not reachable with Tab; the stops were {stops}"
        stops.append(tab(page))
    return stops


def type_details_with_the_keyboard(page: Page, details: dict[str, str]) -> None:
    """From "Full name", type each field's value and Tab on; the focus must go through FORM_ORDER."""
    for label, following in pairwise(FORM_ORDER):
        assert focused(page) == label
        value = details.get(label.removesuffix(" (optional)"), "")
        if value:
            # Tab commits the value: Streamlit reruns, and the focus must survive it. The typing is inside the
            # block too: a rerun another part of the page asks for meanwhile commits the value with it.
            with rerun_finished(page):
                page.keyboard.type(value)
                page.keyboard.press("Tab")
            while focused(page) == HEADING_LINK:
                page.keyboard.press("Tab")
        else:
            tab(page)
        assert focused(page) == following


def type_card_with_the_keyboard(page: Page, number: str) -> None:
    """From the card number: the card moves the focus on by itself as each part is complete; Tab then reaches Pay."""
    page.keyboard.type(number)
    wait_for_focus(page, "Credit or debit card expiration date")
    page.keyboard.type("1234")
    wait_for_focus(page, "Credit or debit card CVC/CVV")
    page.keyboard.type("123")
    # As a customer would see it before paying: the card says it is complete (Stripe.js marks its container), which
    # it learns from its frame a moment after the last digit.
    expect(page.locator(".sp-card .StripeElement--complete")).to_be_attached()
    assert tab(page) == PAY


def challenge_has_the_focus(page: Page) -> None:
    """The challenge opened with the focus on its first button, and Tab goes round inside it only."""
    expect(page.locator(CHALLENGE_MODAL)).to_be_visible(timeout=30_000)
    wait_for_focus(page, "Complete")
    stops = [tab(page) for _ in range(4)]
    # Between its last control and its first, the focus may pass the browser's own toolbar (no element of the
    # page): never the page behind the challenge.
    assert set(stops) <= {"Complete", "Fail", "Close", None}, stops
    assert stops[:2] == ["Fail", "Close"] and "Complete" in stops[2:], stops
    tab_to(page, "Complete", most=3)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_keyboard_only_purchase(page: Page, streamlit_app: StreamlitApp, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    details = {**details_for("Grace Hopper"), "Email": f"grace.keyboard.{width}@example.com"}
    open_shop(page, streamlit_app)

    stops = tab_to(page, "Full name")
    assert "Choose" in stops  # the books come first, each with its button
    type_details_with_the_keyboard(page, details)
    type_card_with_the_keyboard(page, THREE_D_SECURE_CARD)

    page.keyboard.press("Enter")
    challenge_has_the_focus(page)
    page.keyboard.press("Enter")  # on Complete
    confirmed_charge_id(page)
    # The Pay button is gone with the form: the confirmation's heading has the focus.
    wait_for_focus(page, "Thank you for your order")


def test_escape_closes_the_challenge_as_a_failure_and_gives_the_focus_back(page: Page, streamlit_app: StreamlitApp):
    page.set_viewport_size({"width": 1280, "height": 900})
    details = {**details_for("Hedy Lamarr"), "Email": "hedy.keyboard@example.com"}
    open_shop(page, streamlit_app)
    fill_details(page, details)
    page.get_by_role("button", name=PAY).focus()
    # Backwards into the card, which Shift+Tab enters at its last input, like any group of fields.
    assert tab(page, shift=True) == "Credit or debit card CVC/CVV"
    assert tab(page, shift=True) == "Credit or debit card expiration date"
    assert tab(page, shift=True) == "Credit or debit card number"
    type_card_with_the_keyboard(page, THREE_D_SECURE_CARD)

    page.keyboard.press("Enter")
    challenge_has_the_focus(page)
    page.keyboard.press("Escape")
    expect(page.locator(CHALLENGE_MODAL)).to_have_count(0)
    # An alert, which a screen reader reads out as it appears, wherever the focus is.
    alert = page.get_by_role("alert").filter(has_text="Your bank could not confirm this payment")
    expect(alert).to_be_visible(timeout=30_000)
    # Back where it was before the challenge took it, and still there once the page has shown the failure.
    wait_for_focus(page, PAY)
    (intent,) = orders_of(streamlit_app, details["Email"])
    assert intent.status == "requires_payment_method"

    page.keyboard.press("Enter")  # pay again, this time completing the check
    challenge_has_the_focus(page)
    page.keyboard.press("Enter")
    confirmed_charge_id(page)
    assert streamlit_app.emulator.client().v1.payment_intents.retrieve(intent.id).status == "succeeded"
