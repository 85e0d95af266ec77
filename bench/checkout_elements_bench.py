"""Time to an interactive payment form in Chromium: the Payment Element (with the Address Element, on a Checkout
Session: components/checkout_elements) vs. the Card Element (components/elements_card).

Runs its own emulator on a free port with a throwaway data directory and the two small component pages of
tests/component_apps, each on its own Streamlit server. One sample is a fresh browser page going to the page until
the card number field inside Stripe's frame can be typed in (the Payment Element's page also creates its Checkout
Session on the server, as the shop's will). The two pages alternate, after one warm-up each; each figure is the
median of 5 from the same run, and their ratio.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench import report
from tests.component_apps import ComponentApp
from tests.support import free_port, running_emulator
from tests.support_browser import CHROMIUM, CHROMIUM_ARGS

RUNS = 5
TIMEOUT_MS = 60_000


def _payment_element_field(page: Page):
    payment = page.frame_locator(".sp-co-payment iframe")
    return payment.frame_locator("iframe.card-frame").get_by_label("Card number")


def _card_element_field(page: Page):
    frame = page.frame_locator('iframe[name^="__privateStripeFrame"][title="Secure card payment input frame"]')
    return frame.locator('input[name="cardnumber"]')


def _seconds_to_interactive(browser, url: str, field_of) -> float:
    """Seconds from navigating a new page to `url` until its card number field is editable."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        started = time.perf_counter()
        page.goto(url)
        field_of(page).wait_for(state="visible", timeout=TIMEOUT_MS)
        field_of(page).click(timeout=TIMEOUT_MS)  # clickable: not covered, not disabled
        return time.perf_counter() - started
    finally:
        page.close()


def main() -> None:
    """Print the medians of both forms' time to interactive and their ratio."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "emulator") as emulator:
        checkout = ComponentApp("checkout_elements_app.py", free_port(), Path(tmp) / "checkout", emulator)
        card = ComponentApp("elements_card_app.py", free_port(), Path(tmp) / "card", emulator)
        checkout.start()
        card.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = {
                    "payment_element": (f"{checkout.url}/?session_id=new", _payment_element_field),
                    "card_element": (card.url, _card_element_field),
                }
                samples: dict[str, list[float]] = {name: [] for name in pages}
                for url, field_of in pages.values():
                    _seconds_to_interactive(browser, url, field_of)  # warm-up: Streamlit's and Stripe.js's caches
                for _ in range(RUNS):
                    for name, (url, field_of) in pages.items():
                        samples[name].append(_seconds_to_interactive(browser, url, field_of))
                browser.close()
        finally:
            checkout.stop()
            card.stop()
    payment = statistics.median(samples["payment_element"])
    card_s = statistics.median(samples["card_element"])
    report("checkout_payment_element_interactive_s_p50", payment, "s")
    report("checkout_card_element_interactive_s_p50", card_s, "s")
    report("checkout_payment_vs_card_element_interactive_ratio", payment / card_s, "x")


if __name__ == "__main__":
    main()
