"""Disputes and capture at shipment in Chromium, end to end through the real Card Element and the emulator.

A purchase with the dispute test card 4000 0000 0000 0259 is disputed; staff answer it on the Disputes page with
`winning_evidence` and a receipt (uploaded through the Files API), confirmed in a dialog; the bank's decision
reaches the open page by webhook and the disputes' effect on net is back to zero. With CAPTURE=at_shipment a
checkout only authorizes, and "Mark shipped" on Orders captures.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support import Emulator, free_port
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    metric_value,
    open_shop,
    sidebar_link,
    sign_in,
    wait_for_app,
)
from tests.support_files import png

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def capturing_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """A server of its own with CAPTURE=at_shipment (a setting read once per process)."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop-capture"), emulator, env={"CAPTURE": "at_shipment"})
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def disputes_app(private_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """A server on an emulator of this module: the Disputes page's effect on net sums every dispute Stripe has in
    its period, and the session emulator holds the disputes of whatever tests ran before on this worker."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop-disputes"), private_emulator)
    app.start()
    yield app
    app.stop()


def tick_first_row(page: Page, grid) -> None:
    """Tick the first row's box of a selectable st.dataframe (drawn on a canvas: clicked by position)."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the row-marker column, under the 35 px header
    wait_for_app(page)


def pay(page: Page, app: StreamlitApp, number: str, name: str) -> None:
    details = {**DETAILS, "Full name": name, "Email": f"{uuid.uuid4().hex[:10]}@example.com"}
    open_shop(page, app)
    fill_details(page, details)
    fill_card(page, number)
    page.get_by_role("button", name="Pay $23.00").click()


def test_a_disputed_purchase_is_answered_with_winning_evidence_and_won(page: Page, disputes_app: StreamlitApp):
    api = disputes_app.emulator.client()
    pay(page, disputes_app, "4000 0000 0000 0259", "Katherine Johnson")
    charge_id = confirmed_charge_id(page)

    sign_in(page, disputes_app)
    sidebar_link(page, "Disputes").click()
    expect(page.get_by_role("heading", name="Disputes")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()  # the dispute opened seconds ago
    wait_for_app(page)
    [dispute] = api.v1.disputes.list(params={"charge": charge_id}).data
    expect(page.get_by_text(f"Respond to {dispute.id}")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Customer name")).to_have_value("Katherine Johnson")
    expect(page.get_by_label("Shipping address")).to_have_value(re.compile("12 St James's Square"))
    expect(metric_value(page, "Effect on net")).to_have_text("-$38.00")

    page.get_by_label("Anything else for the bank").fill("winning_evidence")
    receipt = page.get_by_test_id("stFileUploader").filter(has_text="Receipt")
    receipt.locator("input[type=file]").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": png(8, 8)}
    )
    expect(receipt.get_by_text("receipt.png")).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="Submit evidence to the bank").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Stripe takes one submission")).to_be_visible(timeout=10_000)
    expect(dialog.get_by_text("receipt.png")).to_be_visible()
    dialog.get_by_role("button", name="Submit to the bank").click()
    expect(page.get_by_text(f"Evidence for {dispute.id} submitted")).to_be_visible(timeout=30_000)
    assert api.v1.files.retrieve(api.v1.disputes.retrieve(dispute.id).evidence.receipt).filename == "receipt.png"

    # The bank's decision arrives by webhook; the open page reruns by itself.
    expect(metric_value(page, "Effect on net")).to_have_text("$0.00", timeout=15_000)
    expect(page.get_by_text("No dispute is waiting for a response.")).to_be_visible()
    won = api.v1.disputes.retrieve(dispute.id)
    assert won.status == "won"
    assert sum(txn.net for txn in won.balance_transactions) == 0  # the amount and the fee reinstated


def test_capture_at_shipment_authorizes_at_checkout_and_captures_on_mark_shipped(
    page: Page, capturing_app: StreamlitApp
):
    api = capturing_app.emulator.client()
    pay(page, capturing_app, "4242 4242 4242 4242", "Annie Easley")
    expect(page.get_by_text("Total authorized: $23.00")).to_be_visible(timeout=30_000)
    charge_id = page.get_by_test_id("stCode").first.inner_text().strip()
    charge = api.v1.charges.retrieve(charge_id)
    assert (charge.captured, charge.amount_captured) == (False, 0)
    order_id = charge.metadata["order_id"]

    sign_in(page, capturing_app)
    sidebar_link(page, "Orders").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    search = page.get_by_role("textbox", name="Search")
    search.fill(order_id)
    search.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("1 order", exact=True)).to_be_visible()
    tick_first_row(page, page.get_by_test_id("stDataFrame").first)
    expect(page.get_by_text(f"Selected: {order_id}")).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.get_by_text(f"Order {order_id} marked shipped.")).to_be_visible(timeout=30_000)

    charge = api.v1.charges.retrieve(charge_id)
    assert (charge.captured, charge.amount_captured) == (True, 2300)
    assert api.v1.payment_intents.retrieve(charge.payment_intent).status == "succeeded"
