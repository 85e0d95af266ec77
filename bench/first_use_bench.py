"""Time to a usable page in Chromium, the shop's and the Charges page's beside a bare Streamlit page's.

A bare page (a title and a button) is what Streamlit itself costs on this machine; the shop's time over it is
ours. Runs its own emulator, the shop (`dashboard.py`, emulator mode, a small seeded history so Charges has rows)
and the bare page, each on a free port with a throwaway data directory, in one run:

- warm: servers that have served the page once, and a browser whose cache has their files (a returning
  customer); each sample is a new tab from navigation until the page can be used: the shop's Pay button enabled
  and the card number field inside Stripe's frame editable, the bare page's button enabled. Median of 9, pages
  alternating.
- cold: the first visit to a freshly started server (its script's first run: imports, settings, the store) from
  a browser that has never been there (nothing cached). Median of 3 restarts.
- sign-in -> Charges: from the click on Sign in until the Charges page shows its gross volume. Median of 9.
- Charges, warm: a signed-in tab opened on /charges until it shows its gross volume, beside its floor
  (bench/charges_floor_page.py), alternating. Median of 9.

Ratios are against the bare page measured the same way in the same run. Warm, a third page is measured too:
the Streamlit floor (bench/streamlit_floor_page.py), the shop's first view with the same widgets and none of the
shop's own work. Shop over floor is what the shop's code adds; floor over bare is what Streamlit takes to draw
that content.

The moments are taken in the page (bench.page_moments), not by the assertions that wait for them.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from bench import report
from bench.page_moments import Watch, clicked_at, moment, new_context, since_navigation
from tests.support import ROOT, free_port, running_emulator, stop_process
from tests.support_browser import CHROMIUM, CHROMIUM_ARGS, StreamlitApp, emulator_mode_env, start_streamlit

# Nine warm samples: with five, a run's ratio of two pages moved by up to 10% from one run to the next.
WARM_RUNS, COLD_RUNS = 9, 3
TIMEOUT_MS = 60_000
BARE_PAGE = 'import streamlit as st\n\nst.title("A bare page")\nst.button("Pay", type="primary")\n'
# The shop's first view without the shop's own work (see that script): what Streamlit takes to draw its content.
FLOOR_PAGE = ROOT / "bench" / "streamlit_floor_page.py"
CHARGES_FLOOR_PAGE = ROOT / "bench" / "charges_floor_page.py"  # the same for the Charges page
SHOP_PAY, BARE_PAY = "Pay $23.00", "Pay"
CARD_NUMBER = 'input[name="cardnumber"]'
# Usable: the Pay button enabled; the card number field (in Stripe's frame) enabled and writable; the Charges
# page's gross volume drawn, counted from the click on Sign in.
WATCHED = [
    Watch("shop", "button", text=SHOP_PAY, enabled=True),
    Watch("bare", "button", text=BARE_PAY, enabled=True),
    Watch("card", CARD_NUMBER, enabled=True),
    Watch("gross", '[data-testid="stMetric"]', contains="Gross volume", drawn=True),
    Watch("sign_in", "button", text="Sign in", clicked=True),
]


def _shop_usable(page: Page) -> float:
    expect(page.get_by_role("button", name=SHOP_PAY)).to_be_enabled(timeout=TIMEOUT_MS)
    frame = page.frame_locator('iframe[name^="__privateStripeFrame"][title="Secure card payment input frame"]')
    expect(frame.locator(CARD_NUMBER)).to_be_editable(timeout=TIMEOUT_MS)
    card_frame = next(frame for frame in page.frames if "elements-inner-card" in frame.url)
    return max(moment(page.main_frame, "shop"), moment(card_frame, "card"))


def _bare_usable(page: Page) -> float:
    expect(page.get_by_role("button", name=BARE_PAY)).to_be_enabled(timeout=TIMEOUT_MS)
    return moment(page.main_frame, "bare")


def _seconds_to_usable(context: BrowserContext, url: str, usable: Callable[[Page], float]) -> float:
    page = context.new_page()
    try:
        page.goto(url)
        return since_navigation(page, usable(page))
    finally:
        page.close()


def _gross_drawn(page: Page) -> float:
    gross = page.get_by_test_id("stMetric").filter(has_text="Gross volume").get_by_test_id("stMetricValue")
    expect(gross).to_be_visible(timeout=TIMEOUT_MS)
    return moment(page.main_frame, "gross")


def _sign_in(context: BrowserContext, app: StreamlitApp) -> Page:
    """Sign in on a new page of `context`; returns that page once Charges shows its gross volume."""
    page = context.new_page()
    page.goto(f"{app.url}/sign_in")
    field = page.get_by_label("Ops password")
    expect(field).to_be_editable(timeout=TIMEOUT_MS)
    field.fill(app.ops_password)
    page.get_by_role("button", name="Sign in").click()
    _gross_drawn(page)
    return page


def _seconds_sign_in_to_charges(browser: Browser, app: StreamlitApp) -> float:
    context = new_context(browser, WATCHED)  # a visitor not signed in yet
    try:
        page = _sign_in(context, app)
        return (moment(page.main_frame, "gross") - clicked_at(page, "sign_in")) / 1000
    finally:
        context.close()


class PlainPage:
    """A Streamlit page without the shop on its own server: the bare page, or given `script` and `env`, a floor."""

    def __init__(self, directory: Path, script: Path | None = None, env: dict[str, str] | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if script is None:
            script = directory / "bare_page.py"
            script.write_text(BARE_PAGE)
        self.script = script
        self.env = env or {}
        self.log = directory / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start_streamlit(self.script, self.port, self.env, self.log)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def _seed(app: StreamlitApp) -> None:
    """A small history, so the Charges page has its KPIs, chart and table to draw."""
    env = emulator_mode_env(app.emulator, app.data_dir)
    command = [sys.executable, "-m", "shop.seed", "--if-empty", "--days", "30", "--orders", "60"]
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)


def main() -> None:
    """Print the warm and cold medians of both pages, sign-in -> Charges, and their ratios to the bare page."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "emulator") as emulator:
        shop = StreamlitApp(free_port(), Path(tmp) / "shop", emulator)
        shop.data_dir.mkdir(parents=True)
        bare = PlainPage(Path(tmp) / "bare")
        floor_dir = Path(tmp) / "floor"
        floor = PlainPage(floor_dir, FLOOR_PAGE, emulator_mode_env(emulator, floor_dir))
        charges_floor = PlainPage(Path(tmp) / "charges_floor", CHARGES_FLOOR_PAGE)
        _seed(shop)
        cold: dict[str, list[float]] = {"shop": [], "bare": []}
        warm: dict[str, list[float]] = {"shop": [], "bare": [], "floor": [], "charges": [], "charges_floor": []}
        signed_in: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = {"shop": (shop, _shop_usable), "bare": (bare, _bare_usable)}
            try:
                for _ in range(COLD_RUNS):
                    for name, (server, usable) in pages.items():
                        server.start()
                        first_visit = new_context(browser, WATCHED)
                        try:
                            cold[name].append(_seconds_to_usable(first_visit, server.url, usable))
                        finally:
                            first_visit.close()
                            server.stop()
                shop.start()
                bare.start()
                floor.start()
                pages["floor"] = (floor, _shop_usable)  # warm only: it tells the shop's code from Streamlit's
                # One browser profile for the warm samples: its cache holds Streamlit's and Stripe.js's files
                # after the first visit, as a returning customer's does.
                returning = new_context(browser, WATCHED)
                for server, usable in pages.values():
                    _seconds_to_usable(returning, server.url, usable)  # warm-up: the script's first run, the cache
                for _ in range(WARM_RUNS):
                    for name, (server, usable) in pages.items():
                        warm[name].append(_seconds_to_usable(returning, server.url, usable))
                returning.close()
                _seconds_sign_in_to_charges(browser, shop)  # warm-up: the Charges page's first run
                signed_in = [_seconds_sign_in_to_charges(browser, shop) for _ in range(WARM_RUNS)]
                charges_floor.start()
                staff = new_context(browser, WATCHED)
                _sign_in(staff, shop).close()
                finance = {"charges": f"{shop.url}/charges", "charges_floor": charges_floor.url}
                for url in finance.values():
                    _seconds_to_usable(staff, url, _gross_drawn)  # warm-up
                for _ in range(WARM_RUNS):
                    for name, url in finance.items():
                        warm[name].append(_seconds_to_usable(staff, url, _gross_drawn))
                staff.close()
            finally:
                shop.stop()
                bare.stop()
                floor.stop()
                charges_floor.stop()
                browser.close()
    bare_warm, bare_cold = statistics.median(warm["bare"]), statistics.median(cold["bare"])
    shop_warm, shop_cold = statistics.median(warm["shop"]), statistics.median(cold["shop"])
    to_charges = statistics.median(signed_in)
    report("first_use_bare_page_warm_s_p50", bare_warm, "s")
    report("first_use_shop_warm_s_p50", shop_warm, "s")
    report("first_use_shop_vs_bare_warm_ratio", shop_warm / bare_warm, "x")
    floor_warm = statistics.median(warm["floor"])
    report("first_use_streamlit_floor_warm_s_p50", floor_warm, "s")
    report("first_use_streamlit_floor_vs_bare_warm_ratio", floor_warm / bare_warm, "x")
    report("first_use_shop_vs_streamlit_floor_warm_ratio", shop_warm / floor_warm, "x")
    report("first_use_bare_page_cold_s_p50", bare_cold, "s")
    report("first_use_shop_cold_s_p50", shop_cold, "s")
    report("first_use_shop_vs_bare_cold_ratio", shop_cold / bare_cold, "x")
    report("first_use_sign_in_to_charges_s_p50", to_charges, "s")
    report("first_use_sign_in_to_charges_vs_bare_warm_ratio", to_charges / bare_warm, "x")
    charges_warm, charges_floor_warm = statistics.median(warm["charges"]), statistics.median(warm["charges_floor"])
    report("first_use_charges_warm_s_p50", charges_warm, "s")
    report("first_use_charges_floor_warm_s_p50", charges_floor_warm, "s")
    report("first_use_charges_floor_vs_bare_warm_ratio", charges_floor_warm / bare_warm, "x")
    report("first_use_charges_vs_floor_warm_ratio", charges_warm / charges_floor_warm, "x")


if __name__ == "__main__":
    main()
