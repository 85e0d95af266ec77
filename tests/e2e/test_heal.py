"""Emulator mode heals by itself: after the emulator dies, loading the shop page starts it again."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import psutil
import pytest
import stripe
from playwright.sync_api import Page, expect

from tests.support import Emulator, free_port
from tests.support_browser import DETAILS, StreamlitApp, confirmed_charge_id, fill_card, fill_details, open_shop

pytestmark = pytest.mark.e2e


def emulator_processes(port: int) -> list[psutil.Process]:
    """The `python -m stripe_emulator` processes serving `port`, whoever started them."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "stripe_emulator" in cmdline and str(port) in cmdline:
            found.append(proc)
    return found


@pytest.fixture
def app_with_own_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """An app and an emulator of this test only, so killing the emulator disturbs no other test."""
    emulator = Emulator(free_port(), tmp_path_factory.mktemp("heal-emulator"))
    emulator.start()
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("heal-shop"), emulator)
    app.start()
    yield app
    app.stop()
    emulator.stop()
    for proc in emulator_processes(emulator.port):  # the one the app started in its place
        proc.kill()


def test_the_shop_page_restarts_a_killed_emulator_and_the_card_form_works(page: Page, app_with_own_emulator):
    app = app_with_own_emulator
    emulator = app.emulator
    open_shop(page, app)  # the server has served the shop once while the emulator was up
    assert emulator.proc is not None
    os.killpg(emulator.proc.pid, signal.SIGKILL)
    emulator.proc.wait()
    with pytest.raises(stripe.APIConnectionError):
        emulator.client().v1.charges.list()

    open_shop(page, app)  # a reload: no payment, no sync
    fill_details(page, DETAILS)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $23.00").click()
    charge_id = confirmed_charge_id(page)
    assert emulator.client().v1.charges.retrieve(charge_id).amount == 2300
    expect(page.get_by_text("could not be loaded")).to_have_count(0)
