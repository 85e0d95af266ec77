"""axe-core on every page at desktop and phone widths: no serious or critical violation (WCAG 2.1 A and AA, and
axe's best practices), in the states a customer meets (wrong details, a declined card, the 3-D Secure challenge,
the confirmation) and inside the card's and the challenge's frames, which axe checks as documents of their own."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page, expect

from tests.e2e.test_checkout_intents import CHALLENGE_MODAL, PAY, challenge, error_alert
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    open_shop,
    read_still_page,
    rerun_finished,
    sign_in,
)

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 390)
# URL path -> the heading each finance page opens with.
FINANCE_PAGES = {
    "charges": "Charges",
    "failures": "Failures",
    "refunds": "Refunds",
    "orders": "Orders",
    "disputes": "Disputes",
    "balance": "Balance",
    "developers": "Developers",
    "mailbox": "Mailbox",
}
CARD_FRAME = 'iframe[title="Secure card payment input frame"]'
AXE = Axe()


def serious_violations(target: Page | Frame) -> list[str]:
    """Each serious or critical axe violation of the document as it is now: rule, impact, where, and what."""
    found = AXE.run(target).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]} {v['nodes'][0]['html'][:160]} "
        f"{v['nodes'][0]['failureSummary']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def page_violations(page: Page) -> list[str]:
    """The page's serious or critical violations, checked while no rerun redraws it (its fading text would fail)."""
    return read_still_page(page, lambda: serious_violations(page))


def frame_of(page: Page, selector: str) -> Frame:
    """The document inside the iframe `selector` (the emulator's, on its own origin)."""
    handle = page.locator(selector).element_handle()
    assert handle is not None, selector
    frame = handle.content_frame()
    assert frame is not None, selector
    return frame


def card_violations(page: Page) -> list[str]:
    expect(page.frame_locator(CARD_FRAME).locator('input[name="cardnumber"]')).to_be_editable(timeout=30_000)
    return serious_violations(frame_of(page, CARD_FRAME))


def customer(name: str, width: int) -> dict[str, str]:
    """Details with an email of this test and width, so no purchase looks like a duplicate of another."""
    return {**DETAILS, "Full name": name, "Email": f"{name.split()[0].lower()}.axe.{width}@example.com"}


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def width(request: pytest.FixtureRequest, page: Page) -> int:
    page.set_viewport_size({"width": request.param, "height": 1000})
    return request.param


def test_the_shop_its_card_and_the_customer_pages(page: Page, streamlit_app: StreamlitApp, width: int):
    open_shop(page, streamlit_app)
    assert page_violations(page) == []
    assert card_violations(page) == []

    page.goto(f"{streamlit_app.url}/your_order")
    expect(page.get_by_role("heading", name="Your order")).to_be_visible(timeout=30_000)
    assert page_violations(page) == []

    page.goto(f"{streamlit_app.url}/sign_in")
    expect(page.get_by_label("Ops password")).to_be_editable(timeout=30_000)
    assert page_violations(page) == []


def test_wrong_details_and_a_declined_card(page: Page, streamlit_app: StreamlitApp, width: int):
    open_shop(page, streamlit_app)
    fill_details(page, {**customer("Mary Somerville", width), "Phone": "0000000000", "Postal code": "9720"})
    fill_card(page, "4000 0000 0000 9995")
    with rerun_finished(page):
        page.get_by_role("button", name=PAY).click()
    expect(page.get_by_text("That is not a working phone number")).to_be_visible()
    assert page_violations(page) == []

    fill_details(page, {"Phone": DETAILS["Phone"], "Postal code": DETAILS["Postal code"]})
    page.get_by_role("button", name=PAY).click()
    error_alert(page, "insufficient funds")
    assert page_violations(page) == []

    # A number that fails its checksum: the card shows it in its error colour, inside its frame and under it.
    card = page.frame_locator(CARD_FRAME)
    card.locator('input[name="cardnumber"]').fill("4242 4242 4242 4241")
    card.locator('input[name="exp-date"]').focus()
    expect(page.locator(".sp-card-error")).to_have_text("Your card number is invalid.")
    assert page_violations(page) == []
    assert card_violations(page) == []


def test_the_challenge_and_the_confirmation(page: Page, streamlit_app: StreamlitApp, width: int):
    open_shop(page, streamlit_app)
    fill_details(page, customer("Caroline Herschel", width))
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_role("button", name=PAY).click()
    frame = challenge(page)
    assert serious_violations(page) == []  # the page under the modal (its own run is over: the card waits)
    assert serious_violations(frame_of(page, f"{CHALLENGE_MODAL} iframe")) == []

    frame.get_by_role("button", name="Complete").click()
    confirmed_charge_id(page)
    assert page_violations(page) == []


def test_the_finance_pages(page: Page, streamlit_app: StreamlitApp, width: int):
    # A charge of this test's own, for the charge page.
    open_shop(page, streamlit_app)
    fill_details(page, customer("Emilie du Chatelet", width))
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()
    charge_id = confirmed_charge_id(page)

    sign_in(page, streamlit_app)
    found = {}
    for path, heading in FINANCE_PAGES.items():
        page.goto(f"{streamlit_app.url}/{path}")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=30_000)
        found[path] = page_violations(page)
    # The webhook brings the charge into the shop's copy a moment after the payment.
    page.goto(f"{streamlit_app.url}/charge?id={charge_id}")
    expect(page.get_by_role("heading", name=re.compile(re.escape(charge_id)))).to_be_visible(timeout=30_000)
    found["charge"] = page_violations(page)
    assert found == {path: [] for path in [*FINANCE_PAGES, "charge"]}
