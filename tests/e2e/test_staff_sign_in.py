"""Staff sign-in in Chromium and over HTTP: the session cookie survives reloads and links, a forged, expired or
signed-out cookie opens nothing, a link opened signed out leads through sign-in to its page, a form on another
site can neither sign in nor out, and a flood of wrong passwords keeps no colleague out (issue 19, holes 2 and 3).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from shop import staff_sessions
from shop.config import load_settings
from shop.schema import charges as charges_table
from tests.support import Emulator, free_port
from tests.support_browser import StreamlitApp, sidebar_link, sign_in, submit_password, wait_for_app

pytestmark = pytest.mark.e2e

SIGN_IN_HEADING = "Sign in"


def app_settings(app: StreamlitApp):
    """The settings of `app`'s server, to reach its database from the test."""
    return load_settings(
        env={"SHOP_DATA_DIR": str(app.data_dir), "DATABASE_URL": f"sqlite:///{app.data_dir / 'shop.db'}"}, secrets={}
    )


def synced_charge(app: StreamlitApp, emulator: Emulator) -> str:
    """A new charge, once the app's local copy has it (its webhook applied)."""
    charge = emulator.client().v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
    engine = sa.create_engine(app_settings(app).database_url)
    deadline = time.monotonic() + 30
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(sa.select(charges_table.c.id).where(charges_table.c.id == charge.id)).first():
                    return charge.id
            assert time.monotonic() < deadline, f"{charge.id} never reached the app's copy"
            time.sleep(0.05)  # polling interval of a wait-for-condition
    finally:
        engine.dispose()


def expect_signed_out_form(page: Page) -> None:
    expect(page.get_by_role("heading", name=SIGN_IN_HEADING)).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Ops password")).to_be_visible()
    expect(sidebar_link(page, "Refunds")).to_have_count(0)


def expect_charge_page(page: Page, charge_id: str) -> None:
    expect(page.get_by_text(f"{charge_id} · succeeded")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Ops password")).to_have_count(0)


def test_a_reload_and_a_charge_link_from_another_site_keep_the_session(
    page: Page, streamlit_app: StreamlitApp, emulator: Emulator
):
    charge_id = synced_charge(streamlit_app, emulator)
    sign_in(page, streamlit_app)
    page.goto(f"{streamlit_app.url}/refunds")
    expect(page.get_by_role("heading", name="Refunds")).to_be_visible(timeout=30_000)
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Refunds")).to_be_visible(timeout=30_000)
    expect(sidebar_link(page, "Charges")).to_be_visible()

    # A link in an email or a chat: a navigation another site starts (SameSite=Strict still lets the page see it).
    page.goto("about:blank")
    page.set_content(f'<a href="{streamlit_app.url}/charge?id={charge_id}">the charge</a>')
    page.get_by_role("link", name="the charge").click()
    page.wait_for_load_state()
    expect_charge_page(page, charge_id)
    page.reload()
    expect_charge_page(page, charge_id)


def test_a_charge_link_opened_signed_out_leads_through_sign_in_to_that_charge(
    page: Page, streamlit_app: StreamlitApp, emulator: Emulator
):
    charge_id = synced_charge(streamlit_app, emulator)
    page.goto(f"{streamlit_app.url}/charge?id={charge_id}")
    expect_signed_out_form(page)
    expect(page.get_by_text(charge_id)).to_have_count(0)
    submit_password(page, streamlit_app.ops_password)
    expect(page).to_have_url(f"{streamlit_app.url}/charge?id={charge_id}")
    expect_charge_page(page, charge_id)


def session_cookie(cookie: str, app: StreamlitApp) -> dict:
    return {
        "name": staff_sessions.SESSION_COOKIE,
        "value": cookie,
        "url": app.url,
        "httpOnly": True,
        "sameSite": "Strict",
    }


def test_forged_and_expired_cookies_open_nothing(browser: Browser, streamlit_app: StreamlitApp):
    settings = app_settings(streamlit_app)
    valid = staff_sessions.start(settings).cookie
    expired = staff_sessions.start(settings, now=time.time() - settings.session_hours * 3600 - 60).cookie
    value, stamp, signature = valid.split(".")
    forged = f"{value}.{stamp}.{signature[::-1]}"
    for cookie, opens in ((forged, False), (expired, False), (valid, True)):
        context = browser.new_context()
        try:
            context.add_cookies([session_cookie(cookie, streamlit_app)])
            page = context.new_page()
            page.goto(f"{streamlit_app.url}/balance")
            if opens:  # the same way of handing a cookie over works for a good one
                expect(page.get_by_role("heading", name="Balance and payouts")).to_be_visible(timeout=30_000)
            else:
                expect_signed_out_form(page)
        finally:
            context.close()


def test_sign_out_revokes_the_session_so_a_copied_cookie_stops_working(browser: Browser, streamlit_app: StreamlitApp):
    first = browser.new_context()
    try:
        page = first.new_page()
        sign_in(page, streamlit_app)
        copied = [cookie for cookie in first.cookies() if cookie["name"] == staff_sessions.SESSION_COOKIE]
        assert copied and copied[0]["httpOnly"] and copied[0]["sameSite"] == "Strict"
        page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
        page.wait_for_load_state()
        expect(page.get_by_text("Your details")).to_be_visible(timeout=30_000)  # the shop
        expect(sidebar_link(page, "Refunds")).to_have_count(0)
        assert not [cookie for cookie in first.cookies() if cookie["name"] == staff_sessions.SESSION_COOKIE]
    finally:
        first.close()
    second = browser.new_context()
    try:
        second.add_cookies([session_cookie(copied[0]["value"], streamlit_app)])
        page = second.new_page()
        page.goto(f"{streamlit_app.url}/orders")
        expect_signed_out_form(page)
    finally:
        second.close()


# ---------------------------------------------------------------------------------------------- over HTTP


def post(app: StreamlitApp, path: str, data: dict, *, origin: str | None = "self", cookies: dict | None = None):
    headers = {"Origin": app.url} if origin == "self" else ({"Origin": origin} if origin else {})
    return requests.post(
        f"{app.url}{path}", data=data, headers=headers, cookies=cookies, allow_redirects=False, timeout=30
    )


def test_a_form_on_another_site_can_neither_sign_in_nor_out(streamlit_app: StreamlitApp):
    right = {"password": streamlit_app.ops_password}
    for origin in ("http://evil.example", "null", None):
        answer = post(streamlit_app, "/staff/sign-in", right, origin=origin)
        assert answer.status_code == 403 and staff_sessions.SESSION_COOKIE not in answer.cookies
    signed_in = post(streamlit_app, "/staff/sign-in", right)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/charges"
    cookie = signed_in.cookies[staff_sessions.SESSION_COOKIE]
    settings = app_settings(streamlit_app)
    refused = post(
        streamlit_app, "/staff/sign-out", {}, origin="http://evil.example", cookies={"shop_staff_session": cookie}
    )
    assert refused.status_code == 403 and staff_sessions.is_valid(cookie, settings)
    assert post(streamlit_app, "/staff/sign-out", {}, cookies={"shop_staff_session": cookie}).status_code == 303
    assert not staff_sessions.is_valid(cookie, settings)


def test_a_sign_in_never_leads_to_another_site(streamlit_app: StreamlitApp):
    for target in ("https://evil.example/", "//evil.example/charges", "/\\evil.example"):
        answer = post(streamlit_app, "/staff/sign-in", {"password": streamlit_app.ops_password, "next": target})
        assert answer.status_code == 303 and answer.headers["location"] == "/charges"


@pytest.fixture
def lonely_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """A server of this test alone: a flood of wrong passwords must not slow the other tests' sign-ins."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("flooded-shop"), emulator)
    app.start()
    yield app
    app.stop()


def test_a_hundred_wrong_passwords_from_fresh_sessions_keep_out_no_colleague_who_signed_in_before(
    lonely_app: StreamlitApp,
):
    # The colleague's browser signed in yesterday: it kept its device cookie (and signed out).
    earlier = post(lonely_app, "/staff/sign-in", {"password": lonely_app.ops_password})
    device = {staff_sessions.DEVICE_COOKIE: earlier.cookies[staff_sessions.DEVICE_COOKIE]}

    # Issue 19, hole 2: ~100 wrong passwords from fresh sessions (no cookies kept, one loopback address).
    answers = [post(lonely_app, "/staff/sign-in", {"password": f"guess {n}"}) for n in range(100)]
    assert all(answer.status_code == 303 for answer in answers)
    assert re.search(r"failed=wait&wait=\d+", answers[-1].headers["location"])
    stranger = post(lonely_app, "/staff/sign-in", {"password": lonely_app.ops_password})
    assert "failed=wait" in stranger.headers["location"]  # guessing from cookie-less sessions is slowed down

    colleague = post(lonely_app, "/staff/sign-in", {"password": lonely_app.ops_password}, cookies=device)
    assert colleague.status_code == 303 and colleague.headers["location"] == "/charges"
    assert staff_sessions.is_valid(colleague.cookies[staff_sessions.SESSION_COOKIE], app_settings(lonely_app))
