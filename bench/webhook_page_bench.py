"""`python -m bench.webhook_page_bench`: from an SDK call to the open Charges page showing it, through a webhook.

Starts its own emulator and app server (`streamlit run dashboard.py`, emulator mode, throwaway data), opens the
Charges page signed in in Chromium, filtered to one customer, then WEBHOOK_BENCH_EVENTS times (default 20): creates
a charge for that customer through the SDK and waits for the page's "N charges match" line under the table to
count it; then refunds $1.00 of the last of them the same number of times, waiting each time for the page's
"Refunded" card to show the new total. Prints `bench: webhook_event_to_page_s_p50` and `_p90`, and
`webhook_refund_to_page_s_p50` and `_p90` (each from just before the SDK call, whose own time is included, to the
moment the page drew the change, taken in the page by bench.page_moments rather than by Playwright's polling).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bench import report
from bench.page_moments import Watch, moment, new_context
from tests.support import free_port, running_emulator
from tests.support_browser import CHROMIUM, CHROMIUM_ARGS, StreamlitApp, metric_value, sign_in, wait_for_app

EVENTS = int(os.environ.get("WEBHOOK_BENCH_EVENTS", "20"))
# The page showing the n-th charge ("n charges match: pick one.") and the n-th dollar refunded.
WATCHED = [Watch(f"matched_{n}", "p", prefix=f"{n} charges match") for n in range(1, EVENTS + 1)] + [
    Watch(f"refunded_{n}", '[data-testid="stMetric"]', prefix="Refunded", contains=f"${n}.00", retext=True)
    for n in range(1, EVENTS + 1)
]


def _now_ms() -> float:
    """Epoch milliseconds, the clock of the page's moments."""
    return time.time() * 1000


def main() -> None:
    """Measure EVENTS charges from the SDK call to the page counting them; print p50 and p90."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "emulator") as emulator:
        (Path(tmp) / "shop").mkdir()
        app = StreamlitApp(free_port(), Path(tmp) / "shop", emulator)
        app.start()
        try:
            api = emulator.client()
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            seconds = []
            refund_seconds = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = new_context(browser, WATCHED).new_page()
                sign_in(page, app)
                wait_for_app(page)
                customer = page.get_by_label("Customer")
                customer.fill(email)
                customer.press("Enter")
                wait_for_app(page)
                for number in range(1, EVENTS + 1):
                    started = _now_ms()
                    api.v1.charges.create(
                        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "receipt_email": email}
                    )
                    expect(page.get_by_text(f"{number} charges match")).to_be_visible(timeout=30_000)
                    seconds.append((moment(page.main_frame, f"matched_{number}") - started) / 1000)
                last = api.v1.charges.list(params={"limit": 1}).data[0]
                for number in range(1, EVENTS + 1):
                    started = _now_ms()
                    api.v1.refunds.create(params={"charge": last.id, "amount": 100})  # as from the Dashboard
                    expect(metric_value(page, "Refunded")).to_have_text(f"${number}.00", timeout=30_000)
                    refund_seconds.append((moment(page.main_frame, f"refunded_{number}") - started) / 1000)
                browser.close()
        finally:
            app.stop()
    cuts = statistics.quantiles(seconds, n=10, method="inclusive")
    report("webhook_event_to_page_s_p50", statistics.median(seconds), "s")
    report("webhook_event_to_page_s_p90", cuts[8], "s")
    cuts = statistics.quantiles(refund_seconds, n=10, method="inclusive")
    report("webhook_refund_to_page_s_p50", statistics.median(refund_seconds), "s")
    report("webhook_refund_to_page_s_p90", cuts[8], "s")


if __name__ == "__main__":
    main()
