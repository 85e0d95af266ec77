"""Two actions on one order or request at the same time: exactly one wins, the other gets the rule's sentence.

Each race is made deterministic by running the rival action at the worst moment: while the first action's refund
is on its way to Stripe (between its check and its write), or by a crash between Stripe's answer and the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
import stripe
from stripe._http_client import new_default_http_client

from shop import catalog, fulfilment, orders, refund_requests
from shop.checkout import charges
from shop.orders import OrderStateError
from tests.support import use_emulator
from tests.support_data import CUSTOMER


class _InterruptingHTTPClient:
    """An SDK HTTP client that runs `rival()` once, just before the first POST to /v1/refunds leaves."""

    def __new__(cls, rival: Callable[[], object]):
        base = type(new_default_http_client())

        class _Client(base):
            def request(self, method, url, headers, post_data=None):
                if method == "post" and url.split("?")[0].endswith("/v1/refunds") and not self.rival_ran:
                    self.rival_ran = True
                    try:
                        self.rival_outcome = rival()
                    except OrderStateError as exc:
                        self.rival_outcome = exc
                return super().request(method, url, headers, post_data)

        client = _Client()
        client.rival_ran, client.rival_outcome = False, None
        return client


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator) -> stripe.StripeClient:
    use_emulator(monkeypatch, emulator, tmp_path)
    return emulator.client()


def _interrupted_client(emulator, rival: Callable[[], object]) -> stripe.StripeClient:
    http = _InterruptingHTTPClient(rival)
    client = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": emulator.url}, http_client=http, max_network_retries=0
    )
    client.rival_http = http  # for the test to see whether the rival ran and what it got
    return client


@contextmanager
def _process_dies_at(monkeypatch: pytest.MonkeyPatch, store: ModuleType, store_function: str) -> Iterator[None]:
    """Inside: the app process "dies" when it calls `<store>.<store_function>` (after Stripe answered)."""

    def crash(*args, **kwargs):
        raise SystemExit(f"the app process died before {store.__name__}.{store_function} wrote what Stripe did")

    with monkeypatch.context() as patch, pytest.raises(SystemExit):
        patch.setattr(store, store_function, crash)
        yield


def _paid_order(client: stripe.StripeClient) -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line("art-of-doing-science", 1))
    result = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, client=client)
    assert result.succeeded
    return result.order


def test_shipping_during_a_cancellation_is_refused_so_no_order_ships_refunded(client, emulator):
    order = _paid_order(client)
    racing = _interrupted_client(emulator, lambda: orders.mark_shipped(order.id))

    cancelled = fulfilment.cancel_order(order.id, client=racing)

    assert racing.rival_http.rival_ran
    final = orders.get_order(order.id)
    charge = client.v1.charges.retrieve(order.charge_id)
    assert (cancelled.status, final.status, final.shipped_at) == ("cancelled", "cancelled", None)
    assert (charge.refunded, charge.amount_refunded) == (True, order.amount)


def test_the_ship_that_lost_the_race_says_the_order_is_being_cancelled(client, emulator):
    order = _paid_order(client)
    outcome: list[object] = []

    def ship() -> None:
        try:
            orders.mark_shipped(order.id)
        except OrderStateError as exc:
            outcome.append(str(exc))
        else:
            outcome.append("shipped")

    fulfilment.cancel_order(order.id, client=_interrupted_client(emulator, ship))

    assert outcome == [f"Order {order.id} is being cancelled and refunded; it cannot be shipped."]


def test_rejecting_during_an_approval_is_refused_so_a_refunded_request_is_never_rejected(client, emulator):
    order = _paid_order(client)
    orders.mark_shipped(order.id)
    request = refund_requests.request_refund(order.id, CUSTOMER.email, "Pages missing")
    refusals: list[str] = []

    def reject() -> None:
        try:
            refund_requests.decide_refund_request(request.id, False, note="no")
        except OrderStateError as exc:
            refusals.append(str(exc))

    decided = fulfilment.approve_refund_request(request.id, client=_interrupted_client(emulator, reject))

    assert decided.status == "approved"
    assert refund_requests.get_refund_request(request.id).status == "approved"
    assert refusals == [f"Refund request {request.id} is being approved; its refund may already be made."]
    assert client.v1.charges.retrieve(order.charge_id).amount_refunded == order.amount


def test_a_second_approval_after_a_crash_mid_approval_completes_the_request(client, monkeypatch):
    order = _paid_order(client)
    orders.mark_shipped(order.id)
    request = refund_requests.request_refund(order.id, CUSTOMER.email, "Wrong book")

    with _process_dies_at(monkeypatch, refund_requests, "decide_refund_request"):
        fulfilment.approve_refund_request(request.id, client=client)
    assert client.v1.charges.retrieve(order.charge_id).refunded  # Stripe did refund

    decided = fulfilment.approve_refund_request(request.id, client=client)

    refunds = client.v1.refunds.list(params={"charge": order.charge_id}).data
    assert [refund.amount for refund in refunds] == [order.amount]  # the same refund, not a second one
    assert (decided.status, decided.refund_id) == ("approved", refunds[0].id)
    assert refund_requests.open_refund_requests(order_id=order.id) == []


def test_a_cancellation_interrupted_after_its_refund_is_finished_by_cancelling_again(client, monkeypatch):
    order = _paid_order(client)

    with _process_dies_at(monkeypatch, orders, "mark_cancelled"):
        fulfilment.cancel_order(order.id, client=client)
    with pytest.raises(OrderStateError, match="being cancelled"):
        orders.mark_shipped(order.id)

    assert fulfilment.cancel_order(order.id, client=client).status == "cancelled"
    assert len(client.v1.refunds.list(params={"charge": order.charge_id}).data) == 1


def test_a_refused_refund_gives_the_order_back(client):
    order = _paid_order(client)
    client.v1.refunds.create(params={"charge": order.charge_id})  # refunded elsewhere (the Dashboard, say)
    orders.begin_cancel(order.id)
    orders.abandon_cancel(order.id)
    assert orders.get_order(order.id).status == "paid"
    assert fulfilment.cancel_order(order.id, client=client).status == "cancelled"
