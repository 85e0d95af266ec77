"""Two tabs with the same details paying at once: the second is asked first, as a purchase minutes after another is.

The first tab's payment is still under way (a charge in flight, an intent being made or confirmed) when the second
clicks Pay; nothing is paid yet, so only an order still being paid can tell the second click it may be a duplicate.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from shop import attempts, catalog, order_checks, orders
from shop.checkout import charges, intents
from shop.validation import validate_customer
from tests.support import use_emulator
from tests.support_data import CHECKOUT_DETAILS

HAMMING = "art-of-doing-science"  # $23.00 in the catalog
SECRET = {"Authorization": "Bearer sk_test_emulator"}
CUSTOMER = orders.Customer(**validate_customer(CHECKOUT_DETAILS).values)


@pytest.fixture
def emu(private_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private emulator (faults are process-wide there), emptied per test, and a fresh order store."""
    private_emulator.reset()
    use_emulator(monkeypatch, private_emulator, tmp_path)
    yield private_emulator
    private_emulator.reset()


@pytest.fixture
def client(emu):
    return emu.client()


def test_a_purchase_with_a_charge_in_flight_is_a_possible_duplicate(client):
    first = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    attempts.start_attempt(first.id, "tab-1")  # the first tab's charge is on its way to Stripe

    second = charges.checkout(CHECKOUT_DETAILS, HAMMING, 1, {"token": "tok_visa", "nonce": "tab-2"}, client=client)

    assert second.duplicate_of is not None and second.duplicate_of.id == first.id
    assert [order.id for order in orders.list_orders()] == [first.id]  # nothing written, nothing charged
    another_amount = catalog.priced_line(HAMMING, 2)  # another amount is another purchase
    assert order_checks.possible_duplicate(CUSTOMER.email, another_amount) is None
    again = charges.checkout(
        CHECKOUT_DETAILS, HAMMING, 1, {"token": "tok_visa", "nonce": "tab-2"}, allow_duplicate=True, client=client
    )
    assert again.result is not None and again.result.succeeded


def test_an_order_being_paid_in_the_same_tab_is_not_a_duplicate_of_itself(client):
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1))
    attempt = attempts.start_attempt(order.id, "c-2")
    attempts.finish_attempt(attempt.id, "error", message="Stripe could not be reached")  # pending, result unknown
    assert orders.get_order(order.id).status == "pending"

    retried = charges.checkout(
        CHECKOUT_DETAILS, HAMMING, 1, {"token": "tok_visa", "nonce": "c-3"}, order_id=order.id, client=client
    )

    assert retried.duplicate_of is None
    assert retried.result is not None and retried.result.succeeded and retried.order_id == order.id


def second_tab_while_the_first_ones_intent_is_made(emu, client, details: dict) -> tuple:
    """Tab 1 clicks Pay and its intent create is held by Stripe; tab 2 clicks Pay with `details` meanwhile."""
    armed = httpx.post(
        f"{emu.url}/_emulator/faults",
        json={"method": "POST", "path": "/v1/payment_intents", "action": {"delay_s": 2}},
        headers=SECRET,
    )
    assert armed.status_code == 200, armed.text
    first: list[intents.PreparedCheckout] = []
    tab_1 = threading.Thread(
        target=lambda: first.append(intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, 1, client=client))
    )
    tab_1.start()
    for _ in range(2000):  # until the first tab's intent create is held by the emulator
        if not httpx.get(f"{emu.url}/_emulator/faults", headers=SECRET).json()["data"]:
            break
        threading.Event().wait(0.005)
    second = intents.prepare_checkout(details, HAMMING, 1, client=client)
    tab_1.join()
    return first[0], second


def test_a_second_tab_with_other_details_clicking_pay_while_the_first_ones_intent_is_made_is_asked_first(client, emu):
    first, second = second_tab_while_the_first_ones_intent_is_made(
        emu, client, {**CHECKOUT_DETAILS, "phone": "+1 415 555 0199"}
    )
    assert first.ready
    assert second.duplicate_of is not None and second.duplicate_of.id == first.order.id
    assert len(orders.list_orders()) == 1


def test_a_second_tab_with_the_same_details_meanwhile_shares_the_first_ones_order_and_intent(client, emu):
    first, second = second_tab_while_the_first_ones_intent_is_made(emu, client, CHECKOUT_DETAILS)
    assert first.ready and second.ready
    assert second.order.id == first.order.id
    assert second.client_secret == first.client_secret  # one intent: it can succeed once
    assert len(orders.list_orders()) == 1
    order_intents = [
        intent
        for intent in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if intent.metadata.to_dict().get("order_id") == first.order.id
    ]
    assert len(order_intents) == 1


def test_a_declined_intent_order_being_paid_again_in_its_tab_is_asked_about_but_a_declined_charge_is_not(client):
    first = intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, 1, client=client)
    client.v1.payment_intents.confirm(
        first.order.payment_intent_id, params={"payment_method": "pm_card_authenticationRequired"}
    )  # its tab retries after a decline: the bank's check is open, the order still says failed
    attempts.finish_attempt(attempts.start_attempt(first.order.id, "declined").id, "failed", code="card_declined")
    assert orders.get_order(first.order.id).status == "failed"
    other_tab = {**CHECKOUT_DETAILS, "phone": "+1 415 555 0199"}

    asked = intents.prepare_checkout(other_tab, HAMMING, 1, client=client)

    assert asked.duplicate_of is not None and asked.duplicate_of.id == first.order.id
    # the Charges flow: a decline is final
    charges_order = orders.create_order(CUSTOMER, catalog.priced_line("working-in-public", 1))
    attempts.finish_attempt(attempts.start_attempt(charges_order.id, "c-1").id, "failed", code="card_declined")
    assert order_checks.possible_duplicate(CUSTOMER.email, catalog.priced_line("working-in-public", 1)) is None
