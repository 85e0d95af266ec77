"""Playing a plan through the shop's ordinary path, with the emulator's clock set to each step's time."""

from __future__ import annotations

import dataclasses
import http.client
import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import stripe

from shop import catalog, disputes, fulfilment, orders, refund_requests
from shop.checkout import charges, reconcile, sessions
from shop.checkout.results import PaymentError
from shop.clock import store_clock
from shop.config import Settings, get_settings
from shop.emulator_process import connected_client
from shop.orders import Customer
from shop.seed.plan import PlannedOrder, Step, plan_history, timeline
from shop.seed.vocabulary import (
    BANK_ROUTING_NUMBER,
    CARDS,
    DEFAULT_DAYS,
    DEFAULT_ORDERS,
    DEFAULT_SEED,
    DISPUTE_TOKENS,
    INQUIRY_TOKEN,
    STRIPE_STEPS,
    WINNING_EVIDENCE,
)
from shop.words import count

# Where a seeded session would send a customer back after a redirect (a bank debit never redirects).
SEED_RETURN_URL = "http://localhost/?session_id={CHECKOUT_SESSION_ID}"
SETTLE_TIMEOUT_S = 10.0  # how long to wait for Stripe's later decisions (disputes, failing refunds) at the end


class SeedError(RuntimeError):
    """The seeder refused to run or could not finish; the message says what to do."""


@dataclass
class SeedReport:
    """What a seeding run did (counts of orders, charges and what happened to them)."""

    run_id: str
    mode: str
    orders: int = 0
    charges: int = 0
    succeeded: int = 0
    declined: int = 0
    recovered: int = 0
    cancelled: int = 0
    shipped: int = 0
    refunds_full: int = 0
    refunds_partial: int = 0
    refund_requests: int = 0
    requests_approved: int = 0
    requests_rejected: int = 0
    skipped: int = 0
    errors: int = 0
    disputes: int = 0
    disputes_won: int = 0
    disputes_lost: int = 0
    inquiries: int = 0
    refunds_failing: int = 0
    captured_at_shipment: int = 0
    authorized_only: int = 0
    left_to_expire: int = 0
    bank_debits: int = 0
    debits_returned: int = 0
    decline_codes: Counter = field(default_factory=Counter)
    brands: Counter = field(default_factory=Counter)
    refund_reasons: Counter = field(default_factory=Counter)
    duration_s: float = 0.0
    sync_summary: str = ""

    def summary(self) -> str:
        """A few lines for people: what was created."""
        codes = ", ".join(f"{code} {count}" for code, count in self.decline_codes.most_common())
        return (
            f"Seeded {self.orders} orders ({self.mode} mode, run {self.run_id}) in {self.duration_s:.1f} s: "
            f"{self.charges} charges, {self.succeeded} succeeded, {self.declined} declined ({codes or 'none'}), "
            f"{self.recovered} failed orders recovered with another card.\n"
            f"{self.shipped} shipped, {self.cancelled} cancelled, {self.refunds_full} full and "
            f"{self.refunds_partial} partial refunds, {self.refund_requests} refund requests "
            f"({self.requests_approved} approved, {self.requests_rejected} rejected).\n"
            f"{count(self.disputes, 'dispute')} ({self.disputes_won} answered to win, {self.disputes_lost} to "
            f"lose, {self.disputes - self.disputes_won - self.disputes_lost} open), "
            f"{count(self.inquiries, 'inquiry')}, "
            f"{count(self.refunds_failing, 'refund')} that {'fails' if self.refunds_failing == 1 else 'fail'} later, "
            f"{count(self.captured_at_shipment, 'order')} captured at shipment "
            f"({self.authorized_only} still only authorized), "
            f"{count(self.left_to_expire, 'authorization')} left to expire, "
            f"{count(self.bank_debits, 'order')} paid by US bank account ({self.debits_returned} returned by "
            "the bank)."
            + (f"\n{self.skipped} planned steps no longer applied and were skipped." if self.skipped else "")
            + (f"\n{self.errors} payments could not reach Stripe; see the Orders page." if self.errors else "")
            + (f"\n{self.sync_summary}" if self.sync_summary else "")
        )


class EmulatorClock:
    """The emulator's test clock (`POST /_emulator/clock`): freeze "now" at a past time, then release it.

    One kept-alive connection serves every call: a seeding run sets the clock hundreds of times.
    """

    def __init__(self, settings: Settings) -> None:
        self._host, self._port = settings.emulator_host, settings.emulator_port
        self._headers = {"Authorization": f"Bearer {settings.secret_key}", "Content-Type": "application/json"}
        self._connection: http.client.HTTPConnection | None = None
        self.current: int | None = None

    def _post(self, body: bytes) -> None:
        for attempt in (1, 2):  # a kept-alive connection the server has closed fails once; reconnect
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
            try:
                self._connection.request("POST", "/_emulator/clock", body=body, headers=self._headers)
                response = self._connection.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    raise SeedError(
                        f"Could not set the emulator's clock on {self._host}:{self._port} ({exc}); "
                        "is the emulator running?"
                    ) from exc
                continue
            if response.status != 200:
                raise SeedError(f"The emulator refused to set its clock (HTTP {response.status}): {text[:200]!r}")
            return

    def set(self, frozen_time: int | None) -> None:
        """Freeze the emulator's "now" at `frozen_time` (unix seconds); None returns it to real time."""
        if frozen_time is not None and frozen_time == self.current:
            return
        self._post(json.dumps({"frozen_time": frozen_time}).encode())
        self.current = frozen_time

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class EmulatorPaymentPage:
    """What a customer's Address and Payment Elements send the emulator for a Checkout Session (Stripe.js's own
    requests, with the publishable key): the shipping address and phone, then the start of the confirmation, which
    gives the session's PaymentIntent for the payment method typed in the Payment Element's frame."""

    def __init__(self, settings: Settings) -> None:
        self._host, self._port = settings.emulator_host, settings.emulator_port
        self._headers = {
            "Authorization": f"Bearer {settings.publishable_key}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
        try:
            connection.request("POST", path, body=urllib.parse.urlencode(form), headers=self._headers)
            response = connection.getresponse()
            answer = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise SeedError(f"The emulator's payment page did not answer ({exc}); is the emulator running?") from exc
        finally:
            connection.close()
        if response.status != 200:
            raise PaymentError(f"The emulator refused the payment page's request: {answer.get('error')}")
        return answer

    def start_confirm(self, prepared: sessions.PreparedSession, customer: Customer, method_type: str) -> str:
        """Give the session the customer's address and phone, start its confirmation; the PaymentIntent's id."""
        path, secret = f"/v1/payment_pages/{prepared.session_id}", prepared.client_secret or ""
        contact = sessions.address_contact(customer) or {"name": "", "phone": "", "address": {}}
        shipping = {"shipping[name]": contact["name"], "phone": contact["phone"], "client_secret": secret}
        shipping.update({f"shipping[address][{key}]": value for key, value in contact["address"].items() if value})
        self._post(path, shipping)
        return self._post(f"{path}/confirm", {"client_secret": secret, "payment_method_type": method_type})[
            "payment_intent"
        ]


@contextmanager
def _shop_clock(now: Callable[[], int] | None) -> Iterator[None]:
    """Let the order store stamp orders, payments and shipments with the history's time instead of the real one.

    The seeder points the store's clock at the time of the step being played (the emulator's frozen clock) for
    the duration of the run, so orders and charges agree on when things happened.
    """
    if now is None:
        yield
        return
    with store_clock(now):
        yield


class _Player:
    """Plays the plan's steps through the shop, counting what happened."""

    def __init__(
        self,
        plan: Sequence[PlannedOrder],
        run_id: str,
        client: stripe.StripeClient,
        report: SeedReport,
        page: EmulatorPaymentPage | None = None,
    ):
        self.plan = {order.index: order for order in plan}
        self.page = page  # None against Stripe: its payment pages are Stripe.js's own, so no bank debits
        self.session_ids: dict[int, str] = {}
        self.run_id = run_id
        self.client = client
        self.report = report
        self.order_ids: dict[int, str] = {}
        self.attempts: Counter = Counter()
        self.declined_orders: set[int] = set()
        self.request_ids: dict[int, int] = {}
        self.answered: dict[str, str] = {}  # dispute id -> the status Stripe decides on (won, lost)
        self.failing_refunds: list[str] = []

    def _key(self, index: int, what: str) -> str:
        """A key for one step of one planned order: the same step of the same order always gets the same key.

        It carries the order number too, so a store rebuilt from scratch against the same Stripe account never
        reuses the keys of an earlier history (Stripe keeps keys for at least a day).
        """
        return f"seed-{self.run_id}-{index}-{self.order_ids.get(index, 'new')}-{what}"

    def play(self, step: Step) -> None:
        """Apply one step; a step the order's state no longer allows is skipped and counted."""
        try:
            getattr(self, f"_{step.kind}")(step)
        except (
            orders.OrderStateError,
            PaymentError,
            orders.OrderNotFoundError,
            disputes.DisputeError,
            ValueError,
            KeyError,
        ):
            self.report.skipped += 1

    def _pay(self, step: Step) -> None:
        planned = self.plan[step.order]
        if step.order not in self.order_ids:
            order = orders.create_order(
                planned.customer, catalog.priced_line(planned.book_id, planned.quantity), capture_method=planned.capture
            )
            self.order_ids[step.order] = order.id
            self.report.orders += 1
        self.attempts[step.order] += 1
        brand, last4, _ = CARDS[step.token]
        result = charges.pay_order(
            self.order_ids[step.order],
            step.token,
            self._key(step.order, f"pay{self.attempts[step.order]}"),
            card_brand=brand,
            card_last4=last4,
            client=self.client,
        )
        self.report.charges += 1
        if result.outcome == "succeeded":
            self.report.succeeded += 1
            self.report.brands[brand] += 1
            if step.order in self.declined_orders:
                self.report.recovered += 1
            if step.token in DISPUTE_TOKENS:
                self.report.disputes += 1
            elif step.token == INQUIRY_TOKEN:
                self.report.inquiries += 1
            if planned.story == "expired_authorization":
                self.report.left_to_expire += 1
            elif planned.capture == "manual":
                self.report.authorized_only += 1
        elif result.outcome == "declined":
            self.report.declined += 1
            self.report.decline_codes[result.decline_code or result.code or "unknown"] += 1
            self.declined_orders.add(step.order)
        else:
            self.report.errors += 1

    def _pay_debit(self, step: Step) -> None:
        """A Checkout Session paid from the test bank account `step.token`: processing until the bank answers.

        Against Stripe the customer pays by card instead: only Stripe.js may start a session's confirmation.
        """
        if self.page is None:
            self._pay(dataclasses.replace(step, kind="pay", token="tok_visa"))
            return
        planned = self.plan[step.order]
        prepared = sessions.prepare_session(
            dataclasses.asdict(planned.customer),
            planned.book_id,
            planned.quantity,
            return_url=SEED_RETURN_URL,
            allow_duplicate=True,
            client=self.client,
        )
        if not prepared.ready or prepared.order is None:
            raise PaymentError(prepared.message or "no Checkout Session to pay")
        self.order_ids[step.order] = prepared.order.id
        self.session_ids[step.order] = prepared.session_id or ""
        self.report.orders += 1
        intent_id = self.page.start_confirm(prepared, planned.customer, "us_bank_account")
        # What the Payment Element's frame sends once the customer accepted the mandate
        # (docs.stripe.com/payments/ach-direct-debit/accept-a-payment).
        accepted = {"type": "online", "online": {"ip_address": "192.0.2.1", "user_agent": "Mozilla/5.0 (seed)"}}
        method = {
            "type": "us_bank_account",
            "us_bank_account": {
                "routing_number": BANK_ROUTING_NUMBER,
                "account_number": step.token,
                "account_holder_type": "individual",
            },
            "billing_details": {"name": planned.customer.name, "email": planned.customer.email},
        }
        self.client.v1.payment_intents.confirm(
            intent_id,
            params={"payment_method_data": method, "mandate_data": {"customer_acceptance": accepted}},
            options={"idempotency_key": self._key(step.order, "debit")},
        )
        sessions.settle_session(self.session_ids[step.order], client=self.client)
        self.report.charges += 1
        self.report.bank_debits += 1

    def _debit_settles(self, step: Step) -> None:
        """The bank's answer reaches the order, as the session's webhook would bring it."""
        if step.order not in self.session_ids:  # paid by card (against Stripe): nothing to wait for
            return
        result = sessions.settle_session(self.session_ids[step.order], client=self.client)
        if result is None or result.outcome not in ("succeeded", "declined"):
            raise orders.OrderStateError("the debit has not settled")
        if result.outcome == "succeeded":
            self.report.succeeded += 1
            self.report.brands["us_bank_account"] += 1
        else:
            self.report.debits_returned += 1

    def _cancel(self, step: Step) -> None:
        fulfilment.cancel_order(
            self.order_ids[step.order], idempotency_key=self._key(step.order, "cancel"), client=self.client
        )
        self.report.cancelled += 1
        self.report.refund_reasons["requested_by_customer"] += 1

    def _ship(self, step: Step) -> None:
        orders.mark_shipped(self.order_ids[step.order])
        self.report.shipped += 1

    def _ship_capture(self, step: Step) -> None:
        fulfilment.ship_order(self.order_ids[step.order], client=self.client)
        self.report.shipped += 1
        self.report.captured_at_shipment += 1
        self.report.authorized_only -= 1

    def _evidence(self, step: Step) -> None:
        order = orders.get_order(self.order_ids[step.order])
        if order is None or not order.charge_id:
            raise orders.OrderStateError("nothing disputed")
        listed = self.client.v1.disputes.list(params={"charge": order.charge_id, "limit": 1})
        if not listed.data:
            raise orders.OrderStateError("no dispute on this charge")
        # docs.stripe.com/testing#evidence: the text decides a test-mode dispute, a few moments after it is sent.
        evidence = {**disputes.evidence_for(order), "uncategorized_text": step.note or ""}
        dispute = disputes.submit_evidence(listed.data[0].id, evidence, client=self.client)
        won = step.note == WINNING_EVIDENCE
        self.answered[dispute.id] = "won" if won else "lost"
        if won:
            self.report.disputes_won += 1
        else:
            self.report.disputes_lost += 1

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait (up to `timeout_s`) for Stripe's later decisions on this run's answered disputes and failing
        refunds, so that the local copy synced next shows how they ended."""
        deadline = time.monotonic() + timeout_s
        waiting_disputes, waiting_refunds = dict(self.answered), list(self.failing_refunds)
        while (waiting_disputes or waiting_refunds) and time.monotonic() < deadline:
            for dispute_id in list(waiting_disputes):
                if self.client.v1.disputes.retrieve(dispute_id).status in ("won", "lost"):
                    del waiting_disputes[dispute_id]
            for refund_id in list(waiting_refunds):
                if self.client.v1.refunds.retrieve(refund_id).status == "failed":
                    waiting_refunds.remove(refund_id)
            if waiting_disputes or waiting_refunds:
                time.sleep(0.1)  # polling Stripe with a deadline: its decision comes on its own timer

    def _refund(self, step: Step) -> Any:
        order = orders.get_order(self.order_ids[step.order])
        if order is None or not order.charge_id:
            raise orders.OrderStateError("nothing to refund")
        refund = fulfilment.refund_charge(
            order.charge_id,
            amount=step.amount,
            reason=step.reason,
            idempotency_key=self._key(step.order, "refund"),
            client=self.client,
        )
        if step.amount is None or step.amount >= order.refundable:
            self.report.refunds_full += 1
        else:
            self.report.refunds_partial += 1
        self.report.refund_reasons[step.reason or "none"] += 1
        if self.plan[step.order].story == "refund_fails":
            self.report.refunds_failing += 1
            self.failing_refunds.append(refund.id)
        return refund

    def _request(self, step: Step) -> None:
        planned = self.plan[step.order]
        request = refund_requests.request_refund(self.order_ids[step.order], planned.customer.email, step.reason or "")
        self.request_ids[step.order] = request.id
        self.report.refund_requests += 1

    def _approve(self, step: Step) -> None:
        request_id = self.request_ids[step.order]
        refund = self._refund(Step(step.at, step.order, "refund", reason="requested_by_customer", amount=step.amount))
        refund_requests.decide_refund_request(request_id, True, refund_id=refund.id, note="Refunded.")
        self.report.requests_approved += 1

    def _reject(self, step: Step) -> None:
        refund_requests.decide_refund_request(self.request_ids[step.order], False, note=step.note)
        self.report.requests_rejected += 1


def _check_mode(settings: Settings, confirmed: bool) -> None:
    """Refuse a live key always, and Stripe test mode without confirmation."""
    if settings.is_live:
        raise SeedError("Refusing to seed with a live Stripe key: demo history belongs in test mode or the emulator.")
    if settings.mode == "stripe" and not confirmed:
        raise SeedError(
            "This will create real test-mode charges in your Stripe account, and Stripe keeps their real creation "
            "time (the history will not be spread over past days). Run again with --yes to go ahead."
        )


def seed(
    *,
    days: int = DEFAULT_DAYS,
    orders_count: int = DEFAULT_ORDERS,
    seed_value: int = DEFAULT_SEED,
    confirmed: bool = False,
    settings: Settings | None = None,
    client: stripe.StripeClient | None = None,
    progress: Callable[[int, int], None] | None = None,
    sync_after: bool = True,
    sync_progress: Callable[[float, str], None] | None = None,
    now: int | None = None,
) -> SeedReport:
    """Create `orders_count` orders of demo history over the past `days` days through the shop's ordinary path.

    Raises SeedError when refused (live key; Stripe test mode without `confirmed`) or when the emulator's clock
    cannot be set. `progress(done, total)` is called after each step. Syncs the local copy of charges at the end
    (`sync_progress(fraction, text)` follows it).
    """
    settings = settings or get_settings()
    _check_mode(settings, confirmed)
    client = client or connected_client(settings)
    started = time.monotonic()
    now = int(time.time()) if now is None else now

    existing = orders.list_orders()
    returning: dict[str, Customer] = {}
    for order in reversed(existing):  # oldest first: the earliest customers are the most loyal
        returning.setdefault(order.customer.email.lower(), order.customer)
    offset = len(existing)
    run_id = f"{seed_value}.{offset}"
    plan = plan_history(
        orders_count=orders_count,
        days=days,
        seed=seed_value,
        now=now,
        offset=offset,
        returning=list(returning.values()),
    )
    steps = timeline(plan)
    report = SeedReport(run_id=run_id, mode=settings.mode)
    clock = EmulatorClock(settings) if settings.mode == "emulator" else None
    page = EmulatorPaymentPage(settings) if clock else None
    player = _Player(plan, run_id, client, report, page)
    history_now: list[int] = [now]  # the time of the step being played, for the order store
    try:
        with _shop_clock((lambda: history_now[0]) if clock else None):
            for done, step in enumerate(steps, start=1):
                history_now[0] = step.at
                if clock is not None and step.kind in STRIPE_STEPS:
                    clock.set(step.at)
                player.play(step)
                if progress is not None:
                    progress(done, len(steps))
            player.settle()
    finally:
        if clock is not None:
            clock.set(None)
            clock.close()
    if sync_after:
        # The clock put this run's events among older ones, so rebuild the local copy instead of paging events.
        sync_report = reconcile.sync_and_settle(client, sync_progress, full=settings.mode == "emulator")
        report.sync_summary = sync_report.summary()
    report.duration_s = time.monotonic() - started
    return report


def store_is_empty() -> bool:
    """True when the order store has no orders yet."""
    return not orders.list_orders(limit=1)
