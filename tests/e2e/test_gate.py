"""The finance pages on a server nobody has visited yet: a first request for a finance URL shows no finance content
and no listing of the pages folder, and nothing reachable from that page opens a finance page.

Each test starts its own server, because the hole this guards against exists only before any session has run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support import Emulator, free_port
from tests.support_browser import StreamlitApp, wait_for_app

pytestmark = pytest.mark.e2e

# What a finance page shows when it renders: its heading, or widgets only it has.
FINANCE_TEXT = (
    "Refund a charge",
    "Tick one or more rows in the table to ship or cancel them.",
    "Failed attempts",
    "Gross volume",
    "Refund history",
    "Balance and payouts",
    "Payouts",
    "Open: waiting for your response",
    "Timeline",
    "Order and fulfilment",
)
# Names of files in pages/ that are not public pages: a link to any of them would be the folder listing.
FOLDER_ONLY_NAMES = ("charges", "failures", "refunds", "orders", "dashboard", "ops data", "ops_data")

# Records, from the first byte of the page on, every link text Streamlit's navigation ever showed — so a listing
# that flashes for a moment is caught even if it is gone when the test looks.
RECORD_NAV_LINKS = """
window.__navTexts = new Set();
const record = () => document.querySelectorAll('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"],'
  + ' [data-testid="stTopNavLink"]').forEach((a) => window.__navTexts.add(a.textContent.trim().toLowerCase()));
new MutationObserver(record).observe(document, {subtree: true, childList: true});
"""


@pytest.fixture
def fresh_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """A Streamlit server that no session has visited yet."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("fresh-shop"), emulator)
    app.start()
    yield app
    app.stop()


def assert_no_finance_content(page: Page) -> None:
    for text in FINANCE_TEXT:
        expect(page.get_by_text(text, exact=True)).to_have_count(0)
    shown = page.evaluate("[...window.__navTexts]")
    assert not set(shown) & set(FOLDER_ONLY_NAMES), f"the navigation listed finance files: {shown}"


@pytest.mark.parametrize(
    "path", ["/orders", "/refunds", "/charges", "/failures", "/balance", "/disputes", "/charge?id=ch_123"]
)
def test_first_request_for_a_finance_page_shows_no_finance_content(page: Page, fresh_app: StreamlitApp, path: str):
    page.add_init_script(RECORD_NAV_LINKS)
    page.goto(f"{fresh_app.url}{path}")
    expect(page.locator("h1").first).to_be_visible(timeout=30_000)
    wait_for_app(page)
    assert_no_finance_content(page)
    # In the page's place: the sign-in, which leads back to it (not the shop under "Page not found").
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.locator('input[name="next"]')).to_have_value(path)

    # Every link on the page, followed in the same session, leads to no finance content either.
    hrefs = {
        href
        for href in page.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)")
        if href.startswith(fresh_app.url)
    }
    for href in sorted(hrefs):
        page.goto(href)
        wait_for_app(page)
        assert_no_finance_content(page)


def test_a_customer_reconnecting_after_a_restart_sees_no_folder_listing(page: Page, fresh_app: StreamlitApp):
    page.add_init_script(RECORD_NAV_LINKS)
    page.goto(f"{fresh_app.url}/your_order")
    expect(page.get_by_role("heading", name="Your order")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    assert_no_finance_content(page)
