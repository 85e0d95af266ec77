"""The money steps of the fault suite, shared by the in-process matrix and the kill -9 driver.

A step is what one click in the app does (check out, settle, refund, cancel, ship, approve, sync), the Stripe
request a fault is armed on, the click that follows it (the same click again, as a customer or staff member
does after an error), and what everyone must end up with. `recover` is what a restarted app does on its own.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import stripe

from shop import fulfilment, orders, refund_requests
from shop.checkout import charges, intents, reconcile, sessions
from shop.checkout.results import PaymentError
from shop.config import get_settings
from shop.order_rules import OrderStateError
from tests.support_data import CHECKOUT_DETAILS

KEY = "sk_test_emulator"
BOOK = "art-of-doing-science"  # 2300 in the catalog
CLIENT_TIMEOUT_S = 1.0  # the SDK's timeout in these tests: short, so a delay fault outlasts it
DELAY_S = 1.5  # a delay fault's hold, past CLIENT_TIMEOUT_S
STAFF_REFUND = 500
OUTSIDE_REFUND = 700
ACTIONS: dict[str, Any] = {
    "delay": {"delay_s": DELAY_S},
    "drop_after_commit": "drop_after_commit",
    "500": {"status": 500},
    # Stripe did the work and answered a 500 all the same (and saved that 500 as the idempotency key's answer).
    "500_after_commit": {"status": 500, "after_commit": True},
    "429": {"status": 429},
}
Ctx = dict[str, Any]  # JSON-able facts of one run: order id, nonce, request id …


def short_client(url: str) -> stripe.StripeClient:
    """A client like shop.config's but with a short timeout and no SDK retries, so faults reach the shop's code."""
    http = stripe.RequestsClient(timeout=CLIENT_TIMEOUT_S)
    return stripe.StripeClient(KEY, base_addresses={"api": url}, http_client=http, max_network_retries=0)


# ------------------------------------------------------------------------------------------------ faults


def arm(url: str, method: str, path: str, action: Any, times: int = 1) -> str:
    """Arm a fault on the emulator; returns its id."""
    response = httpx.post(
        f"{url}/_emulator/faults",
        json={"method": method, "path": path, "action": action, "times": times},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def armed(url: str) -> dict[str, int]:
    """The armed faults: id -> remaining count."""
    response = httpx.get(f"{url}/_emulator/faults", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200, response.text
    return {fault["id"]: fault["remaining"] for fault in response.json()["data"]}


def disarm(url: str) -> None:
    httpx.delete(f"{url}/_emulator/faults", headers={"Authorization": f"Bearer {KEY}"}).raise_for_status()


def wait_until_taken(url: str, fault_id: str, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Poll until every count of `fault_id` is taken (the emulator received the requests it was armed for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fault_id not in armed(url):
            return
        assert alive(), "the app process ended before it made the request the fault waits for"
        time.sleep(0.02)  # polling interval of a wait-for-condition
    raise TimeoutError(f"{fault_id} was not taken within {timeout}s")


def wait_for_late_requests(url: str) -> None:
    """Return once every request held by a delay fault armed so far has been handled by the emulator.

    A probe held as long, arriving later, is handled after them (the emulator runs one handler at a time, in the
    order their holds end), so its answer is the condition."""
    probe = arm(url, "GET", "/v1/charges/ch_lateprobe", {"delay_s": DELAY_S})
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    with contextlib.suppress(stripe.InvalidRequestError):  # no such charge: its answer is all the probe waits for
        client.v1.charges.retrieve("ch_lateprobe")
    assert probe not in armed(url)


# ------------------------------------------------------------------------------------------------ clicks


def customer() -> orders.Customer:
    return orders.Customer(**{k: v for k, v in CHECKOUT_DETAILS.items() if k != "line2"})


def browser_confirm(client: stripe.StripeClient, intent_id: str, payment_method: str = "pm_card_visa") -> Any:
    """What stripe.confirmCardPayment does in the page; a decline or a lost answer is what the page reports."""
    try:
        return client.v1.payment_intents.confirm(intent_id, params={"payment_method": payment_method})
    except stripe.StripeError as exc:
        return exc


def pi_click(client: stripe.StripeClient, ctx: Ctx, payment_method: str = "pm_card_visa") -> Any:
    """One click on Pay in the PaymentIntents checkout: prepare, confirm in the browser, settle from Stripe."""
    prepared = intents.prepare_checkout(CHECKOUT_DETAILS, BOOK, 1, order_id=ctx.get("order_id"), client=client)
    if prepared.order is not None:
        ctx["order_id"] = prepared.order.id
    if not prepared.ready:
        return prepared
    browser_confirm(client, prepared.order.payment_intent_id, payment_method)
    try:
        return intents.settle_order(prepared.order.id, nonce=ctx.setdefault("nonce", uuid.uuid4().hex), client=client)
    except intents.IntentUnavailable as exc:
        return exc


def charges_click(client: stripe.StripeClient, ctx: Ctx, token: str = "tok_visa") -> charges.CheckoutOutcome:
    """One click on Pay in the Charges checkout (the same nonce for the same click)."""
    payment = {"token": token, "nonce": ctx.setdefault("nonce", uuid.uuid4().hex), "brand": "visa", "last4": "4242"}
    outcome = charges.checkout(CHECKOUT_DETAILS, BOOK, 1, payment, order_id=ctx.get("order_id"), client=client)
    if outcome.order_id:
        ctx["order_id"] = outcome.order_id
    return outcome


RETURN_URL = "http://127.0.0.1:9/?session_id={CHECKOUT_SESSION_ID}"
PUBLISHABLE = {"Authorization": "Bearer pk_test_emulator_faults"}


def page_pays_session(client: stripe.StripeClient, session_id: str, secret: str) -> Any:
    """What the Address and Payment Elements do in the page: save the address, start the payment, and confirm it
    with a card (a decline or a lost answer is what the page reports)."""
    page = f"{get_settings().emulator_url}/v1/payment_pages/{session_id}"
    address = {f"shipping[address][{key}]": CHECKOUT_DETAILS[key] for key in ("line1", "city", "state", "country")}
    address |= {"shipping[name]": CHECKOUT_DETAILS["name"], "shipping[address][postal_code]": "94107"}
    httpx.post(page, data={"client_secret": secret, "phone": "+1 415 555 0100", **address}, headers=PUBLISHABLE)
    started = httpx.post(
        f"{page}/confirm", data={"client_secret": secret, "payment_method_type": "card"}, headers=PUBLISHABLE
    )
    if started.status_code != 200:
        return started
    return browser_confirm(client, started.json()["payment_intent"])


def sessions_click(client: stripe.StripeClient, ctx: Ctx) -> Any:
    """One click on Pay in the Checkout Sessions checkout: find or make the order's session, pay it in the page,
    settle from the session Stripe has."""
    prepared = _quietly(
        lambda: sessions.prepare_session(
            CHECKOUT_DETAILS, BOOK, 1, return_url=RETURN_URL, order_id=ctx.get("order_id"), client=client
        )
    )
    if getattr(prepared, "order", None) is not None:
        ctx["order_id"] = prepared.order.id
    if not getattr(prepared, "ready", False):
        return prepared
    page_pays_session(client, prepared.session_id, prepared.client_secret)
    ctx["session_id"] = prepared.session_id
    return _settle_session(client, ctx)


def _settle_session(client: stripe.StripeClient, ctx: Ctx) -> Any:
    try:
        return sessions.settle_session(ctx["session_id"], nonce=ctx.setdefault("nonce", "n1"), client=client)
    except intents.IntentUnavailable as exc:
        return exc


CLICKS = {"payment_intents": pi_click, "charges": charges_click, "checkout_sessions": sessions_click}


def click(client: stripe.StripeClient, ctx: Ctx) -> Any:
    return CLICKS[ctx["flow"]](client, ctx)


def new_click(client: stripe.StripeClient, ctx: Ctx) -> Any:
    """The customer, told the payment did not go through, clicks Pay again on the same page: a new nonce."""
    ctx["nonce"] = uuid.uuid4().hex
    return click(client, ctx)


def paid_order(client: stripe.StripeClient, flow: str) -> Ctx:
    ctx: Ctx = {"flow": flow}
    click(client, ctx)
    order = orders.get_order(ctx["order_id"])
    assert order is not None and order.status == "paid", order
    return {"flow": flow, "order_id": order.id}


def recover(client: stripe.StripeClient) -> None:
    """What the app does after a restart, and its staff on the Orders page: reconcile, settle, finish what was
    left half way, sync."""
    reconcile.reconcile_pending(client, now=time.time() + 120)  # attempts a minute old and more
    reconcile.settle_open_orders(client)
    for order in orders.list_orders(status="cancelling"):
        fulfilment.cancel_order(order.id, client=client)
    for request in refund_requests.list_refund_requests("approving"):
        fulfilment.approve_refund_request(request.id, client=client)
    reconcile.sync_and_settle(client)


def _quietly(action: Callable[[], Any]) -> Any:
    """Run a click as a page does: a refusal or an error is shown, not raised."""
    try:
        return action()
    except (PaymentError, OrderStateError, stripe.StripeError) as exc:
        return exc


# ------------------------------------------------------------------------------------------------ steps


@dataclass(frozen=True)
class Step:
    """One money step: its set-up, the Stripe request its fault is armed on, the click, the next click, the end."""

    name: str
    flows: tuple[str, ...]
    method: str
    path: str
    setup: Callable[[stripe.StripeClient, str], Ctx]
    run: Callable[[stripe.StripeClient, Ctx], Any]
    again: Callable[[stripe.StripeClient, Ctx], Any]
    expect: Callable[[Ctx], None]
    # For a kill after Stripe answered: the GET that follows the step's POST, and how many such GETs come first.
    next_get: tuple[str, int] | None = None
    stripe_free: bool = False  # the step makes no Stripe request (a fault must stay armed)


def _new_checkout(_client: stripe.StripeClient, flow: str) -> Ctx:
    return {"flow": flow}


def _expect_paid(ctx: Ctx) -> None:
    """The customer has paid, once: one paid order (the click's own, when the page still knows which it is)."""
    paid = [order for order in orders.list_orders(email=CHECKOUT_DETAILS["email"]) if order.paid_at]
    assert [order.status for order in paid] == ["paid"], paid
    if "order_id" in ctx:
        assert paid[0].id == ctx["order_id"], (paid, ctx)


def _prepared_intent(client: stripe.StripeClient, flow: str) -> Ctx:
    prepared = intents.prepare_checkout(CHECKOUT_DETAILS, BOOK, 1, client=client)
    assert prepared.ready, prepared.message
    return {"flow": flow, "order_id": prepared.order.id, "intent_id": prepared.order.payment_intent_id}


def _confirm_and_settle(client: stripe.StripeClient, ctx: Ctx) -> Any:
    browser_confirm(client, ctx["intent_id"])
    return _quietly(lambda: intents.settle_order(ctx["order_id"], nonce=ctx.setdefault("nonce", "n1"), client=client))


def _confirmed_intent(client: stripe.StripeClient, flow: str) -> Ctx:
    ctx = _prepared_intent(client, flow)
    assert browser_confirm(client, ctx["intent_id"]).status == "succeeded"
    return ctx


def _settle(client: stripe.StripeClient, ctx: Ctx) -> Any:
    return _quietly(lambda: intents.settle_order(ctx["order_id"], client=client))


def _lost_charge_answer(client: stripe.StripeClient, flow: str) -> Ctx:
    """A Charges checkout whose charge Stripe made but whose answer never arrived (the attempt is in error)."""
    arm(get_settings().emulator_url, "POST", "/v1/charges", "drop_after_commit")
    ctx: Ctx = {"flow": flow}
    charges_click(client, ctx)
    order = orders.get_order(ctx["order_id"])
    assert order is not None and not order.paid_at and order.last_error, order
    return ctx


def _reconcile(client: stripe.StripeClient, ctx: Ctx) -> Any:
    return _quietly(lambda: reconcile.reconcile_pending(client, now=time.time() + 120, order_id=ctx["order_id"]))


def _staff_refund(client: stripe.StripeClient, ctx: Ctx) -> Any:
    order = orders.get_order(ctx["order_id"])
    return _quietly(
        lambda: fulfilment.refund_charge(
            order.charge_id,
            amount=STAFF_REFUND,
            reason="requested_by_customer",
            idempotency_key=f"staff-refund-{order.id}",
            client=client,
        )
    )


def _expect_refunded(amount: int) -> Callable[[Ctx], None]:
    def expect(ctx: Ctx) -> None:
        order = orders.get_order(ctx["order_id"])
        assert order is not None and order.amount_refunded == amount, order

    return expect


def _cancel(client: stripe.StripeClient, ctx: Ctx) -> Any:
    return _quietly(lambda: fulfilment.cancel_order(ctx["order_id"], client=client))


def _expect_cancelled(ctx: Ctx) -> None:
    order = orders.get_order(ctx["order_id"])
    assert order is not None and order.status == "cancelled" and order.amount_refunded == order.amount, order


def _ship(_client: stripe.StripeClient, ctx: Ctx) -> Any:
    return _quietly(lambda: orders.mark_shipped(ctx["order_id"]))


def _expect_shipped(ctx: Ctx) -> None:
    order = orders.get_order(ctx["order_id"])
    assert order is not None and order.status == "shipped", order


def _requested_refund(client: stripe.StripeClient, flow: str) -> Ctx:
    ctx = paid_order(client, flow)
    orders.mark_shipped(ctx["order_id"])
    request = refund_requests.request_refund(ctx["order_id"], CHECKOUT_DETAILS["email"], "The cover was torn.")
    return {**ctx, "request_id": request.id}


def _approve(client: stripe.StripeClient, ctx: Ctx) -> Any:
    request = refund_requests.get_refund_request(ctx["request_id"])
    if request is not None and request.status == "approved":  # staff see it decided and leave it
        return request
    return _quietly(lambda: fulfilment.approve_refund_request(ctx["request_id"], client=client))


def _expect_approved(ctx: Ctx) -> None:
    request = refund_requests.get_refund_request(ctx["request_id"])
    order = orders.get_order(ctx["order_id"])
    assert request is not None and request.status == "approved", request
    assert order is not None and order.status == "refunded", order


def _refunded_outside(client: stripe.StripeClient, flow: str) -> Ctx:
    """A paid order, synced, then refunded in part outside the shop (in the Dashboard, say)."""
    ctx = paid_order(client, flow)
    reconcile.sync_and_settle(client)
    order = orders.get_order(ctx["order_id"])
    client.v1.refunds.create(params={"charge": order.charge_id, "amount": OUTSIDE_REFUND})
    return ctx


def _paid_session(client: stripe.StripeClient, flow: str) -> Ctx:
    """A Checkout Session the page paid, whose report never reached the server (the tab closed)."""
    prepared = sessions.prepare_session(CHECKOUT_DETAILS, BOOK, 1, return_url=RETURN_URL, client=client)
    assert prepared.ready, prepared.message
    assert page_pays_session(client, prepared.session_id, prepared.client_secret).status == "succeeded"
    return {"flow": flow, "order_id": prepared.order.id, "session_id": prepared.session_id}


def _sync(client: stripe.StripeClient, _ctx: Ctx) -> Any:
    return _quietly(lambda: reconcile.sync_and_settle(client))


BOTH = ("payment_intents", "charges")
STEPS = [
    # Create the order and its intent (PaymentIntents) or its charge (Charges); the next click is the same click.
    Step("checkout", ("payment_intents",), "POST", "/v1/payment_intents", _new_checkout, click, click, _expect_paid),
    Step("charge", ("charges",), "POST", "/v1/charges", _new_checkout, click, click, _expect_paid),
    # The same, but the next click is a new one (a new nonce): it must not charge a card that was charged.
    Step(
        "checkout_new_click",
        ("payment_intents",),
        "POST",
        "/v1/payment_intents",
        _new_checkout,
        click,
        new_click,
        _expect_paid,
    ),
    Step("charge_new_click", ("charges",), "POST", "/v1/charges", _new_checkout, click, new_click, _expect_paid),
    # The browser confirms the intent; the server settles from what Stripe says (the next click: pay again).
    Step(
        "confirm",
        ("payment_intents",),
        "POST",
        "/v1/payment_intents/*/confirm",
        _prepared_intent,
        _confirm_and_settle,
        click,
        _expect_paid,
    ),
    # Record the result: settle the intent / reconcile a charge whose answer was lost.
    Step(
        "record",
        ("payment_intents",),
        "GET",
        "/v1/payment_intents/*",
        _confirmed_intent,
        _settle,
        _settle,
        _expect_paid,
    ),
    Step("record", ("charges",), "GET", "/v1/charges", _lost_charge_answer, _reconcile, _reconcile, _expect_paid),
    Step(
        "refund",
        BOTH,
        "POST",
        "/v1/refunds",
        paid_order,
        _staff_refund,
        _staff_refund,
        _expect_refunded(STAFF_REFUND),
        next_get=("/v1/charges/*", 2),
    ),
    Step(
        "cancel",
        BOTH,
        "POST",
        "/v1/refunds",
        paid_order,
        _cancel,
        _cancel,
        _expect_cancelled,
        next_get=("/v1/charges/*", 2),
    ),
    Step("ship", BOTH, "POST", "/v1/*", paid_order, _ship, _ship, _expect_shipped, stripe_free=True),
    Step(
        "approve",
        BOTH,
        "POST",
        "/v1/refunds",
        _requested_refund,
        _approve,
        _approve,
        _expect_approved,
        next_get=("/v1/charges/*", 1),
    ),
    Step("sync", BOTH, "GET", "/v1/events", _refunded_outside, _sync, _sync, _expect_refunded(OUTSIDE_REFUND)),
    # Checkout Sessions: make the order's session (the next click: the same click), and settle a paid one from
    # the session Stripe has (the page's report, or the same settle again).
    Step("session", ("checkout_sessions",), "POST", "/v1/checkout/sessions", _new_checkout, click, click, _expect_paid),
    Step(
        "session_record",
        ("checkout_sessions",),
        "GET",
        "/v1/checkout/sessions/*",
        _paid_session,
        _settle_session,
        _settle_session,
        _expect_paid,
    ),
]


def step_named(name: str, flow: str) -> Step:
    """The step of this name for this flow."""
    return next(step for step in STEPS if step.name == name and flow in step.flows)
