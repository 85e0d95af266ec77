"""Webhooks in Chromium: what Stripe says reaches an open finance page by itself, with no click and no Sync now."""

from __future__ import annotations

import re
import selectors
import socket
import threading
import uuid

import httpx
import psutil
import pytest
from playwright.sync_api import Page, expect

from shop import orders, webhooks
from shop.checkout import intents
from tests.support import use_emulator
from tests.support_browser import StreamlitApp, metric_value, sidebar_link, sign_in, wait_for_app
from tests.support_data import CHECKOUT_DETAILS

pytestmark = pytest.mark.e2e

HAMMING = "art-of-doing-science"


def test_a_refund_made_outside_the_app_shows_on_the_open_charges_page_by_itself(
    page: Page, streamlit_app: StreamlitApp
):
    # How soon is a figure of `make bench` (bench.webhook_page_bench: webhook_refund_to_page_s); here only that
    # it arrives with no click and no Sync now.
    api = streamlit_app.emulator.client()
    email = f"webhook-{uuid.uuid4().hex[:8]}@example.com"
    sign_in(page, streamlit_app)  # lands on Charges
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    customer = page.get_by_label("Customer")
    customer.fill(email)
    customer.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("0 charges match")).to_be_visible()

    charge = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "receipt_email": email}
    )
    expect(page.get_by_text("1 charges match")).to_be_visible(timeout=10_000)  # the charge arrived by itself
    expect(metric_value(page, "Refunded")).to_have_text("$0.00")

    api.v1.refunds.create(params={"charge": charge.id, "amount": 700})  # as from the Stripe Dashboard
    expect(metric_value(page, "Refunded")).to_have_text("$7.00", timeout=10_000)


def test_a_payment_whose_tab_closed_after_confirming_shows_as_paid_in_orders_by_itself(
    page: Page, streamlit_app: StreamlitApp, monkeypatch: pytest.MonkeyPatch
):
    # This process writes to the app's order store and Stripe account, as the shop page did before the tab closed.
    use_emulator(monkeypatch, streamlit_app.emulator, streamlit_app.data_dir)
    api = streamlit_app.emulator.client()
    details = {**CHECKOUT_DETAILS, "email": f"closed-tab-{uuid.uuid4().hex[:8]}@example.com"}
    prepared = intents.prepare_checkout(details, HAMMING, 1, client=api)
    order_id = prepared.order.id

    sign_in(page, streamlit_app)
    sidebar_link(page, "Orders").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    search = page.get_by_role("textbox", name="Search")
    search.fill(order_id)
    search.press("Enter")
    wait_for_app(page)
    # Only pending orders: the one order while it is unpaid, none once the webhook has settled it.
    status = page.get_by_role("combobox", name="Status")
    status.click()
    page.get_by_role("option", name="pending", exact=True).click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"^1 order( of [\d,]+)?$"))).to_be_visible()

    # What stripe.confirmCardPayment did in the page; then the tab closed and the page never heard back.
    api.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})

    # The page reran by itself: no pending order matches any more.
    expect(page.get_by_text(re.compile(r"^0 orders( of [\d,]+)?$"))).to_be_visible(timeout=5_000)
    paid = orders.get_order(order_id)
    assert (paid.status, paid.charge_id) == (
        "paid",
        api.v1.payment_intents.retrieve(paid.payment_intent_id).latest_charge,
    )


HUGE = 256 * 1024 * 1024
BLOCK = 64 * 1024


def post_huge_body(app: StreamlitApp, *, chunked: bool) -> tuple[bytes, int]:
    """POST HUGE bytes (made block by block, never held whole) to the webhook route, declared by Content-Length or
    sent chunked; stops sending once the server answers or closes. Returns the answer's first line and the body
    bytes sent."""
    sock = socket.create_connection(("127.0.0.1", app.port), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}"
    head = f"POST {webhooks.PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nStripe-Signature: t=1,v1=00\r\n{framing}\r\n\r\n"
    sock.sendall(head.encode())
    block = b"{" * BLOCK
    frame = f"{BLOCK:x}\r\n".encode() + block + b"\r\n" if chunked else block
    sent = 0
    # epoll, not select(): a worker that has run many tests holds descriptors past select()'s limit of 1024.
    answered = selectors.DefaultSelector()
    answered.register(sock, selectors.EVENT_READ)
    if not chunked:
        answered.select(10)  # a declared size over the limit is answered before any body is sent
    try:
        while sent < HUGE and not answered.select(0):  # nothing to read yet: the server reads on
            sock.sendall(frame)
            sent += BLOCK
        if chunked and sent >= HUGE:
            sock.sendall(b"0\r\n\r\n")  # the whole body went in: end it, and read the answer
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed while a block was on its way: its answer may be waiting all the same
    try:
        answer = sock.recv(4096)
    except ConnectionResetError:
        answer = b""  # the reset came before the answer could be read
    finally:
        answered.close()
        sock.close()
    return answer.split(b"\r\n", 1)[0], sent


class PeakMemory:
    """The highest resident memory of process `pid` while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.before = self.process.memory_info().rss
        self.done = threading.Event()

    def _watch(self) -> None:
        while not self.done.wait(0.01):  # the sampling interval, not a wait for a condition
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_256_mb_webhook_body_is_refused_early_and_the_server_stays_small(streamlit_app: StreamlitApp, chunked):
    with PeakMemory(streamlit_app.proc.pid) as memory:
        answer, sent = post_huge_body(streamlit_app, chunked=chunked)

    assert memory.peak - memory.before < 64 * 1024 * 1024, (memory.before, memory.peak)
    assert answer == b"HTTP/1.1 413 Request Entity Too Large"
    if chunked:
        # Cut off once past the limit: what the sockets' buffers held beyond it is all that was ever sent.
        assert sent < 32 * 1024 * 1024
    else:
        assert sent == 0  # refused on the header alone
    # The server still serves.
    assert httpx.get(f"{streamlit_app.url}/_stcore/health", timeout=10).status_code == 200
