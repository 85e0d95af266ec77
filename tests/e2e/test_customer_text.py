"""Text a customer typed stays text on every page: no link, image or HTML from it in the DOM of a staff page."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from shop import catalog, orders, refund_requests
from shop.checkout import charges
from tests.support import use_emulator
from tests.support_browser import StreamlitApp, sidebar_link, sign_in, tick_table_row, wait_for_app

pytestmark = pytest.mark.e2e


def payloads(emulator_url: str) -> dict[str, str]:
    """Markdown and HTML that would become a link, a remote image or markup if rendered."""
    pixel = f"{emulator_url}/_emulator/health?pixel=1"
    return {
        "name": f"[Approve refund](https://evil.example/x) ![t]({pixel})",
        "line1": "<a href='https://evil.example/h'>click</a> <img src='" + pixel + "'>",
        "line2": "**bold** _it_ :red[red] https://evil.example/auto www.evil.example",
        "city": f"<b>Springfield</b> [c](https://evil.example/c) ![c]({pixel})",
        "state": "`code`",
        "reason": f"Broken spine. [Refund me here](https://evil.example/r) ![r]({pixel}) <img src='{pixel}'>",
    }


def assert_inert(page: Page) -> None:
    """No element made from customer text: no link to the attacker's host, no image fetching the pixel."""
    wait_for_app(page)
    expect(page.locator('a[href*="evil.example"]')).to_have_count(0)
    expect(page.locator('img[src*="pixel=1"]')).to_have_count(0)
    expect(page.locator("main b, main strong", has_text="Springfield")).to_have_count(0)


@pytest.fixture
def hostile_orders(streamlit_app: StreamlitApp, monkeypatch: pytest.MonkeyPatch) -> dict[str, orders.Order]:
    """A shipped, paid order with a refund request, and an unshipped paid order, all fields hostile."""
    use_emulator(monkeypatch, streamlit_app.emulator, streamlit_app.data_dir)
    text = payloads(streamlit_app.emulator.url)
    made = {}
    for label in ("shipped", "unshipped"):
        customer = orders.Customer(
            name=text["name"],
            email=f"=1+1-{label}-{uuid.uuid4().hex[:6]}@example.com",
            phone="+1 757 555 0100",
            line1=text["line1"],
            line2=text["line2"],
            city=text["city"],
            state=text["state"],
            postal_code="23681",
            country="US",
        )
        order = orders.create_order(customer, catalog.priced_line("art-of-doing-science", 1))
        assert charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex).succeeded
        made[label] = order
    orders.mark_shipped(made["shipped"].id)
    refund_requests.request_refund(made["shipped"].id, made["shipped"].customer.email, text["reason"])
    return made


def test_customer_text_is_inert_on_every_staff_page(
    page: Page, streamlit_app: StreamlitApp, hostile_orders: dict[str, orders.Order]
):
    shipped, unshipped = hostile_orders["shipped"], hostile_orders["unshipped"]
    sign_in(page, streamlit_app)
    for name in ("Charges", "Failures"):
        sidebar_link(page, name).click()
        expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Sync now").click()
        assert_inert(page)

    sidebar_link(page, "Refunds").click()
    expect(page.get_by_role("heading", name="Refund a charge")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Sync now").click()
    wait_for_app(page)
    expect(page.get_by_text("Broken spine. [Refund me here]")).to_be_visible()  # shown, as typed
    assert_inert(page)
    search = page.get_by_label("Find a charge")
    search.fill(shipped.customer.email)
    search.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("Can still be refunded")).to_be_visible()
    assert_inert(page)
    page.get_by_role("button", name="Refund…").click()
    expect(page.get_by_role("dialog")).to_be_visible(timeout=30_000)
    assert_inert(page)
    page.get_by_role("dialog").get_by_role("button", name="Keep the money").click()

    sidebar_link(page, "Orders").click()
    expect(page.get_by_text("Tick one or more rows in the table to ship or cancel them.")).to_be_visible(timeout=30_000)
    assert_inert(page)
    page.get_by_role("textbox", name="Search").fill(unshipped.id)
    page.get_by_role("textbox", name="Search").press("Enter")
    wait_for_app(page)
    tick_table_row(page, 0)
    expect(page.get_by_text(f"Selected: {unshipped.id}")).to_be_visible()
    page.get_by_role("button", name="Cancel order").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("[Approve refund](https://evil.example/x)", exact=False)).to_be_visible(timeout=30_000)
    assert_inert(page)
    dialog.get_by_role("button", name="Keep the order").click()


def test_customer_text_is_inert_on_your_order(page: Page, streamlit_app: StreamlitApp, hostile_orders):
    order = hostile_orders["unshipped"]
    page.goto(f"{streamlit_app.url}/your_order")
    number = page.get_by_label("Order number")
    expect(number).to_be_editable(timeout=30_000)
    wait_for_app(page)
    number.fill(order.id)
    page.get_by_label("Email").fill(order.customer.email)
    page.get_by_role("button", name="Find my order").click()
    wait_for_app(page)
    expect(page.get_by_text("<b>Springfield</b>", exact=False)).to_be_visible()
    assert_inert(page)
