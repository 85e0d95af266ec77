"""Helpers the browser tests share: the Streamlit app under test and the checkout steps in Chromium."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import stripe
from playwright.sync_api import FrameLocator, Locator, Page, WebSocket, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.support import Emulator, free_port, start_process, stop_process, wait_for_http

T = TypeVar("T")

OPS_PASSWORD = "e2e-ops-password"
# Debian's Chromium, as the browser tests and the page bench launch it (Playwright downloads no browser here).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def emulator_mode_env(emulator: Emulator, data_dir: Path) -> dict[str, str]:
    """The environment of an app server in emulator mode against `emulator`, keeping its data in `data_dir`."""
    return {
        "STRIPE_SECRET_KEY": "",  # emulator mode, whatever the developer's shell exports
        "STRIPE_PUBLISHABLE_KEY": "",
        "STRIPE_EMULATOR_HOST": "127.0.0.1",
        "STRIPE_EMULATOR_PORT": str(emulator.port),
        "STRIPE_EMULATOR_DATA_DIR": str(emulator.data_dir),
        "SHOP_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'shop.db'}",
    }


def start_streamlit(script: str | Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`streamlit run script`, headless on 127.0.0.1:`port` with `env`; returns once its health check answers."""
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    proc = start_process([*command, "--browser.gatherUsageStats", "false"], env=env, log=log)
    wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=60, proc=proc)
    return proc


class StreamlitApp:
    """A running Streamlit server of this test session."""

    def __init__(self, port: int, data_dir: Path, emulator: Emulator, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.extra_env = env or {}  # settings of this server only, e.g. CHECKOUT_API
        self.smtp_port = free_port()
        self.data_dir = data_dir
        self.emulator = emulator
        self.url = f"http://127.0.0.1:{port}"
        self.ops_password = OPS_PASSWORD
        self.proc = None

    @property
    def log_path(self) -> Path:
        """The server's output (its log lines and any traceback)."""
        return self.data_dir / "server.log"

    def start(self) -> None:
        env = {
            **emulator_mode_env(self.emulator, self.data_dir),
            "OPS_PASSWORD": OPS_PASSWORD,
            # Its own SMTP server (emails into its own data directory's mailbox), never another test run's.
            "SMTP_URL": "",
            "LOCAL_SMTP_PORT": str(self.smtp_port),
            **self.extra_env,
        }
        self.proc = start_streamlit("dashboard.py", self.port, env, self.log_path)
        self.wait_for_webhook_endpoint()

    @property
    def webhook_url(self) -> str:
        """Where the emulator posts this server's webhooks (see ui.server.own_webhook_url)."""
        return f"http://127.0.0.1:{self.port}/webhooks/stripe"

    def webhook_endpoints(self) -> list:
        """The emulator's webhook endpoints for this server."""
        listed = self.emulator.client().v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter()
        return [endpoint for endpoint in listed if endpoint.url == self.webhook_url]

    def wait_for_webhook_endpoint(self, timeout: float = 30.0) -> None:
        """Wait until the server has registered its webhook endpoint with the emulator (its lifespan does it)."""
        deadline = time.monotonic() + timeout
        while not self.webhook_endpoints():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.url} registered no webhook endpoint within {timeout}s")
            time.sleep(0.05)  # polling interval of a wait-for-condition

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            try:
                for endpoint in self.webhook_endpoints():  # the emulator would retry a stopped server for days
                    self.emulator.client().v1.webhook_endpoints.delete(endpoint.id)
            except stripe.APIConnectionError:
                pass  # the emulator is gone too: nothing will retry


def wait_for_app(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit has finished running the script after the last action."""
    status = page.get_by_test_id("stStatusWidget")
    status.wait_for(state="detached", timeout=timeout_ms)


class ScriptRuns:
    """The script runs a page asked its server for and the runs that ended, read off the page's websocket.

    Streamlit's own test hook (`data-test-script-state`, below) can miss a quick run: when all of a run's messages
    arrive before the browser draws, React renders "running" and "not running" in one update and the attribute
    never changes. The messages themselves (Streamlit's protobufs: a BackMsg asking for a rerun, a ForwardMsg
    saying the script finished) are always there.
    """

    def __init__(self, page: Page) -> None:
        self.events: list[str] = []  # "asked" and "ended", in the order the page sent and received them
        page.on("websocket", self._watch)

    def _watch(self, socket: WebSocket) -> None:
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            self.events.append("asked")

    def _received(self, payload: bytes | str) -> None:
        if not isinstance(payload, bytes):
            return
        message = ForwardMsg.FromString(payload)
        # A run cut short by a newer request is not the end: the newer run is.
        if message.WhichOneof("type") == "script_finished" and (
            message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
        ):
            self.events.append("ended")

    def answered_since(self, mark: int) -> bool:
        """Whether a run was asked for after `mark` (a length of `events`) and a run ended after the last ask."""
        since = self.events[mark:]
        if "asked" not in since:
            return False
        return "ended" in since[len(since) - since[::-1].index("asked") :]


_SCRIPT_RUNS: weakref.WeakKeyDictionary[Page, ScriptRuns] = weakref.WeakKeyDictionary()


def watch_script_runs(page: Page) -> None:
    """Read `page`'s script runs off its websocket from now on (before it opens one): rerun_finished uses them."""
    _SCRIPT_RUNS[page] = ScriptRuns(page)


# After the run's last message: Streamlit's test hook on the app's root ("running", "notRunning", …) says the run
# is over, and no element is left stale (a moved element's old copy).
_RUN_DRAWN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector('[data-testid="stElementContainer"][data-stale="true"]');
}"""

# What rerun_finished saw, for its failure message.
_RUN_SEEN = """() => ({
  scriptState: document.querySelector('[data-testid="stApp"]').getAttribute("data-test-script-state"),
  staleElements: document.querySelectorAll('[data-testid="stElementContainer"][data-stale="true"]').length,
})"""


@contextmanager
def rerun_finished(page: Page, timeout_ms: int = 30_000) -> Iterator[None]:
    """Wait, on leaving the block, until the rerun an action inside it asked for has finished and been drawn.

    A rerun keeps the previous run's elements on the page until it re-sends them, and an element that moved keeps
    its stale copy beside the new one until the run ends (two inputs with one label, for a moment): after this,
    the page shows one run only. Use it around an action that reruns the script (a committed value, a click), on
    a page watched by watch_script_runs (every browser test's `page` is).
    """
    runs = _SCRIPT_RUNS.get(page)
    assert runs is not None, "rerun_finished reads the runs off the page's websocket: call watch_script_runs first"
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    mark = len(runs.events)
    yield
    try:
        deadline = time.monotonic() + timeout_ms / 1000
        while not runs.answered_since(mark):
            if time.monotonic() > deadline:
                raise PlaywrightTimeoutError(f"no run answered: {runs.events[mark:]}")
            page.wait_for_timeout(20)  # polling interval; Playwright delivers the socket's frames meanwhile
        page.wait_for_function(_RUN_DRAWN, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        seen = {**page.evaluate(_RUN_SEEN), "socket": runs.events[mark:]}
        raise AssertionError(f"the action's rerun did not finish: {seen}") from None


# Notes, from now on, whether any element went stale (a rerun, on a webhook's new data say, started redrawing
# the page) or Streamlit's running indicator showed (it fades in during a long run, a fragment's included).
_WATCH_STILL = """() => {
  if (window.__spStillWatch) window.__spStillWatch.disconnect();
  const running = '[data-testid="stStatusWidget"]';
  window.__spMoved = Boolean(document.querySelector(running));
  window.__spStillWatch = new MutationObserver((records) => {
    for (const record of records) {
      const staled = record.type === "attributes" && record.target.getAttribute("data-stale") === "true";
      if (staled || document.querySelector(running)) window.__spMoved = true;
    }
  });
  window.__spStillWatch.observe(document.body, {
    attributes: true, attributeFilter: ["data-stale"], childList: true, subtree: true,
  });
}"""

# Finite CSS transitions and animations still running (an endless one, a spinner, never ends by itself).
_TRANSITIONS_DONE = """() => !document.getAnimations().some(
  (animation) => animation.playState === "running" && animation.effect?.getTiming().iterations !== Infinity
)"""

_MOVED = """() => window.__spMoved || Boolean(document.querySelector('[data-testid="stStatusWidget"]'))"""


def read_still_page(page: Page, read: Callable[[], T], tries: int = 10) -> T:
    """What `read()` finds on the page, read while no rerun redrew it.

    A page that reruns on new data (the finance pages, after a webhook) fades its elements while it redraws
    them, and Streamlit's running indicator fades in during a long run; a reading taken then would judge a
    passing state. So read again, after the run, until one reading saw the page hold still from start to end.
    """
    for _ in range(tries):
        wait_for_app(page)
        page.wait_for_function("""() => !document.querySelector('[data-stale="true"]')""")
        # And no transition still running: an element fading back in after its rerun, or the phone's sidebar
        # sliding shut, is read half-way (a caption's grey blended lighter, a scroll region with its links hidden).
        page.wait_for_function(_TRANSITIONS_DONE)
        page.evaluate(_WATCH_STILL)
        found = read()
        moved = page.evaluate(_MOVED)
        page.evaluate("() => window.__spStillWatch.disconnect()")
        if not moved:
            return found
    raise AssertionError(f"the page was redrawn during each of {tries} readings")


def live(page: Page) -> Locator:
    """The elements the script's current run has drawn: not the stale copies a rerun keeps until it ends."""
    return page.locator('[data-testid="stElementContainer"][data-stale="false"]')


def shop_field(page: Page, label: str) -> Locator:
    """The checkout field labelled `label`, as the current run draws it."""
    return live(page).get_by_label(label, exact=True)


DETAILS = {
    "Full name": "Ada Lovelace",
    "Email": "ada@example.com",
    "Phone": "+44 20 7946 0958",
    "Address line 1": "12 St James's Square",
    "City": "Portland",
    "State / Region": "OR",
    "Postal code": "97205",
}


def open_shop(page: Page, app: StreamlitApp) -> None:
    page.goto(app.url)
    expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Pay $23.00")).to_be_enabled(timeout=30_000)


def fill_details(page: Page, details: dict[str, str]) -> None:
    """Type each of `details` (label: value) into the checkout form.

    Each field is the one the current run drew: while a committed value's rerun redraws the form, the next field
    is taken once the run has drawn it again, never its stale copy.
    """
    for label, value in details.items():
        field = shop_field(page, label)
        field.fill(value)
        field.press("Tab")  # commits the value: Streamlit reruns (unless the value was already the widget's)
        expect(field).to_have_value(value)
    wait_for_app(page)


def fill_card(page: Page, number: str) -> None:
    """Type `number`, a future expiry and a CVC into the Card Element."""
    # The card's frame, not the controller frame Stripe.js adds for confirmCardPayment.
    frame = page.frame_locator('iframe[name^="__privateStripeFrame"][title="Secure card payment input frame"]')
    complete = page.locator('.StripeElement--complete iframe[title="Secure card payment input frame"]')
    # A card typed over a complete one (a retry after a decline): wait for the page to hear the field emptied, so
    # the "complete" awaited below is the new card's and not the old one's still standing.
    frame.locator('input[name="cardnumber"]').fill("")
    expect(complete).not_to_be_attached()
    frame.locator('input[name="cardnumber"]').fill(number)
    frame.locator('input[name="exp-date"]').fill("12 / 34")
    frame.locator('input[name="cvc"]').fill("123")
    # The page learns the card is complete from its frame a moment later (Stripe.js marks the Element's container);
    # a click on Pay before that is refused as an incomplete card.
    expect(complete).to_be_attached()


def payment_frame(page: Page) -> FrameLocator:
    """The shop's Payment Element (Checkout Sessions flow), inside the emulator's frame."""
    return page.frame_locator(".sp-co-payment iframe")


def type_card_in_payment_element(page: Page, number: str) -> None:
    """Type `number`, a future expiry, a CVC and a ZIP into the Payment Element's card tab."""
    frame = payment_frame(page).frame_locator("iframe.card-frame")
    typed = (("Card number", number), ("expiration date", f"12{FUTURE_YY}"), ("CVC", "123"), ("ZIP", "97205"))
    for label, text in typed:
        field = frame.get_by_label(label)
        field.click()
        field.press_sequentially(text)


def confirmed_charge_id(page: Page) -> str:
    expect(page.get_by_text("Total charged: $23.00")).to_be_visible(timeout=30_000)
    code = page.get_by_test_id("stCode").first.inner_text().strip()
    assert re.fullmatch(r"ch_\w+", code), code
    return code


def metric_value(page: Page, label: str):
    """The value of the st.metric whose label starts with `label`, as the page shows it now."""
    # Anchored: the Charges page's "Disputes' effect on net" must not match "Effect on net" while the page changes.
    label_first = re.compile("^" + re.escape(label))
    # Not a stale copy: while a rerun moves elements, Streamlit keeps the old one on the page, marked data-stale.
    fresh = live(page).get_by_test_id("stMetric")
    return fresh.filter(has_text=label_first).get_by_test_id("stMetricValue")


def sidebar_link(page: Page, name: str):
    """The app's own menu entry `name` in the sidebar."""
    return page.get_by_test_id("stSidebar").get_by_role("link", name=name)


def tick_table_row(page: Page, row: int = 0, table_index: int = 0) -> None:
    """Tick row `row` of a selectable st.dataframe: its cells are drawn on a canvas, so click where the row's box is."""
    table = page.get_by_test_id("stDataFrame").nth(table_index)
    expect(table).to_be_visible()
    box = table.bounding_box()
    assert box is not None
    row_height = 35  # Streamlit's default row height; the header row is as tall
    table.click(position={"x": 20, "y": row_height * (row + 1) + row_height / 2})
    wait_for_app(page)


def submit_password(page: Page, password: str) -> None:
    """Type `password` into the sign-in form on the page and send it (the browser posts it to /staff/sign-in)."""
    field = page.get_by_label("Ops password")
    expect(field).to_be_editable(timeout=30_000)
    field.fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    wait_for_app(page)


def sign_in(page: Page, app: StreamlitApp) -> None:
    """Sign in on the sign-in page with the app's ops password; waits for Charges and the finance menu."""
    page.goto(f"{app.url}/sign_in")
    submit_password(page, app.ops_password)
    expect(page).to_have_url(f"{app.url}/charges")
    expect(sidebar_link(page, "Refunds")).to_be_visible(timeout=30_000)


# What the customer types in Stripe's Address Element (the shop's own form asks the email alone in this flow).
ADDRESS = {"line1": "12 St James's Square", "city": "Portland", "state": "OR", "postal_code": "97205"}
PHONE = "+1 415 555 0100"


def fill_address(page: Page, name: str = "Ada Lovelace") -> None:
    frame = page.frame_locator(".sp-co-address iframe")
    frame.get_by_label("Full name").fill(name)
    frame.get_by_label("Country or region").select_option("US")
    frame.get_by_label("Address line 1").fill(ADDRESS["line1"])
    frame.get_by_label("City").fill(ADDRESS["city"])
    frame.get_by_label("State").select_option(ADDRESS["state"])
    frame.get_by_label("ZIP code").fill(ADDRESS["postal_code"])
    frame.get_by_label("Phone number").fill(PHONE)


# The emulator's 3-D Secure challenge, drawn over the whole page as Stripe.js draws it.
CHALLENGE_MODAL = ".__PrivateStripe3DSModal"
FUTURE_YY = f"{(dt.date.today().year + 3) % 100:02d}"  # a card expiry year that stays in the future
