"""Checkout overhead: server-side time from the card component's answer to the confirmation shown, minus Stripe's
calls.

Runs its own emulator on a free port with a throwaway data directory, then 50 checkouts each way:
- Charges flow (CHECKOUT_API=charges) through the shop page in AppTest (the card component replaced by a stand-in
  returning `tok_visa`): the page stamps the moment it reads the token and the moment the confirmation is
  rendered; and through `shop.checkout.charges.checkout` alone (validation, order write, attempt bookkeeping);
- PaymentIntents flow (the default) through the shop page: the stand-in confirms the order's intent with
  `pm_card_visa` (the browser's part, not timed) and answers with the outcome; the page stamps the moment it reads
  that answer and the moment the confirmation is rendered, and the retrieve of the intent is subtracted.
Each figure is the median of 50, with the time spent waiting on the emulator subtracted. Everything runs on a
SQLite store, then again on PostgreSQL (`checkout_*_postgresql_*`, with its ratio to SQLite).

Round trips: the SQL statements sent to the store and the transactions begun during one checkout of each flow's
domain code (`charges.checkout`; `intents.prepare_checkout` then `intents.settle_order`, the browser's confirm
between them not counted), counted with SQLAlchemy's engine events: on PostgreSQL each statement is a round trip
over the network.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock

import sqlalchemy as sa

from bench.seed_bench import shop_environment
from shop.config import get_settings, stripe_client
from tests.conftest import PostgresCluster, postgres_bin_dir
from tests.support import free_port
from tests.support_data import CHECKOUT_DETAILS

ROOT = Path(__file__).resolve().parent.parent
RUNS = 50
DETAILS = CHECKOUT_DETAILS


class _Card:
    """Stands in for the card component: returns a queued click once."""

    queued: dict | None = None

    def __call__(self, *args, **kwargs):
        value, self.queued = self.queued, None
        return value


class _IntentCard:
    """Stands in for the card component in the PaymentIntents flow: a queued click asks to pay; when the page
    hands over the client secret, the intent is confirmed with pm_card_visa and the outcome answered."""

    def __init__(self, client) -> None:
        self.client = client
        self.queued: dict | None = None
        self.confirmed: set[str] = set()

    def __call__(self, *args, confirm=None, **kwargs):
        if confirm and confirm["nonce"] not in self.confirmed:
            self.confirmed.add(confirm["nonce"])
            intent_id = confirm["client_secret"].split("_secret_")[0]
            intent = self.client.v1.payment_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
            return {
                "action": "outcome",
                "nonce": confirm["nonce"],
                "payment_intent": intent.id,
                "status": intent.status,
            }
        value, self.queued = self.queued, None
        return value


def _page_overheads(card, click) -> list[float]:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    for key, value in DETAILS.items():
        if key not in ("line2", "country"):
            app.text_input(key=f"checkout_{key}").input(value)
    app.run()
    overheads = []
    for _ in range(RUNS):
        # A new email each time: the same book bought again minutes later would be asked about first.
        app.text_input(key="checkout_email").input(f"bench-{uuid.uuid4().hex[:12]}@example.com").run()
        card.queued = click()
        app.run()
        if not app.code or not app.code[0].value.startswith("ch_"):
            raise SystemExit(f"no confirmation shown: {[e.value for e in app.error]}")
        timing = app.session_state["checkout_timing"]
        overheads.append(timing["shown"] - timing["received"] - timing["stripe_seconds"])
        [another] = [button for button in app.button if button.label == "Buy another book"]
        another.click().run()
    return overheads


def _domain_overheads() -> tuple[list[float], list[float]]:
    from shop.checkout import charges

    overheads, stripe_calls = [], []
    for run in range(RUNS + 3):
        payment = {"token": "tok_visa", "brand": "visa", "last4": "4242", "nonce": uuid.uuid4().hex}
        started = time.perf_counter()
        # A new customer each run: the buy-it-again check runs and finds nothing, as for most purchases.
        details = {**DETAILS, "email": f"grace-{run}@example.com"}
        outcome = charges.checkout(details, "art-of-doing-science", 1, payment)
        elapsed = time.perf_counter() - started
        if outcome.result is None or not outcome.result.succeeded:
            raise SystemExit(f"checkout failed: {outcome}")
        if run >= 3:  # the first checkouts create the database and warm the caches
            overheads.append(elapsed - outcome.result.stripe_seconds)
            stripe_calls.append(outcome.result.stripe_seconds)
    return overheads, stripe_calls


class _RoundTrips:
    """Counts the statements and transactions the store's engine runs while open."""

    def __init__(self) -> None:
        from shop.db import get_engine

        self.engine = get_engine()
        self.statements = self.transactions = 0

    def _statement(self, *args) -> None:
        self.statements += 1

    def _begin(self, conn: sa.Connection) -> None:
        # A read outside a transaction (shop.db.reading) still fires "begin", but the driver sends no BEGIN.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.transactions += 1

    def __enter__(self) -> _RoundTrips:
        sa.event.listen(self.engine, "before_cursor_execute", self._statement)
        sa.event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._statement)
        sa.event.remove(self.engine, "begin", self._begin)


def _round_trips() -> dict[str, tuple[int, int]]:
    """(statements, transactions) of one warm checkout in each flow's domain code: the median of 5."""
    from shop.checkout import charges, intents

    counted: dict[str, list[tuple[int, int]]] = {"charges": [], "payment_intents": []}
    client = stripe_client()
    for run in range(6):
        details = {**DETAILS, "email": f"trips-{run}-{uuid.uuid4().hex[:8]}@example.com"}
        payment = {"token": "tok_visa", "brand": "visa", "last4": "4242", "nonce": uuid.uuid4().hex}
        with _RoundTrips() as trips:
            outcome = charges.checkout(details, "art-of-doing-science", 1, payment)
        if outcome.result is None or not outcome.result.succeeded:
            raise SystemExit(f"checkout failed: {outcome}")
        if run:  # the first one warms the caches
            counted["charges"].append((trips.statements, trips.transactions))
        with _RoundTrips() as trips:
            prepared = intents.prepare_checkout({**details, "email": f"pi-{details['email']}"}, "dream-machine", 1)
            if not prepared.ready or prepared.order is None:
                raise SystemExit(f"no intent to confirm: {prepared.message or prepared.errors}")
            before = (trips.statements, trips.transactions)
            intent_id = (prepared.client_secret or "").split("_secret_")[0]
            client.v1.payment_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
            if (trips.statements, trips.transactions) != before:
                raise SystemExit("the store was used during the browser's confirm")
            settled = intents.settle_order(prepared.order.id)
        if settled is None or not settled.succeeded:
            raise SystemExit(f"the intent was not settled: {settled}")
        if run:
            counted["payment_intents"].append((trips.statements, trips.transactions))
    return {flow: (statistics.median_low(s for s, _ in runs), statistics.median_low(t for _, t in runs))
            for flow, runs in counted.items()}  # fmt: skip


def _measure(env: dict[str, str], database_url: str | None) -> dict[str, list[float]]:
    """Both flows' overheads on the store `database_url` (None: a SQLite file in the data directory)."""
    os.environ.clear()
    os.environ.update(env)  # emulator mode (no secret key), this run's emulator and a fresh order store
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ["CHECKOUT_API"] = "charges"
    get_settings.cache_clear()
    domain, stripe_calls = _domain_overheads()
    trips = _round_trips()
    card = _Card()
    token = lambda: {"token": "tok_visa", "brand": "visa", "last4": "4242", "nonce": uuid.uuid4().hex}  # noqa: E731
    with mock.patch("components.elements_card.elements_card", card):
        page = _page_overheads(card, token)
    os.environ["CHECKOUT_API"] = "payment_intents"
    get_settings.cache_clear()
    intent_card = _IntentCard(stripe_client())
    with mock.patch("components.elements_card.elements_card", intent_card):
        page_pi = _page_overheads(intent_card, lambda: {"action": "pay", "nonce": uuid.uuid4().hex})
    return {"page": page, "page_pi": page_pi, "domain": domain, "stripe_calls": stripe_calls, "trips": trips}


def main() -> None:
    """Print the checkout figures as `bench:` lines: SQLite's, then PostgreSQL's beside them."""
    cluster = PostgresCluster(postgres_bin_dir(), free_port())
    cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="checkout-bench-") as tmp:
            with shop_environment(Path(tmp) / "sqlite") as env:
                sqlite = _measure(env, None)
            with shop_environment(Path(tmp) / "postgresql") as env:
                postgresql = _measure(env, cluster.url(cluster.create_database()))
    finally:
        cluster.stop()
    ms = 1000
    page, page_pi = sqlite["page"], sqlite["page_pi"]
    print(f"bench: checkout_overhead_ms_median = {statistics.median(page) * ms:.1f} ms")
    print(
        "# measured inside the page: token read -> confirmation rendered (one rerun), minus the charge call;"
        f" p90 {statistics.quantiles(page, n=10)[-1] * ms:.1f} ms"
    )
    print(f"bench: checkout_pi_overhead_ms_median = {statistics.median(page_pi) * ms:.1f} ms")
    print(
        "# PaymentIntents, inside the page: the card's outcome read -> confirmation rendered, minus the intent's"
        f" retrieve; p90 {statistics.quantiles(page_pi, n=10)[-1] * ms:.1f} ms (goal < 30 ms)"
    )
    print(f"bench: checkout_domain_overhead_ms_median = {statistics.median(sqlite['domain']) * ms:.1f} ms")
    print(f"bench: checkout_stripe_call_ms_median = {statistics.median(sqlite['stripe_calls']) * ms:.1f} ms")
    print("# the same on PostgreSQL (a throwaway local cluster, durability off like the tests')")
    for figure, values in (("overhead", "page"), ("pi_overhead", "page_pi"), ("domain_overhead", "domain")):
        on_postgresql = statistics.median(postgresql[values])
        print(f"bench: checkout_{figure}_postgresql_ms_median = {on_postgresql * ms:.1f} ms")
        ratio = on_postgresql / statistics.median(sqlite[values])
        print(f"bench: checkout_{figure}_postgresql_vs_sqlite = {ratio:.2f} ratio")
    print("# SQL round trips of one checkout's domain code (statements sent; transactions begun)")
    for store, measured in (("sqlite", sqlite), ("postgresql", postgresql)):
        for flow, (statements, transactions) in measured["trips"].items():
            print(f"bench: checkout_{flow}_statements_{store} = {statements} statements")
            print(f"bench: checkout_{flow}_transactions_{store} = {transactions} transactions")


if __name__ == "__main__":
    main()
