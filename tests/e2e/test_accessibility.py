"""axe-core on every page at desktop and phone widths: no serious or critical violation (WCAG 2.1 A and AA)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.support_browser import StreamlitApp, open_shop, sidebar_link, sign_in, wait_for_app

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 390)
FINANCE_PAGES = ("Charges", "Failures", "Refunds", "Orders", "Disputes", "Balance and payouts", "Developers")
AXE = Axe()


def serious_violations(page: Page) -> list[str]:
    """Each serious or critical axe violation on the page as it is now: rule, impact and where."""
    wait_for_app(page)
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]} {v['nodes'][0]['failureSummary']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_shop_and_the_sign_in_page(page: Page, streamlit_app: StreamlitApp, width: int):
    page.set_viewport_size({"width": width, "height": 1000})
    open_shop(page, streamlit_app)
    assert serious_violations(page) == []
    page.goto(f"{streamlit_app.url}/sign_in")
    expect(page.get_by_label("Ops password")).to_be_editable(timeout=30_000)
    assert serious_violations(page) == []


def test_the_finance_pages(page: Page, streamlit_app: StreamlitApp):
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, streamlit_app)
    found = {}
    for name in FINANCE_PAGES:
        sidebar_link(page, name).click()
        expect(page.get_by_role("heading", name=name.split(" and ")[0], exact=False).first).to_be_visible(
            timeout=30_000
        )
        found[name] = serious_violations(page)
    assert found == {name: [] for name in FINANCE_PAGES}
