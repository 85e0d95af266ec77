"""The order store: orders written before charging, one attempt per nonce, status derived from facts."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from shop import attempts, catalog, order_rules, orders, refund_requests, second_charges
from shop.db import get_engine

ADA = orders.Customer(
    name="Ada Lovelace",
    email="Ada@Example.com",
    phone="+1 415 555 0100",
    line1="1 Analytical Way",
    city="San Francisco",
    state="CA",
    postal_code="94107",
    country="US",
)


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    """A fresh store, on SQLite and on PostgreSQL."""
    return get_engine(database_url)


def paid_order(engine: sa.Engine, quantity: int = 1) -> orders.Order:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", quantity), engine=engine)
    attempt = attempts.start_attempt(order.id, "nonce-paid", card_brand="visa", card_last4="4242", engine=engine)
    attempts.finish_attempt(
        attempt.id, "succeeded", charge_id="ch_paid", amount=order.amount, currency=order.currency, engine=engine
    )
    return orders.get_order(order.id, engine=engine)


def test_new_order_is_pending_with_the_catalog_price(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 3), engine=engine)
    book = catalog.get_book("working-in-public")
    assert order.status == "pending"
    assert order.amount == 3 * book.price
    assert order.unit_amount == book.price
    assert order.currency == "usd"
    assert order.id.startswith("SP-") and len(order.id) == 11
    assert orders.get_order(order.id, engine=engine) == order


def test_an_order_number_already_taken_is_drawn_again_and_the_stored_order_is_untouched(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    drawn = iter([first.id, first.id, "SP-FRESH234"])
    monkeypatch.setattr(orders, "_new_order_id", lambda: next(drawn))
    second = orders.create_order(ADA, catalog.priced_line("dream-machine", 2), engine=engine)
    assert second.id == "SP-FRESH234"
    assert (second.book_id, second.quantity) == ("dream-machine", 2)
    assert orders.get_order(first.id, engine=engine) == first

    monkeypatch.setattr(orders, "_new_order_id", lambda: first.id)
    with pytest.raises(RuntimeError, match="could not allocate an order number"):
        orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    assert orders.count_orders(engine=engine) == 2


def test_unknown_book_and_bad_quantity_are_refused(engine: sa.Engine) -> None:
    with pytest.raises(catalog.UnknownBookError):
        orders.create_order(ADA, catalog.priced_line("no-such-book", 1), engine=engine)
    with pytest.raises(ValueError, match="1 to 10"):
        orders.create_order(ADA, catalog.priced_line("working-in-public", 11), engine=engine)


def test_find_order_needs_number_and_email(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    assert orders.find_order(order.id.lower(), " ada@example.COM ", engine=engine) == order
    assert orders.find_order(order.id, "someone@example.com", engine=engine) is None
    assert orders.find_order("SP-NOTHERE", ADA.email, engine=engine) is None


def test_same_nonce_gives_the_same_attempt_even_concurrently(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    keys: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            keys.append(attempts.start_attempt(order.id, "click-1", engine=engine).idempotency_key)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(keys) == 20 and len(set(keys)) == 1
    assert len(attempts.list_attempts(order.id, engine=engine)) == 1


def test_new_attempt_refused_while_one_is_in_flight(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    attempts.start_attempt(order.id, "click-1", engine=engine)
    with pytest.raises(orders.OrderStateError, match="already in progress"):
        attempts.start_attempt(order.id, "click-2", engine=engine)


def test_decline_then_success_marks_the_same_order_paid(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    first = attempts.start_attempt(order.id, "click-1", engine=engine)
    attempts.finish_attempt(
        first.id, "failed", code="card_declined", decline_code="insufficient_funds", message="no", engine=engine
    )
    assert orders.get_order(order.id, engine=engine).status == "failed"
    second = attempts.start_attempt(order.id, "click-2", engine=engine)
    assert second.idempotency_key != first.idempotency_key
    attempts.finish_attempt(
        second.id, "succeeded", charge_id="ch_ok", amount=order.amount, currency=order.currency, engine=engine
    )
    paid = orders.get_order(order.id, engine=engine)
    assert (paid.status, paid.charge_id) == ("paid", "ch_ok")
    both = attempts.list_attempts(order.id, engine=engine)
    assert [(a.outcome, a.decline_code) for a in both] == [("failed", "insufficient_funds"), ("succeeded", None)]
    with pytest.raises(orders.OrderStateError, match="cannot be paid again"):
        attempts.start_attempt(order.id, "click-3", engine=engine)


def _charge(charge_id: str, order: orders.Order) -> dict:
    card = {"brand": "visa", "last4": "4242"}
    return {
        "id": charge_id,
        "amount": order.amount,
        "currency": order.currency,
        "payment_method_details": {"card": card},
    }


def test_a_charge_result_is_recorded_once_and_gives_the_order_as_it_left_it(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    charge = _charge("ch_result", order)
    paid = attempts.record_charge_result(order.id, "ch_result", "succeeded", charge=charge, engine=engine)
    assert (paid.status, paid.charge_id) == ("paid", "ch_result")
    assert paid == orders.get_order(order.id, engine=engine)
    again = attempts.record_charge_result(order.id, "ch_result", "succeeded", charge=charge, engine=engine)
    assert (again.status, again.charge_id, again.paid_at) == ("paid", "ch_result", paid.paid_at)
    [attempt] = attempts.list_attempts(order.id, engine=engine)
    assert (attempt.outcome, attempt.charge_id, attempt.card_brand, attempt.card_last4) == (
        "succeeded",
        "ch_result",
        "visa",
        "4242",
    )
    assert attempt.idempotency_key == f"charge-{order.id}-1-ch_result"


def test_a_charge_result_finishes_the_attempt_a_crash_left_pending(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    lost = attempts.start_attempt(order.id, "click-lost", engine=engine)
    failed = attempts.record_charge_result(
        order.id,
        "ch_declined",
        "failed",
        charge=_charge("ch_declined", order),
        code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
        engine=engine,
    )
    assert (failed.status, failed.last_error) == ("failed", "Your card has insufficient funds.")
    [attempt] = attempts.list_attempts(order.id, engine=engine)
    assert (attempt.id, attempt.outcome, attempt.charge_id) == (lost.id, "failed", "ch_declined")


def test_an_order_keeps_its_one_payment_intent(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    stored = orders.set_payment_intent(order.id, "pi_first", engine=engine)
    assert (stored.payment_intent_id, stored.status) == ("pi_first", "pending")
    assert orders.set_payment_intent(order.id, "pi_first", engine=engine).payment_intent_id == "pi_first"
    with pytest.raises(orders.OrderStateError, match="already has PaymentIntent pi_first"):
        orders.set_payment_intent(order.id, "pi_second", engine=engine)
    assert orders.get_order(order.id, engine=engine).payment_intent_id == "pi_first"
    with pytest.raises(orders.OrderNotFoundError):
        orders.set_payment_intent("SP-NOSUCHORDER", "pi_first", engine=engine)


def test_error_keeps_order_pending_and_unsettled(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    attempt = attempts.start_attempt(order.id, "click-1", engine=engine)
    attempts.finish_attempt(attempt.id, "error", message="connection reset", engine=engine)
    assert orders.get_order(order.id, engine=engine).status == "pending"
    assert orders.get_order(order.id, engine=engine).last_error == "connection reset"
    assert [a.id for a in attempts.unsettled_attempts(engine=engine)] == [attempt.id]


def test_ship_and_cancel_rules(engine: sa.Engine) -> None:
    unpaid = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    with pytest.raises(orders.OrderStateError, match="not paid"):
        orders.mark_shipped(unpaid.id, engine=engine)

    to_cancel = paid_order(engine)
    assert order_rules.may_cancel(to_cancel) and order_rules.may_ship(to_cancel)
    cancelled = orders.mark_cancelled(to_cancel.id, engine=engine)
    assert cancelled.status == "cancelled"
    assert orders.mark_cancelled(to_cancel.id, engine=engine).status == "cancelled"  # idempotent
    with pytest.raises(orders.OrderStateError, match="cannot be shipped"):
        orders.mark_shipped(to_cancel.id, engine=engine)

    to_ship = paid_order(engine)
    shipped = orders.mark_shipped(to_ship.id, engine=engine)
    assert shipped.status == "shipped" and not order_rules.may_cancel(shipped)
    with pytest.raises(orders.OrderStateError, match="refund it instead"):
        orders.mark_cancelled(to_ship.id, engine=engine)
    with pytest.raises(orders.OrderStateError, match="already shipped"):
        orders.mark_shipped(to_ship.id, engine=engine)


def test_refund_totals_drive_status(engine: sa.Engine) -> None:
    order = paid_order(engine, quantity=2)
    partial = orders.record_refund(order.id, 500, engine=engine)
    assert (partial.status, partial.refundable) == ("partially_refunded", order.amount - 500)
    full = orders.record_refund(order.id, order.amount, engine=engine)
    assert (full.status, full.refundable) == ("refunded", 0)
    with pytest.raises(orders.OrderStateError, match="nothing to ship"):
        orders.mark_shipped(order.id, engine=engine)
    with pytest.raises(ValueError):
        orders.record_refund(order.id, order.amount + 1, engine=engine)


def test_refund_requests_only_for_shipped_orders_of_the_right_customer(engine: sa.Engine) -> None:
    order = paid_order(engine)
    with pytest.raises(orders.OrderStateError, match="cancel it instead"):
        refund_requests.request_refund(order.id, ADA.email, "changed my mind", engine=engine)
    orders.mark_shipped(order.id, engine=engine)
    with pytest.raises(orders.OrderNotFoundError):
        refund_requests.request_refund(order.id, "mallory@example.com", "please", engine=engine)
    with pytest.raises(ValueError, match="why"):
        refund_requests.request_refund(order.id, ADA.email, "   ", engine=engine)
    request = refund_requests.request_refund(order.id, ADA.email, "Arrived damaged", engine=engine)
    assert request.status == "pending"
    with pytest.raises(orders.OrderStateError, match="already waiting"):
        refund_requests.request_refund(order.id, ADA.email, "again", engine=engine)
    decided = refund_requests.decide_refund_request(request.id, True, refund_id="re_1", engine=engine)
    assert (decided.status, decided.refund_id) == ("approved", "re_1")
    with pytest.raises(orders.OrderStateError, match="already approved"):
        refund_requests.decide_refund_request(request.id, False, engine=engine)
    assert refund_requests.list_refund_requests("pending", engine=engine) == []


def test_list_orders_filters_by_statuses_and_search(engine: sa.Engine) -> None:
    grace = orders.Customer(**{**ADA.__dict__, "name": "Grace Hopper", "email": "grace@example.org"})
    pending = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    paid = paid_order(engine)
    other = orders.create_order(grace, catalog.priced_line("dream-machine", 1), engine=engine)
    both = orders.list_orders(status=["pending", "paid"], engine=engine)
    assert {o.id for o in both} == {pending.id, paid.id, other.id}
    assert orders.list_orders(status=["failed"], engine=engine) == []
    assert [o.id for o in orders.list_orders(status="paid", engine=engine)] == [paid.id]
    assert [o.id for o in orders.list_orders(search="HOPPER", engine=engine)] == [other.id]
    assert [o.id for o in orders.list_orders(search=other.id[-4:].lower(), engine=engine)] == [other.id]
    assert orders.list_orders(search="%", engine=engine) == []  # a wildcard is searched as a character
    assert orders.count_orders(engine=engine) == 3


def test_listing_orders_with_an_intent_leaves_out_those_without(engine: sa.Engine) -> None:
    with_intent = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    orders.set_payment_intent(with_intent.id, "pi_test_listing", engine=engine)
    # a Charges-flow order: no intent
    orders.create_order(ADA, catalog.priced_line("working-in-public", 2), engine=engine)
    listed = orders.list_orders(status=("pending", "failed"), with_intent=True, engine=engine)
    assert [order.id for order in listed] == [with_intent.id]
    assert listed[0].payment_intent_id == "pi_test_listing"


def test_a_second_success_never_replaces_the_charge_of_a_paid_order(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    first = attempts.start_attempt(order.id, "first", engine=engine)
    attempts.finish_attempt(first.id, "failed", code=attempts.NOT_CHARGED, engine=engine)  # taken for not charged
    second = attempts.start_attempt(order.id, "second", engine=engine)
    attempts.finish_attempt(
        second.id, "succeeded", charge_id="ch_second", amount=order.amount, currency=order.currency, engine=engine
    )

    late = attempts.finish_attempt(
        first.id, "succeeded", charge_id="ch_first", amount=order.amount, currency=order.currency, engine=engine
    )

    assert (late.attempt.outcome, late.attempt.charge_id) == ("succeeded", "ch_first")  # what Stripe did
    assert late.order == orders.get_order(order.id, engine=engine)
    assert late.order.charge_id == "ch_second"


def test_a_success_for_a_cancelled_order_does_not_pay_it(engine: sa.Engine) -> None:
    order = orders.create_order(ADA, catalog.priced_line("working-in-public", 1), engine=engine)
    attempt = attempts.start_attempt(order.id, "late", engine=engine)
    attempts.finish_attempt(attempt.id, "error", message="timed out", engine=engine)
    orders.begin_cancel(order.id, engine=engine)
    orders.mark_cancelled(order.id, engine=engine)

    attempts.finish_attempt(
        attempt.id, "succeeded", charge_id="ch_late", amount=order.amount, currency=order.currency, engine=engine
    )

    after = orders.get_order(order.id, engine=engine)
    assert (after.status, after.charge_id, after.paid_at) == ("cancelled", None, None)


def test_second_charges_are_recorded_once_and_marked_refunded(engine: sa.Engine) -> None:
    order = paid_order(engine)
    second_charges.record_second_charge(order.id, "ch_two", 2300, "usd", "sync", engine=engine)
    again = second_charges.record_second_charge(order.id, "ch_two", 2300, "usd", "reconcile", engine=engine)
    assert (again.found_by, again.refunded_at) == ("sync", None)
    assert [r.charge_id for r in second_charges.list_second_charges(refunded=False, engine=engine)] == ["ch_two"]

    done = second_charges.second_charge_refunded("ch_two", "re_two", engine=engine)

    assert (done.refund_id, done.refunded_at is not None) == ("re_two", True)
    assert second_charges.list_second_charges(refunded=False, engine=engine) == []
    assert [r.refund_id for r in second_charges.list_second_charges(engine=engine)] == ["re_two"]
