"""shop.fulfilment against the emulator: every test card and token, no double charge, reconcile, refund, cancel."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import httpx
import pytest
import stripe
from stripe._http_client import new_default_http_client

from shop import attempts, catalog, config, fulfilment, orders, refund_requests, second_charges
from shop.checkout import charges, reconcile
from shop.checkout.results import NOT_CONFIGURED_MESSAGE, ChargeResult, PaymentError
from shop.orders import Customer, OrderStateError
from tests.support import free_port, use_emulator

HAMMING = "art-of-doing-science"  # $23.00 in the catalog
CUSTOMER = Customer(
    name="Grace Hopper",
    email="grace@example.com",
    phone="+1 415 555 0100",
    line1="1 Harbor Way",
    line2="Suite 5",
    city="San Francisco",
    state="CA",
    postal_code="94107",
    country="US",
)


@pytest.fixture
def shop_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator, database_url: str) -> Path:
    """A fresh order store per test (SQLite and PostgreSQL), and settings pointing at the session's emulator.

    The account is emptied too: each test runs once per store, and the fixed idempotency keys of its first run
    must not answer for the second.
    """
    use_emulator(monkeypatch, emulator, tmp_path, database_url)
    emulator.reset()
    return tmp_path


@pytest.fixture
def client(emulator, shop_db) -> stripe.StripeClient:
    return emulator.client()


def new_order(quantity: int = 1) -> orders.Order:
    return orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, quantity))


def pay(order_id: str, token: str, client: stripe.StripeClient, nonce: str | None = None) -> ChargeResult:
    return charges.pay_order(
        order_id, token, nonce or uuid.uuid4().hex, card_brand="visa", card_last4="4242", client=client
    )


def card_token(client: stripe.StripeClient, number: str, cvc: str = "123") -> str:
    token = client.v1.tokens.create(
        params={"card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": cvc, "address_zip": "94107"}}
    )
    return token.id


def charges_of(client: stripe.StripeClient, order_id: str) -> list:
    return [
        charge
        for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
        if charge.metadata.to_dict().get("order_id") == order_id
    ]


def test_success_charges_the_catalog_amount_with_shipping_and_metadata(client):
    order = new_order(quantity=2)
    result = pay(order.id, "tok_visa", client)

    assert result.outcome == "succeeded"
    assert result.charge_id.startswith("ch_")
    assert result.amount == 4600
    charge = client.v1.charges.retrieve(result.charge_id)
    assert (charge.amount, charge.currency, charge.status, charge.paid) == (4600, "usd", "succeeded", True)
    assert charge.receipt_email == "grace@example.com"
    assert charge.description == "The Art of Doing Science and Engineering × 2"
    assert charge.shipping.name == "Grace Hopper"
    assert charge.shipping.phone == "+1 415 555 0100"
    assert charge.shipping.address.line1 == "1 Harbor Way"
    assert charge.shipping.address.line2 == "Suite 5"
    assert charge.shipping.address.postal_code == "94107"
    assert charge.metadata["order_id"] == order.id
    assert charge.metadata["book_id"] == HAMMING
    assert charge.metadata["quantity"] == "2"
    stored = orders.get_order(order.id)
    assert (stored.status, stored.charge_id) == ("paid", result.charge_id)
    [attempt] = attempts.list_attempts(order.id)
    assert (attempt.outcome, attempt.charge_id) == ("succeeded", result.charge_id)


@pytest.mark.parametrize(
    "token",
    ["tok_visa", "tok_visa_debit", "tok_mastercard", "tok_amex", "tok_discover"],
)
def test_reusable_success_tokens_pay(client, token):
    result = pay(new_order().id, token, client)
    assert result.outcome == "succeeded"
    assert client.v1.charges.retrieve(result.charge_id).amount == 2300


@pytest.mark.parametrize(
    ("number", "cvc", "brand"),
    [
        ("4242424242424242", "123", "visa"),
        ("4000056655665556", "123", "visa"),
        ("5555555555554444", "123", "mastercard"),
        ("2223003122003222", "123", "mastercard"),
        ("5200828282828210", "123", "mastercard"),
        ("5105105105105100", "123", "mastercard"),
        ("378282246310005", "1234", "amex"),
        ("371449635398431", "1234", "amex"),
        ("6011111111111117", "123", "discover"),
        ("3056930009020004", "123", "diners"),
        ("3566002020360505", "123", "jcb"),
        ("6200000000000005", "123", "unionpay"),
    ],
)
def test_every_success_card_pays(client, number, cvc, brand):
    order = new_order()
    result = pay(order.id, card_token(client, number, cvc), client)
    assert result.outcome == "succeeded", result.message
    charge = client.v1.charges.retrieve(result.charge_id)
    assert charge.payment_method_details.card.brand == brand
    assert charge.payment_method_details.card.last4 == number[-4:]
    assert orders.get_order(order.id).status == "paid"


DECLINES = [
    # card, reusable token, code, decline_code, words the customer must read
    ("4000000000000002", "tok_chargeDeclined", "card_declined", "generic_decline", "declined"),
    ("4000000000009995", "tok_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds", "insufficient"),
    ("4000000000009987", "tok_chargeDeclinedLostCard", "card_declined", "lost_card", "declined"),
    ("4000000000009979", "tok_chargeDeclinedStolenCard", "card_declined", "stolen_card", "declined"),
    ("4000000000000069", "tok_chargeDeclinedExpiredCard", "expired_card", None, "expired"),
    ("4000000000000127", "tok_chargeDeclinedIncorrectCvc", "incorrect_cvc", None, "security code"),
    ("4000000000000119", "tok_chargeDeclinedProcessingError", "processing_error", None, "try again"),
    ("4100000000000019", "tok_radarBlock", "card_declined", "fraudulent", "was declined"),  # not why: Radar
]


def assert_declined(result: ChargeResult, code: str, decline_code: str | None, words: str) -> None:
    assert result.outcome == "declined"
    assert result.code == code
    # Where the facts give no decline_code, Stripe may still repeat the code there.
    assert result.decline_code in ({decline_code} if decline_code else {None, code})
    assert words in result.message.lower()
    assert result.order.status == "failed"
    [attempt] = attempts.list_attempts(result.order.id)
    assert (attempt.outcome, attempt.code, attempt.decline_code) == ("failed", code, result.decline_code)
    assert attempt.message  # Stripe's own message is kept for finance


@pytest.mark.parametrize(("number", "token", "code", "decline_code", "words"), DECLINES)
def test_declining_tokens_record_the_attempt_and_say_why(client, number, token, code, decline_code, words):
    assert_declined(pay(new_order().id, token, client), code, decline_code, words)


@pytest.mark.parametrize(("number", "token", "code", "decline_code", "words"), DECLINES)
def test_declining_cards_record_the_attempt_and_say_why(client, number, token, code, decline_code, words):
    assert_declined(pay(new_order().id, card_token(client, number), client), code, decline_code, words)


def test_card_velocity_decline(client):
    result = pay(new_order().id, card_token(client, "4000000000006975"), client)
    assert (result.outcome, result.decline_code) == ("declined", "card_velocity_exceeded")
    assert "limit" in result.message


def test_a_failing_cvc_check_is_an_incorrect_cvc_decline(client):
    result = pay(new_order().id, card_token(client, "4000000000000101"), client)
    assert (result.outcome, result.code) == ("declined", "incorrect_cvc")
    assert "security code" in result.message


def test_a_later_success_marks_the_same_order_paid(client):
    order = new_order()
    declined = pay(order.id, card_token(client, "4000000000009995"), client)
    assert declined.outcome == "declined"
    paid = pay(order.id, card_token(client, "4242424242424242"), client)
    assert paid.outcome == "succeeded"
    assert orders.get_order(order.id).status == "paid"
    statuses = sorted(charge.status for charge in charges_of(client, order.id))
    assert statuses == ["failed", "succeeded"]


def test_a_used_token_gets_a_clear_message_and_charges_nothing_more(client):
    token = card_token(client, "4242424242424242")
    assert pay(new_order().id, token, client).outcome == "succeeded"
    second = new_order()
    result = pay(second.id, token, client)
    assert result.outcome == "error"
    assert "enter your card again" in result.message
    assert charges_of(client, second.id) == []
    assert orders.get_order(second.id).status != "paid"


def test_the_same_nonce_again_returns_the_first_charge(client):
    order = new_order()
    token = card_token(client, "4242424242424242")
    first = pay(order.id, token, client, nonce="click-1")
    again = pay(order.id, token, client, nonce="click-1")
    assert again.outcome == "succeeded"
    assert again.charge_id == first.charge_id
    assert len(charges_of(client, order.id)) == 1


def test_a_new_click_on_a_paid_order_does_not_charge_again(client):
    order = new_order()
    first = pay(order.id, "tok_visa", client)
    again = pay(order.id, "tok_mastercard", client)
    assert again.charge_id == first.charge_id
    assert len(charges_of(client, order.id)) == 1


def test_twenty_concurrent_submissions_of_one_attempt_make_one_charge(client, emulator):
    order = new_order()
    token = card_token(client, "4242424242424242")
    results: list[ChargeResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def submit() -> None:
        thread_client = emulator.client()
        start.wait()
        try:
            results.append(pay(order.id, token, thread_client, nonce="same-click"))
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 20
    assert {result.outcome for result in results} == {"succeeded"}
    assert len({result.charge_id for result in results}) == 1
    charges = charges_of(client, order.id)
    assert [charge.status for charge in charges] == ["succeeded"]
    assert orders.get_order(order.id).charge_id == charges[0].id


def losing_charge_responses(emulator) -> stripe.StripeClient:
    """A client whose charge creations reach the emulator but whose responses are lost (the worst case)."""
    base = type(new_default_http_client())

    class LosesChargeResponses(base):
        def request(self, method, url, headers, post_data=None):
            response = super().request(method, url, headers, post_data)
            if method == "post" and url.endswith("/v1/charges"):
                raise stripe.APIConnectionError("connection reset after the request was sent")
            return response

    return stripe.StripeClient(
        "sk_test_emulator",
        base_addresses={"api": emulator.url},
        http_client=LosesChargeResponses(),
        max_network_retries=0,
    )


def test_lost_response_is_reconciled_without_a_second_charge(client, emulator):
    order = new_order()
    flaky = losing_charge_responses(emulator)
    result = pay(order.id, "tok_visa", flaky)
    assert result.outcome == "error"
    assert "not charged twice" in result.message
    stored = orders.get_order(order.id)
    assert stored.status == "pending"
    assert stored.last_error

    settled = reconcile.reconcile_pending(client)
    assert [(r.order_id, r.outcome) for r in settled] == [(order.id, "succeeded")]
    [charge] = charges_of(client, order.id)
    assert orders.get_order(order.id).charge_id == charge.id
    assert orders.get_order(order.id).status == "paid"
    assert reconcile.reconcile_pending(client) == []


def test_paying_again_after_a_lost_response_finds_the_first_charge(client, emulator):
    order = new_order()
    flaky = losing_charge_responses(emulator)
    assert pay(order.id, "tok_visa", flaky).outcome == "error"
    retry = pay(order.id, "tok_mastercard", client)
    assert retry.outcome == "succeeded"
    assert len(charges_of(client, order.id)) == 1


def test_unreachable_stripe_keeps_the_order_pending_then_reconcile_closes_it(client):
    order = new_order()
    dead = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": f"http://127.0.0.1:{free_port()}"}, max_network_retries=0
    )
    result = pay(order.id, "tok_visa", dead)
    assert result.outcome == "error"
    assert "could not reach" in result.message.lower()
    assert orders.get_order(order.id).status == "pending"

    settled = reconcile.reconcile_pending(client)
    assert [(r.order_id, r.outcome) for r in settled] == [(order.id, "not_charged")]
    assert pay(order.id, "tok_visa", client).outcome == "succeeded"
    assert len(charges_of(client, order.id)) == 1


def test_a_young_pending_attempt_is_left_alone(client):
    order = new_order()
    attempts.start_attempt(order.id, "in-flight")
    assert [r.outcome for r in reconcile.reconcile_pending(client)] == ["still_pending"]
    assert attempts.list_attempts(order.id)[0].outcome == "pending"


def arm_fault(emulator, spec: dict) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=spec, headers={"Authorization": "Bearer sk_test_x"})
    assert response.status_code == 200, response.text


def faults_armed(emulator) -> list:
    return httpx.get(f"{emulator.url}/_emulator/faults", headers={"Authorization": "Bearer sk_test_x"}).json()["data"]


def wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)  # polling interval of a wait-for-condition


@contextmanager
def in_background(work):
    """Run `work()` in a thread; yields a list that holds its result (or re-raises its error) once joined."""
    box: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield box
    finally:
        thread.join(timeout=120)
    if errors:
        raise errors[0]


def test_a_pending_attempt_is_in_flight_for_as_long_as_one_sdk_call_can_run(client, monkeypatch):
    monkeypatch.setenv("STRIPE_TIMEOUT_S", "30")
    config.get_settings.cache_clear()
    longest = config.longest_call_s()
    # 3 tries of up to 30 s to connect and 30 s to read, at the least: more than the 60 s guess of before.
    assert longest >= 3 * 2 * 30
    order = new_order()
    attempt = attempts.start_attempt(order.id, "sent-just-now")  # the call is on its way to Stripe

    at_61_s = reconcile.reconcile_pending(client, now=attempt.created + 61)
    assert [r.outcome for r in at_61_s] == ["still_pending"]
    near_the_end = reconcile.reconcile_pending(client, now=attempt.created + longest - 1)
    assert [r.outcome for r in near_the_end] == ["still_pending"]
    assert attempts.list_attempts(order.id)[0].outcome == "pending"

    after = reconcile.reconcile_pending(client, now=attempt.created + longest + 1)
    assert [r.outcome for r in after] == ["not_charged"]


def test_the_stripe_timeout_is_a_setting_of_the_shops_client(client, emulator, monkeypatch):
    monkeypatch.setenv("STRIPE_TIMEOUT_S", "1")
    config.get_settings.cache_clear()
    order = new_order()
    tries = []
    send = stripe.RequestsClient.request

    def noted(self, method, url, headers, post_data=None):
        try:
            answer = send(self, method, url, headers, post_data)
        except stripe.APIConnectionError:
            tries.append((method, url.rsplit("/", 1)[-1], "gave up"))
            raise
        tries.append((method, url.rsplit("/", 1)[-1], answer[1]))
        return answer

    monkeypatch.setattr(stripe.RequestsClient, "request", noted)
    arm_fault(emulator, {"method": "POST", "path": "/v1/charges", "action": {"delay_s": 3}, "times": 1})
    # The first try gives up after 1 s (with the SDK's default of 80 s it would wait the 3 s out and be answered);
    # the SDK's retry (same idempotency key) is answered at once. How long it all takes is a figure of
    # `make bench` (bench.timeout_bench).
    result = pay(order.id, "tok_visa", config.stripe_client())
    assert [attempt for attempt in tries if attempt[:2] == ("post", "charges")] == [
        ("post", "charges", "gave up"),
        ("post", "charges", 200),
    ]
    assert result.outcome == "succeeded"
    wait_until(lambda: not faults_armed(emulator))
    assert [charge.id for charge in charges_of(client, order.id)] == [result.charge_id]


def test_reconciling_while_a_slow_charge_call_runs_leaves_it_alone(client, emulator, monkeypatch):
    monkeypatch.setenv("STRIPE_TIMEOUT_S", "30")
    config.get_settings.cache_clear()
    order = new_order()
    arm_fault(emulator, {"method": "POST", "path": "/v1/charges", "action": {"delay_s": 2}, "times": 1})
    with in_background(lambda: pay(order.id, "tok_visa", config.stripe_client())) as paid:
        wait_until(lambda: not faults_armed(emulator))  # the request is at Stripe, its answer on the way
        # Seen a minute later (a slow machine, another process): the call may still run, so nothing is decided.
        settled = reconcile.reconcile_pending(client, now=time.time() + 61)
        assert [r.outcome for r in settled] == ["still_pending"]
        assert [a.outcome for a in attempts.list_attempts(order.id)] == ["pending"]
        with pytest.raises(PaymentError, match="in progress"):
            pay(order.id, "tok_mastercard", client)  # the customer clicks Pay again meanwhile
    [result] = paid
    assert result.outcome == "succeeded"
    assert [charge.id for charge in charges_of(client, order.id)] == [result.charge_id]
    assert orders.get_order(order.id).charge_id == result.charge_id


def test_a_late_success_never_replaces_the_charge_that_paid_the_order_and_is_refunded(client, emulator):
    order = new_order()
    arm_fault(emulator, {"method": "POST", "path": "/v1/charges", "action": {"delay_s": 2}, "times": 1})
    with in_background(lambda: pay(order.id, "tok_visa", emulator.client())) as late:
        wait_until(lambda: not faults_armed(emulator))  # attempt A is at Stripe, not charged yet
        # Attempt A is taken for dead (the old 60 s rule did this while the call still ran) ...
        closed = reconcile.reconcile_pending(client, min_age_s=0)
        assert [r.outcome for r in closed] == ["not_charged"]
        # ... so the customer pays again, and attempt B pays the order.
        second = pay(order.id, "tok_mastercard", client)
        assert second.outcome == "succeeded"
    [first] = late  # A's answer lands now

    after = orders.get_order(order.id)
    assert (after.status, after.charge_id) == ("paid", second.charge_id)
    assert first.charge_id == second.charge_id  # the late click is told the order's charge, and the refund
    assert "refunded" in first.message
    charges = {charge.id: charge for charge in charges_of(client, order.id)}
    assert len(charges) == 2
    [late_id] = set(charges) - {second.charge_id}
    assert (charges[late_id].amount_refunded, charges[late_id].refunded) == (2300, True)
    [refund] = client.v1.refunds.list(params={"charge": late_id}).data
    assert refund.reason == "duplicate"
    kept = [c.id for c in charges.values() if c.status == "succeeded" and not c.refunded]
    assert kept == [second.charge_id]
    [record] = second_charges.list_second_charges()
    assert (record.order_id, record.charge_id, record.amount, record.refund_id) == (order.id, late_id, 2300, refund.id)
    assert record.refunded_at is not None


def test_a_late_success_after_the_attempt_was_closed_pays_an_order_still_unpaid(client, emulator):
    order = new_order()
    arm_fault(emulator, {"method": "POST", "path": "/v1/charges", "action": {"delay_s": 2}, "times": 1})
    with in_background(lambda: pay(order.id, "tok_visa", emulator.client())) as late:
        wait_until(lambda: not faults_armed(emulator))
        assert [r.outcome for r in reconcile.reconcile_pending(client, min_age_s=0)] == ["not_charged"]
    [result] = late
    assert result.outcome == "succeeded"
    assert orders.get_order(order.id).charge_id == result.charge_id
    assert second_charges.list_second_charges() == []


def test_a_late_decline_does_not_rewrite_a_settled_attempt(client):
    order = new_order()
    paid = pay(order.id, "tok_visa", client)
    attempt = attempts.list_attempts(order.id)[0]
    stored = attempts.finish_attempt(attempt.id, "failed", code="card_declined", message="late").attempt
    assert (stored.outcome, stored.charge_id) == ("succeeded", paid.charge_id)
    assert orders.get_order(order.id).status == "paid"


# --- refunds, captures, cancellations ---------------------------------------------------------------


def paid_order(client: stripe.StripeClient) -> orders.Order:
    order = new_order()
    pay(order.id, "tok_visa", client)
    return orders.get_order(order.id)


def test_partial_then_remaining_refund(client):
    order = paid_order(client)
    refund = fulfilment.refund_charge(order.charge_id, amount=500, idempotency_key="r-1", client=client)
    assert (refund.amount, refund.charge) == (500, order.charge_id)
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == 500
    assert orders.get_order(order.id).status == "partially_refunded"

    rest = fulfilment.refund_charge(
        order.charge_id, reason="requested_by_customer", idempotency_key="r-2", client=client
    )
    assert rest.amount == 1800
    assert client.v1.charges.retrieve(order.charge_id).refunded is True
    assert orders.get_order(order.id).status == "refunded"


def test_the_same_refund_key_refunds_once(client):
    order = paid_order(client)
    first = fulfilment.refund_charge(order.charge_id, amount=700, idempotency_key="same", client=client)
    again = fulfilment.refund_charge(order.charge_id, amount=700, idempotency_key="same", client=client)
    assert first.id == again.id
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == 700


@pytest.mark.parametrize(
    ("amount", "reason", "words"),
    [
        (0, None, "above zero"),
        (-100, None, "above zero"),
        (2301, None, "$23.00 or less"),
        (500, "changed_mind", "refund reason"),
    ],
)
def test_refusals_say_what_to_fix(client, amount, reason, words):
    order = paid_order(client)
    with pytest.raises(fulfilment.RefundError) as refused:
        fulfilment.refund_charge(order.charge_id, amount=amount, reason=reason, idempotency_key="x", client=client)
    assert words in refused.value.message
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == 0


def test_above_what_remains_after_a_partial_refund(client):
    order = paid_order(client)
    fulfilment.refund_charge(order.charge_id, amount=2000, idempotency_key="a", client=client)
    with pytest.raises(fulfilment.RefundError, match=r"At most \$3\.00"):
        fulfilment.refund_charge(order.charge_id, amount=400, idempotency_key="b", client=client)


def test_failed_and_fully_refunded_charges_cannot_be_refunded(client):
    declined = pay(new_order().id, "tok_chargeDeclined", client)
    with pytest.raises(fulfilment.RefundError, match="failed"):
        fulfilment.refund_charge(declined.charge_id, idempotency_key="f", client=client)

    order = paid_order(client)
    fulfilment.refund_charge(order.charge_id, idempotency_key="full", client=client)
    with pytest.raises(fulfilment.RefundError, match="already fully refunded"):
        fulfilment.refund_charge(order.charge_id, idempotency_key="full-2", client=client)


def test_unknown_charge_refund(client):
    with pytest.raises(fulfilment.RefundError, match="No charge"):
        fulfilment.refund_charge("ch_doesnotexist", idempotency_key="u", client=client)


@pytest.mark.parametrize(
    ("charge", "expected"),
    [
        (
            {"status": "succeeded", "captured": True, "amount": 2300, "amount_captured": 2300, "amount_refunded": 0},
            2300,
        ),
        (
            {"status": "succeeded", "captured": True, "amount": 2300, "amount_captured": 1500, "amount_refunded": 1300},
            1000,
        ),
        ({"status": "succeeded", "captured": False, "amount": 2300, "amount_captured": 0, "amount_refunded": 0}, 2300),
        ({"status": "failed", "captured": False, "amount": 2300, "amount_captured": 0, "amount_refunded": 0}, 0),
        (
            {
                "status": "succeeded",
                "captured": True,
                "amount": 2300,
                "amount_captured": 2300,
                "amount_refunded": 2300,
                "refunded": True,
            },
            0,
        ),
    ],
)
def test_refundable_amount(charge, expected):
    assert fulfilment.refundable_amount(fulfilment.ChargeAmounts.of(charge)) == expected


def test_refund_checks_take_a_charge_of_the_pages_frame_converted_at_the_edge():
    import numpy as np
    import pandas as pd

    from shop import analytics

    raw = {name: [None] for name in analytics.CHARGE_COLUMNS}
    raw.update(id=["ch_uncaptured"], status=["succeeded"], captured=[False], amount=[2300], currency=["usd"])
    raw.update(amount_captured=[float("nan")], amount_refunded=[0], refunded=[False], created=[1_700_000_000])
    charge = analytics.charge_amounts(analytics.prepare_charges(pd.DataFrame(raw)), "ch_uncaptured")
    assert charge == fulfilment.ChargeAmounts("ch_uncaptured", "succeeded", "usd", 2300, 0, 0, False, False)
    assert fulfilment.refundable_amount(charge) == 2300
    assert fulfilment.check_refund(charge, np.int64(500), "requested_by_customer") == 500
    with pytest.raises(fulfilment.RefundError, match=r"\$23\.00 or less"):
        fulfilment.check_refund(charge, 2400, None)


def test_capture_a_smaller_amount(client):
    auth = client.v1.charges.create(
        params={"amount": 2300, "currency": "usd", "source": "tok_visa", "capture": False},
        options={"idempotency_key": uuid.uuid4().hex},
    )
    captured = fulfilment.capture_charge(auth.id, 1500, idempotency_key="cap-1", client=client)
    assert (captured.captured, captured.amount_captured) == (True, 1500)
    assert fulfilment.refundable_amount(fulfilment.ChargeAmounts.of(captured)) == 1500
    with pytest.raises(fulfilment.CaptureError):
        fulfilment.capture_charge(auth.id, idempotency_key="cap-2", client=client)


def test_cancel_refunds_in_full_and_is_idempotent(client):
    order = paid_order(client)
    cancelled = fulfilment.cancel_order(order.id, client=client)
    assert cancelled.status == "cancelled"
    charge = client.v1.charges.retrieve(order.charge_id)
    assert (charge.refunded, charge.amount_refunded) == (True, 2300)
    refunds = client.v1.refunds.list(params={"charge": order.charge_id})
    assert [refund.reason for refund in refunds.data] == ["requested_by_customer"]

    again = fulfilment.cancel_order(order.id, client=client)
    assert again.status == "cancelled"
    assert len(client.v1.refunds.list(params={"charge": order.charge_id}).data) == 1


def test_cancel_after_a_partial_refund_refunds_the_rest(client):
    order = paid_order(client)
    fulfilment.refund_charge(order.charge_id, amount=300, idempotency_key="p", client=client)
    fulfilment.cancel_order(order.id, client=client)
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == 2300


def test_a_shipped_order_cannot_be_cancelled(client):
    order = paid_order(client)
    orders.mark_shipped(order.id)
    with pytest.raises(OrderStateError, match="refund it instead"):
        fulfilment.cancel_order(order.id, client=client)
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == 0


def test_approving_a_refund_request_refunds_the_rest_once_and_records_it(client):
    order = paid_order(client)
    fulfilment.refund_charge(order.charge_id, amount=300, idempotency_key="partial-first", client=client)
    orders.mark_shipped(order.id)
    request = refund_requests.request_refund(order.id, CUSTOMER.email, "Arrived damaged")
    decided = fulfilment.approve_refund_request(request.id, note="photo received", client=client)
    charge = client.v1.charges.retrieve(order.charge_id)
    assert charge.amount_refunded == charge.amount
    refunds = client.v1.refunds.list(params={"charge": order.charge_id}).data  # newest first
    assert [r.amount for r in refunds] == [charge.amount - 300, 300]
    assert (decided.status, decided.refund_id, decided.note) == ("approved", refunds[0].id, "photo received")
    assert orders.get_order(order.id).status == "refunded"
    with pytest.raises(OrderStateError, match="not waiting"):
        fulfilment.approve_refund_request(request.id, client=client)
    assert len(client.v1.refunds.list(params={"charge": order.charge_id}).data) == 2


def test_cancel_an_unpaid_order_moves_no_money(client):
    order = new_order()
    pay(order.id, "tok_chargeDeclined", client)
    assert fulfilment.cancel_order(order.id, client=client).status == "cancelled"
    with pytest.raises(PaymentError):
        pay(order.id, "tok_visa", client)
    assert [c.status for c in charges_of(client, order.id)] == ["failed"]


# --- checkout: details, order and charge from one click ---------------------------------------------------------

DETAILS = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "phone": "+1 415 555 0100",
    "line1": "1 Harbor Way",
    "line2": "Suite 5",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94107",
    "country": "US",
}


def click(token: str) -> dict:
    return {"token": token, "brand": "visa", "last4": "4242", "nonce": uuid.uuid4().hex}


def test_checkout_with_wrong_details_writes_no_order(client):
    outcome = charges.checkout({**DETAILS, "email": "nope"}, HAMMING, 1, click("tok_visa"), client=client)
    assert set(outcome.errors) == {"email"}
    assert (outcome.order_id, outcome.result) == (None, None)
    assert orders.list_orders() == []


@pytest.mark.parametrize(("book_id", "quantity"), [("no-such-book", 1), (HAMMING, 0), (HAMMING, 11)])
def test_checkout_refuses_what_the_catalog_does_not_sell(client, book_id, quantity):
    outcome = charges.checkout(DETAILS, book_id, quantity, click("tok_visa"), client=client)
    assert outcome.message
    assert outcome.result is None
    assert orders.list_orders() == []


def test_checkout_without_a_token_says_to_enter_the_card_again(client):
    outcome = charges.checkout(DETAILS, HAMMING, 1, {"token": "", "nonce": "n"}, client=client)
    assert "enter your card again" in outcome.message
    assert orders.list_orders() == []


def test_one_click_prices_the_book_once(client):
    with mock.patch("shop.catalog.price_for", wraps=catalog.price_for) as price_for:
        outcome = charges.checkout(DETAILS, HAMMING, 2, click("tok_visa"), client=client)
    assert outcome.result.succeeded and outcome.result.amount == 2 * catalog.get_book(HAMMING).price
    assert price_for.call_count == 1  # the duplicate check, the order and Stripe share one priced line


def test_checkout_asks_before_charging_a_paid_purchase_again(client):
    first = charges.checkout(DETAILS, HAMMING, 1, click("tok_visa"), client=client)
    assert first.result.succeeded
    again = charges.checkout(DETAILS, HAMMING, 1, click("tok_visa"), client=client)
    assert again.duplicate_of is not None and again.duplicate_of.id == first.order_id
    assert again.result is None and len(orders.list_orders()) == 1  # nothing written or charged while asking
    assert len(client.v1.charges.list().data) == 1
    confirmed = charges.checkout(DETAILS, HAMMING, 1, click("tok_visa"), allow_duplicate=True, client=client)
    assert confirmed.result.succeeded and confirmed.order_id != first.order_id


def test_checkout_retry_reuses_the_order_only_when_nothing_changed(client):
    declined = charges.checkout(DETAILS, HAMMING, 1, click("tok_chargeDeclined"), client=client)
    same = charges.checkout(DETAILS, HAMMING, 1, click("tok_chargeDeclined"), order_id=declined.order_id, client=client)
    assert same.order_id == declined.order_id
    more = charges.checkout(DETAILS, HAMMING, 2, click("tok_visa"), order_id=declined.order_id, client=client)
    assert more.order_id != declined.order_id
    assert (more.result.outcome, more.result.amount) == ("succeeded", 4600)
    assert orders.get_order(declined.order_id).status == "failed"


def test_checkout_after_payment_starts_a_new_order(client):
    first = charges.checkout(DETAILS, HAMMING, 1, click("tok_visa"), client=client)
    second = charges.checkout(
        DETAILS, HAMMING, 1, click("tok_visa"), order_id=first.order_id, allow_duplicate=True, client=client
    )  # the customer said yes to "buy it again?"
    assert second.order_id != first.order_id
    assert second.result.charge_id != first.result.charge_id


def test_checkout_when_stripe_is_misconfigured_charges_nothing_and_says_so(client, monkeypatch, caplog):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_oops")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_live_oops")
    config.get_settings.cache_clear()
    outcome = charges.checkout(DETAILS, HAMMING, 1, click("tok_visa"))
    assert outcome.message == NOT_CONFIGURED_MESSAGE  # the customer: a plain sentence
    assert "Live Stripe keys are refused" in caplog.text  # the operator: the setting to fix, in the log
    assert outcome.result is None


def test_cancel_while_stripe_is_unreachable_changes_nothing(client):
    order = paid_order(client)
    dead = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": f"http://127.0.0.1:{free_port()}"}, max_network_retries=0
    )
    with pytest.raises(fulfilment.RefundError, match="could not reach Stripe"):
        fulfilment.cancel_order(order.id, client=dead)
    assert orders.get_order(order.id).status == "paid"
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == 0
