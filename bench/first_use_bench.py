"""Time to a usable page in Chromium, the shop's and the Charges page's beside a bare Streamlit page's.

A bare page (a title and a button) is what Streamlit itself costs on this machine; the shop's time over it is
ours. Runs its own emulator, the shop (`dashboard.py`, emulator mode, a small seeded history so Charges has rows)
and the bare page, each on a free port with a throwaway data directory, in one run:

- warm: servers that have served the page once, and a browser whose cache has their files (a returning
  customer); each sample is a new tab from navigation until the page can be used: the shop's Pay button enabled
  and the card number field inside Stripe's frame editable, the bare page's button enabled. Median of 5, pages
  alternating.
- cold: the first visit to a freshly started server (its script's first run: imports, settings, the store) from
  a browser that has never been there (nothing cached). Median of 3 restarts.
- sign-in -> Charges: from the click on Sign in until the Charges page shows its gross volume. Median of 5.

Ratios are against the bare page measured the same way in the same run.

The moments are taken in the page, not by the assertions that wait for them: each frame (Stripe's card frame
too) notes the instant a watched control becomes usable, on the DOM change that makes it so. Playwright's
assertions poll at 20, 50 and 100 ms and then every 500 ms, so a page usable at 1.2 s could be seen at 1.7 s:
they would add up to half a second to the slower page and nothing to a fast one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Frame, Page, expect, sync_playwright

from bench import report
from tests.support import ROOT, free_port, running_emulator, stop_process
from tests.support_browser import CHROMIUM, CHROMIUM_ARGS, StreamlitApp, emulator_mode_env, start_streamlit

WARM_RUNS, COLD_RUNS = 5, 3
TIMEOUT_MS = 60_000
BARE_PAGE = 'import streamlit as st\n\nst.title("A bare page")\nst.button("Pay", type="primary")\n'
SHOP_PAY, BARE_PAY = "Pay $23.00", "Pay"
CARD_NUMBER = 'input[name="cardnumber"]'
# What each frame watches for, and what a "usable" control is: a button with this text, enabled; the card
# number field, enabled and writable; the Charges page's gross volume, drawn.
WATCHED = [
    {"name": "shop", "selector": "button", "text": SHOP_PAY, "enabled": True},
    {"name": "bare", "selector": "button", "text": BARE_PAY, "enabled": True},
    {"name": "card", "selector": CARD_NUMBER, "enabled": True},
    {"name": "gross", "selector": '[data-testid="stMetric"]', "contains": "Gross volume", "drawn": True},
]
# Installed in every frame of the context before the page's own scripts. Times are epoch milliseconds
# (performance.timeOrigin + now), so the card frame's and the page's compare.
USABLE_AT_SCRIPT = (
    """(() => {
  const watched = WATCHED_JSON;
  const at = (window.__usableAt = {});
  const now = () => performance.timeOrigin + performance.now();
  const usable = (element, watch) =>
    (!watch.text || element.textContent.trim() === watch.text) &&
    (!watch.contains || element.textContent.includes(watch.contains)) &&
    (!watch.enabled || (!element.disabled && !element.readOnly)) &&
    (!watch.drawn || element.getClientRects().length > 0);
  const check = () => {
    for (const watch of watched) {
      if (at[watch.name] === undefined && [...document.querySelectorAll(watch.selector)].some((e) => usable(e, watch)))
        at[watch.name] = now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
  // Signing in loads the next page anew: the click's time is kept where that page can read it.
  document.addEventListener("click", () => sessionStorage.setItem("clickedAt", now()), { capture: true });
})();"""
).replace("WATCHED_JSON", json.dumps(WATCHED))


def _shop_usable(page: Page) -> float:
    pay = page.get_by_role("button", name=SHOP_PAY)
    expect(pay).to_be_enabled(timeout=TIMEOUT_MS)
    frame = page.frame_locator('iframe[name^="__privateStripeFrame"][title="Secure card payment input frame"]')
    expect(frame.locator(CARD_NUMBER)).to_be_editable(timeout=TIMEOUT_MS)
    card_frame = next(frame for frame in page.frames if "elements-inner-card" in frame.url)
    return max(_usable_at(page.main_frame, "shop"), _usable_at(card_frame, "card"))


def _bare_usable(page: Page) -> float:
    expect(page.get_by_role("button", name=BARE_PAY)).to_be_enabled(timeout=TIMEOUT_MS)
    return _usable_at(page.main_frame, "bare")


def _usable_at(frame: Frame, name: str) -> float:
    """The epoch milliseconds at which `frame` saw the watched `name` usable (it has been: the caller waited)."""
    moment = frame.evaluate("(name) => window.__usableAt[name]", name)
    if moment is None:
        raise RuntimeError(f"{frame.url} never noted {name!r} usable, though the browser shows it usable")
    return moment


def _seconds_to_usable(context: BrowserContext, url: str, usable: Callable[[Page], float]) -> float:
    page = context.new_page()
    try:
        page.goto(url)
        usable_at = usable(page)
        return (usable_at - page.evaluate("performance.timeOrigin")) / 1000
    finally:
        page.close()


def _seconds_sign_in_to_charges(browser: Browser, app: StreamlitApp) -> float:
    context = _new_context(browser)  # a visitor not signed in yet
    page = context.new_page()
    try:
        page.goto(f"{app.url}/sign_in")
        field = page.get_by_label("Ops password")
        expect(field).to_be_editable(timeout=TIMEOUT_MS)
        field.fill(app.ops_password)
        page.get_by_role("button", name="Sign in").click()
        gross = page.get_by_test_id("stMetric").filter(has_text="Gross volume").get_by_test_id("stMetricValue")
        expect(gross).to_be_visible(timeout=TIMEOUT_MS)
        clicked_at = float(page.evaluate("sessionStorage.getItem('clickedAt')"))
        return (_usable_at(page.main_frame, "gross") - clicked_at) / 1000
    finally:
        context.close()


def _new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.add_init_script(USABLE_AT_SCRIPT)
    return context


class BarePage:
    """The bare Streamlit page on its own server."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.script = directory / "bare_page.py"
        self.script.write_text(BARE_PAGE)
        self.log = directory / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start_streamlit(self.script, self.port, {}, self.log)

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
        bare = BarePage(Path(tmp) / "bare")
        _seed(shop)
        cold: dict[str, list[float]] = {"shop": [], "bare": []}
        warm: dict[str, list[float]] = {"shop": [], "bare": []}
        signed_in: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = {"shop": (shop, _shop_usable), "bare": (bare, _bare_usable)}
            try:
                for _ in range(COLD_RUNS):
                    for name, (server, usable) in pages.items():
                        server.start()
                        first_visit = _new_context(browser)
                        try:
                            cold[name].append(_seconds_to_usable(first_visit, server.url, usable))
                        finally:
                            first_visit.close()
                            server.stop()
                shop.start()
                bare.start()
                # One browser profile for the warm samples: its cache holds Streamlit's and Stripe.js's files
                # after the first visit, as a returning customer's does.
                returning = _new_context(browser)
                for server, usable in pages.values():
                    _seconds_to_usable(returning, server.url, usable)  # warm-up: the script's first run, the cache
                for _ in range(WARM_RUNS):
                    for name, (server, usable) in pages.items():
                        warm[name].append(_seconds_to_usable(returning, server.url, usable))
                returning.close()
                _seconds_sign_in_to_charges(browser, shop)  # warm-up: the Charges page's first run
                signed_in = [_seconds_sign_in_to_charges(browser, shop) for _ in range(WARM_RUNS)]
            finally:
                shop.stop()
                bare.stop()
                browser.close()
    bare_warm, bare_cold = statistics.median(warm["bare"]), statistics.median(cold["bare"])
    shop_warm, shop_cold = statistics.median(warm["shop"]), statistics.median(cold["shop"])
    to_charges = statistics.median(signed_in)
    report("first_use_bare_page_warm_s_p50", bare_warm, "s")
    report("first_use_shop_warm_s_p50", shop_warm, "s")
    report("first_use_shop_vs_bare_warm_ratio", shop_warm / bare_warm, "x")
    report("first_use_bare_page_cold_s_p50", bare_cold, "s")
    report("first_use_shop_cold_s_p50", shop_cold, "s")
    report("first_use_shop_vs_bare_cold_ratio", shop_cold / bare_cold, "x")
    report("first_use_sign_in_to_charges_s_p50", to_charges, "s")
    report("first_use_sign_in_to_charges_vs_bare_warm_ratio", to_charges / bare_warm, "x")


if __name__ == "__main__":
    main()
