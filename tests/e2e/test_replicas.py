"""Two app processes over one PostgreSQL database and one emulator, in Chromium: what replicas behind a load
balancer do to payments, the sync and the finance pages.

Both servers are real `streamlit run dashboard.py` processes with the same DATABASE_URL and emulator (as
`make run-replicas` starts them); each registers its own webhook endpoint, so every event reaches both. Tests that
kill a replica with SIGKILL leave it for the `replicas` fixture to start again before the next test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from shop import orders
from shop.db import get_engine
from shop.money import format_amount
from shop.schema import charges, leases, refunds, second_charges_table, sync_state
from shop.sync import LEASE_TTL_S, SYNC_LEASE
from shop.sync_store import LAST_SYNCED_AT
from tests.conftest import PostgresCluster
from tests.faults.steps import arm, wait_until_taken
from tests.support import ROOT, Emulator, free_port, wait_for_http
from tests.support_browser import (
    DETAILS,
    StreamlitApp,
    confirmed_charge_id,
    fill_card,
    fill_details,
    metric_value,
    open_shop,
    sidebar_link,
    sign_in,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

PAY = "Pay $23.00"
KPI_LABELS = ("Gross volume", "Refunded", "Net volume", "Succeeded", "Success rate", "Average order value")


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def shared_database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """One PostgreSQL database of this module, migrated, that both replicas use."""
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="module")
def running_replicas(
    private_emulator: Emulator, shared_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[StreamlitApp]]:
    """Two app servers, started together, on one database, one emulator and one data directory."""
    data_dir = tmp_path_factory.mktemp("replicas")
    apps = [
        StreamlitApp(free_port(), data_dir, private_emulator, env={"DATABASE_URL": shared_database}) for _ in range(2)
    ]
    with ThreadPoolExecutor(len(apps)) as pool:
        list(pool.map(StreamlitApp.start, apps))
    yield apps
    for app in apps:
        app.stop()


@pytest.fixture
def replicas(running_replicas: list[StreamlitApp]) -> list[StreamlitApp]:
    """The two replicas, each running: one a test killed is started again on its port."""
    for app in running_replicas:
        if app.proc is None or app.proc.poll() is not None:
            app.start()
    return running_replicas


@pytest.fixture
def engine(shared_database: str) -> sa.Engine:
    """This process's engine on the replicas' database, for reading what they wrote."""
    return get_engine(shared_database)


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """New pages, each in a browser context of its own (its own customer or staff member)."""
    contexts = []

    def new_page() -> Page:
        context = browser.new_context()
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


# ------------------------------------------------------------------------------------------------ helpers


def kill_9(app: StreamlitApp) -> None:
    """SIGKILL the replica's process group: no shutdown, no lease released, no answer sent."""
    assert app.proc is not None and app.proc.poll() is None
    os.killpg(app.proc.pid, signal.SIGKILL)
    app.proc.wait()


def customer(name: str) -> dict[str, str]:
    """DETAILS with a name and an email of their own, so no purchase looks like a repeat of another's."""
    return {**DETAILS, "Full name": name, "Email": f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"}


def succeeded_charges(emulator: Emulator, email: str) -> list:
    listed = emulator.client().v1.charges.list(params={"limit": 100}).auto_paging_iter()
    return [charge for charge in listed if charge.receipt_email == email and charge.status == "succeeded"]


def orders_of(engine: sa.Engine, email: str) -> list[orders.Order]:
    return orders.list_orders(email=email, engine=engine)


def open_charges_page(page: Page, app: StreamlitApp) -> None:
    sign_in(page, app)  # lands on Charges
    expect(page.get_by_role("heading", name="Charges")).to_be_visible(timeout=30_000)
    wait_for_app(page, timeout_ms=60_000)


def click_sync_now(page: Page) -> None:
    """Click "Sync now" and wait for the page's run to end (a sync may wait for another replica's lease)."""
    page.get_by_role("button", name="Sync now").click()
    wait_for_app(page, timeout_ms=int(LEASE_TTL_S * 1000) + 30_000)


def last_synced_at(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        value = conn.execute(sa.select(sync_state.c.value).where(sync_state.c.key == LAST_SYNCED_AT)).scalar()
    return float(value or 0)


def sync_lease_held(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(leases.c.name).where(leases.c.name == SYNC_LEASE)).first() is not None


def wait_until(condition: Callable[[], object], failure: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)  # polling interval of a wait-for-condition


def stored_charge(engine: sa.Engine, charge_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(charges.c.id).where(charges.c.id == charge_id)).first() is not None


def kpis(page: Page) -> dict[str, str]:
    return {label: metric_value(page, label).inner_text() for label in KPI_LABELS}


def dollars(text: str) -> int:
    """Dollars as the pages show them ("$1,234.50"), in cents."""
    return round(float(text.replace("$", "").replace(",", "")) * 100)


# ------------------------------------------------------------------------------------------------ a: concurrent


def test_checkouts_on_both_replicas_at_once_are_each_charged_exactly_once(replicas, open_page, engine):
    a, b = replicas
    shoppers = [(a, customer("Ada Lovelace")), (b, customer("Grace Hopper")), (a, customer("Joan Clarke"))]
    shoppers.append((b, customer("Katherine Johnson")))
    pages = []
    for app, details in shoppers:
        page = open_page()
        open_shop(page, app)
        fill_details(page, details)
        fill_card(page, "4242 4242 4242 4242")
        pages.append(page)
    for page in pages:  # every click before any answer: both processes prepare and settle at the same time
        page.get_by_role("button", name=PAY).click()
    shown = [confirmed_charge_id(page) for page in pages]

    assert len(set(shown)) == len(shoppers)
    for (_app, details), charge_id in zip(shoppers, shown, strict=True):
        email = details["Email"]
        [charge] = succeeded_charges(a.emulator, email)
        [order] = orders_of(engine, email)
        assert (charge.id, charge.amount, charge.metadata["order_id"]) == (charge_id, 2300, order.id)
        assert (order.status, order.charge_id, order.amount) == ("paid", charge_id, 2300)


# ------------------------------------------------------------------------------------------------ b: retried


def test_a_payment_whose_replica_died_while_stripe_charged_is_not_charged_again_on_the_other(
    replicas, open_page, engine
):
    a, b = replicas
    emulator = a.emulator
    details = customer("Mary Somerville")
    email = details["Email"]
    page = open_page()
    open_shop(page, a)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    # Stripe holds the browser's confirm; replica A dies while it is in flight, so A never hears the outcome.
    held = arm(emulator.url, "POST", "/v1/payment_intents/*/confirm", {"delay_s": 3})
    page.get_by_role("button", name=PAY).click()
    wait_until_taken(emulator.url, held)
    kill_9(a)
    [intent] = [i for i in emulator.client().v1.payment_intents.list().auto_paging_iter() if i.receipt_email == email]
    first_order = intent.metadata["order_id"]
    wait_until(
        lambda: emulator.client().v1.payment_intents.retrieve(intent.id).status == "succeeded",
        "the held confirm never succeeded",
    )

    # The customer, whose page lost its server, pays again on the other replica (a new session there).
    open_shop(page, b)
    fill_details(page, details)
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=PAY).click()
    expect(page.get_by_text(f"(order {first_order}). Buy it again?")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="No, don't buy it again").click()
    expect(page.get_by_text("Nothing was charged. Your earlier order stands.")).to_be_visible(timeout=30_000)

    charge_id = emulator.client().v1.payment_intents.retrieve(intent.id).latest_charge
    assert [charge.id for charge in succeeded_charges(emulator, email)] == [charge_id]
    assert [(o.id, o.status, o.charge_id) for o in orders_of(engine, email)] == [(first_order, "paid", charge_id)]
    with engine.connect() as conn:
        seconds = conn.execute(sa.select(second_charges_table).where(second_charges_table.c.order_id == first_order))
        assert seconds.all() == []  # no second charge to give back: Stripe never made one


# ------------------------------------------------------------------------------------------------ c: sync lease


def test_the_sync_of_a_replica_killed_mid_sync_is_taken_over_and_the_copy_matches_stripe(replicas, open_page, engine):
    a, b = replicas
    api = a.emulator.client()
    page_a, page_b = open_page(), open_page()
    open_charges_page(page_b, b)
    synced = last_synced_at(engine)
    click_sync_now(page_b)  # a fresh sync: no page syncs by itself for the next minute
    wait_until(lambda: last_synced_at(engine) > synced and not sync_lease_held(engine), "B's sync did not finish")
    open_charges_page(page_a, a)
    email = f"lease-{uuid.uuid4().hex[:8]}@example.com"
    made = [
        api.v1.charges.create(
            params={"amount": 1000 + n, "currency": "usd", "source": "tok_visa", "receipt_email": email}
        )
        for n in range(3)
    ]
    api.v1.refunds.create(params={"charge": made[0].id, "amount": 400})

    # A's sync applies the events, then asks for their balance transactions (fees): Stripe holds that request,
    # and A is killed holding the lease, half way through.
    held = arm(a.emulator.url, "GET", "/v1/balance_transactions", {"delay_s": 5})
    page_a.get_by_role("button", name="Sync now").click()
    wait_until_taken(a.emulator.url, held)
    with engine.connect() as conn:
        [expires_at] = conn.execute(sa.select(leases.c.expires_at).where(leases.c.name == SYNC_LEASE)).scalars().all()
        unfilled = conn.execute(sa.select(charges.c.fee).where(charges.c.id.in_([c.id for c in made]))).scalars()
        assert unfilled.all() == [None, None, None]  # the charges are in the copy (webhooks), their fees not yet
    assert expires_at > time.time()
    kill_9(a)
    killed_at = time.time()

    # Stripe changes while A is dead: B hears of them (webhooks, then its sync).
    made.append(
        api.v1.charges.create(params={"amount": 1500, "currency": "usd", "source": "tok_visa", "receipt_email": email})
    )
    api.v1.refunds.create(params={"charge": made[1].id})

    # B's "Sync now" waits for the dead holder's lease to run out (B's wait outlasts it), then syncs itself.
    page_b.get_by_role("button", name="Sync now").click()
    wait_until(
        lambda: last_synced_at(engine) > killed_at and not sync_lease_held(engine),  # synced, and released
        "replica B did not take the sync over within the lease time",
        timeout=LEASE_TTL_S + 30,
    )

    # The local copy is Stripe's: every charge with its refunds, fee and net; every refund once.
    listed = api.v1.charges.list(params={"limit": 100, "expand": ["data.balance_transaction"]}).auto_paging_iter()
    stripe_charges = {
        charge.id: (
            charge.status,
            charge.amount,
            charge.amount_refunded,
            charge.refunded,
            charge.balance_transaction.fee if charge.balance_transaction else None,
            charge.balance_transaction.net if charge.balance_transaction else None,
        )
        for charge in listed
    }
    listed_refunds = list(api.v1.refunds.list(params={"limit": 100}).auto_paging_iter())
    stripe_refunds = {refund.id: (refund.charge, refund.amount, refund.status) for refund in listed_refunds}
    with engine.connect() as conn:
        local_charges = {
            row.id: (row.status, row.amount, row.amount_refunded, row.refunded, row.fee, row.net)
            for row in conn.execute(sa.select(charges))
        }
        local_refunds = {row.id: (row.charge_id, row.amount, row.status) for row in conn.execute(sa.select(refunds))}
    assert {charge.id for charge in made} <= set(stripe_charges)
    assert local_charges == stripe_charges
    assert local_refunds == stripe_refunds
    assert [refund.id for refund in listed_refunds if refund.reason == "duplicate"] == []  # no second charge made


# ------------------------------------------------------------------------------------------------ d: KPIs


def test_a_refund_on_one_replica_shows_in_the_same_kpis_on_both_charges_pages(replicas, open_page, engine):
    a, b = replicas
    api = a.emulator.client()
    charge = api.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "receipt_email": "kpis@example.com"}
    )
    wait_until(lambda: stored_charge(engine, charge.id), "the charge's webhook was never applied")
    page_a, page_b, staff = open_page(), open_page(), open_page()
    open_charges_page(page_a, a)
    open_charges_page(page_b, b)
    before = kpis(page_a)
    for label, value in before.items():
        expect(metric_value(page_b, label)).to_have_text(value, timeout=15_000)

    # Staff refund $5 of the charge on replica B's Refunds page.
    sign_in(staff, b)
    sidebar_link(staff, "Refunds").click()
    expect(staff.get_by_role("heading", name="Refund a charge")).to_be_visible(timeout=30_000)
    wait_for_app(staff)
    find = staff.get_by_label("Find a charge")
    find.fill(charge.id)
    find.press("Enter")
    wait_for_app(staff)
    expect(staff.get_by_text("Can still be refunded")).to_be_visible(timeout=30_000)
    staff.get_by_text("Part of it", exact=True).click()
    staff.get_by_label("Amount ($) — for a partial refund").fill("5.00")
    staff.get_by_role("button", name="Refund…").click()
    staff.get_by_role("dialog").get_by_role("button", name="Refund $5.00").click()
    expect(staff.get_by_text(f"Refunded $5.00 of {charge.id}")).to_be_visible(timeout=30_000)
    assert api.v1.charges.retrieve(charge.id).amount_refunded == 500

    # Both open pages rerun by themselves and agree on every KPI.
    refunded = format_amount(dollars(before["Refunded"]) + 500, "usd")
    expect(metric_value(page_a, "Refunded")).to_have_text(refunded, timeout=15_000)
    expect(metric_value(page_b, "Refunded")).to_have_text(refunded, timeout=15_000)
    after = kpis(page_a)
    assert after["Net volume"] == format_amount(dollars(before["Net volume"]) - 500, "usd")
    for label, value in after.items():
        expect(metric_value(page_b, label)).to_have_text(value, timeout=15_000)
    assert kpis(page_a) == after


# ------------------------------------------------------------------------------------------------ the command


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive loopback ports nothing listens on."""
    while True:
        first = free_port()
        if first + count <= 65535 and all(port_is_free(first + n) for n in range(1, count)):
            return first


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def processes(*words: str) -> list[psutil.Process]:
    """Running processes whose command line has all of `words`."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if all(word in cmdline for word in words):
            found.append(proc)
    return found


def test_run_replicas_starts_one_emulator_and_the_apps_reports_a_dead_one_and_ctrl_c_stops_all(
    postgres_cluster: PostgresCluster, tmp_path: Path
):
    database = postgres_cluster.create_database()
    first = consecutive_free_ports(2)
    ports = [first, first + 1]
    emulator = Emulator(free_port(), tmp_path / "data" / "emulator")  # the one the command starts (not started here)
    env = {
        **os.environ,
        "DATABASE_URL": postgres_cluster.url(database),
        "SHOP_DATA_DIR": str(tmp_path / "data"),
        "STRIPE_EMULATOR_PORT": str(emulator.port),
        "STRIPE_SECRET_KEY": "",
        "STRIPE_PUBLISHABLE_KEY": "",
        "STRIPE_EMULATOR_DATA_DIR": "",
        "SMTP_URL": "",
        "LOCAL_SMTP_PORT": str(free_port()),  # the replicas' mail server, not another test run's
    }
    output = tmp_path / "output.txt"
    with output.open("wb") as sink:
        launcher = subprocess.Popen(
            [sys.executable, "tools/run_replicas.py", "--replicas", "2", "--port", str(first)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    said = output.read_text
    try:
        wait_until(lambda: "all replicas are up" in said() or launcher.poll() is not None, "no replica came up", 90)
        assert launcher.poll() is None, said()
        [started] = processes("stripe_emulator", str(emulator.port))  # one emulator: no replica started its own
        assert f"(pid {started.pid}," in said()
        for port in ports:
            wait_for_http(f"http://127.0.0.1:{port}/_stcore/health")
        webhook_urls = {f"http://127.0.0.1:{port}/webhooks/stripe" for port in ports}
        wait_until(
            lambda: webhook_urls <= {e.url for e in emulator.client().v1.webhook_endpoints.list().auto_paging_iter()},
            "the replicas did not register their webhook endpoints with the command's emulator",
        )

        [second] = processes("--server.port", str(ports[1]))
        second.kill()
        wait_until(lambda: f"replica 2 (port {ports[1]}) ended (killed by signal 9" in said(), said())
        wait_for_http(f"http://127.0.0.1:{ports[0]}/_stcore/health")  # the other keeps serving
        assert [proc.pid for proc in processes("stripe_emulator", str(emulator.port))] == [started.pid]

        [first_app] = processes("--server.port", str(ports[0]))
        launcher.send_signal(signal.SIGINT)  # Ctrl-C
        assert launcher.wait(timeout=30) == 0, said()
        assert not first_app.is_running() or first_app.status() == psutil.STATUS_ZOMBIE
        assert not started.is_running() or started.status() == psutil.STATUS_ZOMBIE
        assert "Stripe emulator stopped" in said()
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
        leftovers = processes("stripe_emulator", str(emulator.port))
        for port in ports:
            leftovers += processes("--server.port", str(port))
        for proc in leftovers:
            proc.kill()
        postgres_cluster.drop_database(database)
