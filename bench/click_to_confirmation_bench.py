"""Click on Pay -> the confirmation, for a 4242 card in each of the shop's three integrations, in Chromium.

Runs its own emulator and one shop server (emulator mode, so the shop page's Integration switch offers all three)
on free ports with a throwaway data directory. Each sample is a new browser page: the details typed (an email of
its own, so no "buy it again?" question), the integration chosen, the card typed (in the Card Element, or for
Checkout Sessions in the Payment Element after "Continue to payment"); the clock runs from the click on Pay until
the confirmation shows the order's total. The integrations alternate; each figure is the median of 10 from the same
run, and the Checkout Sessions and Charges figures are also given as ratios to PaymentIntents (the default). Both
moments are taken in the page (bench.page_moments), not by the assertions that wait for them.
"""

from __future__ import annotations

import re
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench import report
from bench.page_moments import Watch, clicked_at, moment, new_context
from shop.checkout import integrations
from tests.support import free_port, running_emulator
from tests.support_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DETAILS,
    StreamlitApp,
    fill_address,
    fill_card,
    fill_details,
    open_shop,
    type_card_in_payment_element,
)

RUNS = 10
TIMEOUT_MS = 60_000
PAY_TEXT = "Pay $23.00"
PAY = re.compile(f"^{re.escape(PAY_TEXT)}")  # the button's name starts with its label
THANKS = "Thank you for your order"
WATCHED = [Watch("pay", "button", prefix=PAY_TEXT, clicked=True), Watch("thanks", "h1", contains=THANKS, drawn=True)]


def _ready_to_pay(page: Page, api: str, sample: int) -> None:
    """Everything before the click: details, integration, card."""
    fill_details(page, {**DETAILS, "Email": f"bench.{api}.{sample}@example.com"})
    if api != "payment_intents":
        page.get_by_role("combobox", name="Integration (demo)").click()
        page.get_by_role("option", name=integrations.name_of(api)).click()
    if api == "checkout_sessions":
        page.get_by_role("button", name="Continue to payment").click()
        fill_address(page)  # Stripe's Address Element asks the name, address and phone in this flow
        type_card_in_payment_element(page, "4242424242424242")
    else:
        fill_card(page, "4242424242424242")
    expect(page.get_by_role("button", name=PAY)).to_be_enabled(timeout=TIMEOUT_MS)


def _seconds_to_confirmation(browser: Browser, app: StreamlitApp, api: str, sample: int) -> float:
    context = new_context(browser, WATCHED)
    page = context.new_page()
    try:
        open_shop(page, app)
        _ready_to_pay(page, api, sample)
        page.get_by_role("button", name=PAY).click()
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=TIMEOUT_MS)
        return (moment(page.main_frame, "thanks") - clicked_at(page, "pay")) / 1000
    finally:
        context.close()


def main() -> None:
    """Print each integration's median click -> confirmation and the two ratios to PaymentIntents."""
    apis = ("payment_intents", "charges", "checkout_sessions")
    samples: dict[str, list[float]] = {api: [] for api in apis}
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "emulator") as emulator:
        app = StreamlitApp(free_port(), Path(tmp) / "shop", emulator)
        app.data_dir.mkdir(parents=True)
        app.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for api in apis:
                    _seconds_to_confirmation(browser, app, api, -1)  # warm-up: each flow's first run
                for sample in range(RUNS):
                    for api in apis:
                        samples[api].append(_seconds_to_confirmation(browser, app, api, sample))
                browser.close()
        finally:
            app.stop()
    medians = {api: statistics.median(values) for api, values in samples.items()}
    for api in apis:
        report(f"click_to_confirmation_{api}_s_p50", medians[api], "s")
    for api in ("charges", "checkout_sessions"):
        report(f"click_to_confirmation_{api}_vs_payment_intents_ratio", medians[api] / medians["payment_intents"], "x")


if __name__ == "__main__":
    main()
