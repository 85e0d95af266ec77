"""In Chromium: a click on a row of the Charges table opens that charge's detail, with its fee and timeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from shop.money import format_amount
from shop.schema import charges
from tests.support import Emulator, free_port, wait_until
from tests.support_browser import StreamlitApp, metric_value, sidebar_link, sign_in, wait_for_app

pytestmark = pytest.mark.e2e


ROW_MARKER_X = 18  # the row-selection marker column at the grid's left edge
HEADER_PX = 36  # the grid's header row; a row is as tall
CLICKS = 3


@pytest.fixture(scope="module")
def detail_app(private_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """A server on an emulator of this module: the sync reads Stripe's events from its cursor on, and a test that
    moved the session emulator's clock ahead leaves events dated later than the ones these tests make."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop-charge-detail"), private_emulator)
    app.start()
    yield app
    app.stop()


def stored_fee(app: StreamlitApp, charge_id: str) -> int | None:
    """The Stripe fee of the charge in the app's local copy (None until synced)."""
    engine = sa.create_engine(f"sqlite:///{app.data_dir / 'shop.db'}")
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(charges.c.fee).where(charges.c.id == charge_id)).scalar()
    finally:
        engine.dispose()


def click_first_row(page: Page) -> None:
    """Select the first row of the page's last table, which opens the charge detail. A webhook arriving just then
    reruns the page and may redraw the grid under the click, or hide it for the moment of the redraw: the click is
    tried again (up to CLICKS times)."""
    for attempt in range(CLICKS):
        wait_for_app(page)
        grid = page.get_by_test_id("stDataFrame").last
        expect(grid).to_be_visible(timeout=30_000)
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        if box is None:  # detached or hidden between the wait and the measure: the page was redrawn
            assert attempt < CLICKS - 1, "the table never stayed on the page long enough to be clicked"
            continue
        page.mouse.click(box["x"] + ROW_MARKER_X, box["y"] + HEADER_PX + HEADER_PX / 2)
        try:
            expect(page).to_have_url(re.compile(r"/charge\?id="), timeout=10_000)
            return
        except AssertionError:
            if attempt == CLICKS - 1:
                raise


def test_a_click_on_a_charges_row_opens_its_detail_with_the_timeline(
    page: Page, detail_app: StreamlitApp, tmp_path: Path
):
    api = detail_app.emulator.client()
    charge = api.v1.charges.create(
        params={"amount": 4321, "currency": "usd", "source": "tok_visa", "receipt_email": "row@example.com"}
    )
    api.v1.refunds.create(params={"charge": charge.id, "amount": 321})
    fee = api.v1.balance_transactions.retrieve(charge.balance_transaction).fee

    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, detail_app)
    sidebar_link(page, "Charges").click()
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()  # the charge is seconds old
    wait_for_app(page)
    expect(page.get_by_text("Net after fees").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "charges.png"), full_page=True)
    # A sync already under way (the app's own, or a webhook's) takes the click's place: its fee arrives with it.
    wait_until(lambda: stored_fee(detail_app, charge.id) == fee, "the charge's fee never reached the local copy")

    click_first_row(page)  # the charges table, newest first: ours on top

    expect(page.get_by_text(f"{charge.id} · partially refunded")).to_be_visible(timeout=30_000)
    assert page.url.endswith(f"/charge?id={charge.id}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text("charge.succeeded", exact=True)).to_be_visible()
    expect(page.get_by_text("charge.refunded", exact=True)).to_be_visible()
    stripe_fee = page.get_by_test_id("stMetric").filter(has_text="Stripe fee")
    expect(stripe_fee).to_contain_text(format_amount(fee))
    page.screenshot(path=str(tmp_path / "charge.png"), full_page=True)

    # Back on Charges, the selection that opened the detail is not replayed.
    page.get_by_role("link", name="Back to Charges").last.click()
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Charges")).to_be_visible()
    assert "/charge?" not in page.url


def test_a_click_on_a_refund_history_row_opens_the_refunded_charge(page: Page, detail_app: StreamlitApp):
    api = detail_app.emulator.client()
    charge = api.v1.charges.create(params={"amount": 2500, "currency": "usd", "source": "tok_visa"})
    api.v1.refunds.create(params={"charge": charge.id, "amount": 2500})

    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, detail_app)
    sidebar_link(page, "Refunds").click()
    expect(page.get_by_role("heading", name="Refund history")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()
    wait_for_app(page)
    click_first_row(page)  # the history, newest first: this refund on top

    expect(page.get_by_text(f"{charge.id} · refunded")).to_be_visible(timeout=30_000)


def test_a_charge_is_refunded_from_its_own_page(page: Page, detail_app: StreamlitApp, tmp_path: Path):
    api = detail_app.emulator.client()
    charge = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "receipt_email": "own.page@example.com"}
    )
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, detail_app)
    sidebar_link(page, "Charges").click()
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()  # the charge is seconds old
    wait_for_app(page)
    expect(page.get_by_text("Net after fees").first).to_be_visible()
    click_first_row(page)
    expect(page.get_by_text(f"{charge.id} · succeeded")).to_be_visible(timeout=30_000)
    wait_for_app(page)

    page.get_by_text("Refund (up to $23.00)").click()
    page.get_by_text("Part of it").click()
    page.get_by_label("Amount ($) — for a partial refund").fill("5")
    page.get_by_role("button", name="Refund…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Refund $5.00 of charge {charge.id}", timeout=30_000)
    page.screenshot(path=str(tmp_path / "charge-refund-1280.png"), full_page=True)
    dialog.get_by_role("button", name="Refund $5.00").click()

    expect(page.get_by_text(f"Refunded $5.00 of {charge.id}")).to_be_visible(timeout=30_000)
    assert api.v1.charges.retrieve(charge.id).amount_refunded == 500
    expect(page.get_by_text("Refund (up to $18.00)")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.screenshot(path=str(tmp_path / "charge-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 900})
    expect(sidebar_link(page, "Charges")).not_to_be_in_viewport()  # the menu folded away at 390 px
    # Where the page is scrolled after the resize is the browser's; that it is there at phone width is ours.
    expect(page.get_by_text("Refund (up to $18.00)")).to_be_visible()
    page.screenshot(path=str(tmp_path / "charge-390.png"), full_page=True)

    # The refund is in the history, with the period's total.
    page.set_viewport_size({"width": 1280, "height": 1000})
    sidebar_link(page, "Refunds").click()
    expect(page.get_by_role("heading", name="Refund history")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(metric_value(page, "Refunded in the period")).to_be_visible()
    page.get_by_role("heading", name="Refund history").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "refunds-1280.png"))
    page.set_viewport_size({"width": 390, "height": 900})
    expect(sidebar_link(page, "Charges")).not_to_be_in_viewport()
    page.get_by_role("heading", name="Refund history").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "refunds-390.png"))
