"""shop.checkout.sessions against the emulator: one Checkout Session per order, paid the way the Payment Element
pays it, and the order settled from the session Stripe has (never the browser's word)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from shop import attempts, clock, orders, webhooks
from shop.checkout import reconcile, sessions
from shop.config import ConfigError, load_settings
from shop.db import get_engine
from shop.mail import compose, outbox
from shop.mail.settings import load_mail_settings
from tests.support import use_emulator
from tests.support_data import CHECKOUT_DETAILS

HAMMING = "art-of-doing-science"  # $23.00 in the catalog
RETURN_URL = "http://127.0.0.1:9700/?session_id={CHECKOUT_SESSION_ID}"
PUBLISHABLE = {"Authorization": "Bearer pk_test_emulator_elements"}
ROUTING = "110000000"
BANK_SUCCEEDS, BANK_INSUFFICIENT_FUNDS = "000123456789", "000222222227"
MANDATE = {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1", "user_agent": "test"}}}


@pytest.fixture
def client(private_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stripe.StripeClient:
    """A private emulator (its clock is moved here), emptied per test, and a fresh order store."""
    private_emulator.reset()
    use_emulator(monkeypatch, private_emulator, tmp_path)
    yield private_emulator.client()
    private_emulator.unfreeze_clock()
    private_emulator.reset()


def emails_of(order_id: str) -> list[str]:
    """The kinds of the emails queued for the order, newest first."""
    return [message.kind for message in outbox.messages(order_id=order_id, engine=get_engine())]


def prepare(client, quantity: int = 1, **kwargs) -> sessions.PreparedSession:
    return sessions.prepare_session(CHECKOUT_DETAILS, HAMMING, quantity, return_url=RETURN_URL, client=client, **kwargs)


ADDRESS_ELEMENT = {
    "shipping[name]": "Grace Hopper",
    "shipping[address][line1]": "1 Harbor Way",
    "shipping[address][city]": "San Francisco",
    "shipping[address][state]": "CA",
    "shipping[address][postal_code]": "94107",
    "shipping[address][country]": "US",
    "phone": "+1 415 555 0100",
}


def page_confirm(emulator, prepared: sessions.PreparedSession, address: dict[str, str] = ADDRESS_ELEMENT) -> str:
    """What the Address and Payment Elements send for the session; returns its PaymentIntent's id."""
    secret = prepared.client_secret
    url = f"{emulator.url}/v1/payment_pages/{prepared.session_id}"
    saved = httpx.post(url, data={"client_secret": secret, **address}, headers=PUBLISHABLE)
    assert saved.status_code == 200, saved.text
    started = httpx.post(
        f"{url}/confirm", data={"client_secret": secret, "payment_method_type": "card"}, headers=PUBLISHABLE
    )
    assert started.status_code == 200, started.text
    return started.json()["payment_intent"]


def pay_card(emulator, client, prepared, payment_method: str = "pm_card_visa", address=ADDRESS_ELEMENT) -> Any:
    intent_id = page_confirm(emulator, prepared, address)
    try:
        return client.v1.payment_intents.confirm(intent_id, params={"payment_method": payment_method})
    except stripe.CardError as exc:
        return exc


def pay_bank(emulator, client, prepared, account: str) -> Any:
    intent_id = page_confirm(emulator, prepared)
    return client.v1.payment_intents.confirm(
        intent_id,
        params={
            "payment_method_data": {
                "type": "us_bank_account",
                "us_bank_account": {
                    "routing_number": ROUTING,
                    "account_number": account,
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Grace Hopper", "email": "grace@example.com"},
            },
            "mandate_data": MANDATE,
        },
    )


def settle_debits(emulator) -> None:
    """Move the emulator's clock past the debits' settling time, for one request."""
    emulator.freeze_clock(emulator.now() + 3600)
    emulator.client().v1.balance.retrieve()


def sessions_of(client, order_id: str) -> list[Any]:
    return [
        s
        for s in client.v1.checkout.sessions.list(params={"limit": 100}).auto_paging_iter()
        if s.metadata.to_dict().get("order_id") == order_id
    ]


def test_checkout_sessions_is_a_checkout_api_and_a_wrong_one_says_what_to_set() -> None:
    assert load_settings({"CHECKOUT_API": "checkout_sessions"}, secrets={}).checkout_api == "checkout_sessions"
    with pytest.raises(ConfigError, match=r"payment_intents .*charges or checkout_sessions"):
        load_settings({"CHECKOUT_API": "sessions"}, secrets={})


def test_the_session_is_made_from_the_catalog_and_the_order(client) -> None:
    prepared = prepare(client, quantity=2)
    assert prepared.ready
    session = client.v1.checkout.sessions.retrieve(prepared.session_id, params={"expand": ["line_items"]})
    assert (session.ui_mode, session.mode, session.status) == ("elements", "payment", "open")
    assert (session.amount_total, session.currency) == (4600, "usd") == (prepared.order.amount, prepared.order.currency)
    item = session.line_items.data[0]
    assert (item.quantity, item.price.unit_amount) == (2, 2300)
    assert item.description == "The Art of Doing Science and Engineering"
    assert session.customer_email == "grace@example.com"
    assert session.metadata["order_id"] == prepared.order.id
    assert "US" in session.shipping_address_collection.allowed_countries
    assert "KP" not in session.shipping_address_collection.allowed_countries
    assert session.payment_method_types == ["card", "us_bank_account", "klarna"]
    assert session.return_url == RETURN_URL


def test_preparing_twice_gives_one_order_and_one_session(client) -> None:
    first = prepare(client)
    again = prepare(client, order_id=first.order.id)
    assert (again.order.id, again.session_id) == (first.order.id, first.session_id)
    reloaded = prepare(client)  # a reload: no order id kept, the customer's recent order is continued
    assert (reloaded.order.id, reloaded.session_id) == (first.order.id, first.session_id)
    assert len(sessions_of(client, first.order.id)) == 1


def test_a_changed_quantity_expires_the_old_session_and_makes_a_new_one(client) -> None:
    first = prepare(client)
    changed = prepare(client, quantity=3, order_id=first.order.id)
    assert changed.order.id == first.order.id and changed.session_id != first.session_id
    assert changed.order.amount == 6900
    assert client.v1.checkout.sessions.retrieve(first.session_id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(changed.session_id).amount_total == 6900


def test_a_card_payment_settles_the_order_at_stripes_amount(private_emulator, client) -> None:
    prepared = prepare(client)
    pay_card(private_emulator, client, prepared)
    result = sessions.settle_session(prepared.session_id, client=client)
    assert result.succeeded
    order = orders.get_order(prepared.order.id)
    charge = client.v1.charges.retrieve(order.charge_id)
    assert (order.status, charge.amount, charge.currency) == ("paid", order.amount, order.currency)
    assert result.charge_id == charge.id and (result.card_brand, result.card_last4) == ("visa", "4242")
    # Settled again (a webhook after the page): nothing changes, one attempt.
    assert sessions.settle_session(prepared.session_id, client=client).charge_id == charge.id
    assert [a.outcome for a in attempts.list_attempts(order.id)] == ["succeeded"]


def test_the_shop_asks_the_email_alone_and_the_order_ships_where_the_address_element_says(
    private_emulator, client
) -> None:
    prepared = sessions.prepare_session({"email": "Ada@Example.com"}, HAMMING, 1, return_url=RETURN_URL, client=client)
    assert prepared.ready, prepared.errors or prepared.message
    # Until Stripe's Address Element has them, the order knows the email only.
    assert (prepared.order.customer.email, prepared.order.customer.name, prepared.order.customer.line1) == (
        "Ada@example.com",
        "",
        "",
    )
    typed = {
        "shipping[name]": "Ada Lovelace",
        "shipping[address][line1]": "12 St James's Square",
        "shipping[address][line2]": "Flat 2",
        "shipping[address][city]": "Portland",
        "shipping[address][state]": "OR",
        "shipping[address][postal_code]": "97205",
        "shipping[address][country]": "US",
        "phone": "+1 503 555 0101",
    }
    pay_card(private_emulator, client, prepared, address=typed)
    assert sessions.settle_session(prepared.session_id, client=client).succeeded

    order = orders.get_order(prepared.order.id)
    charge = client.v1.charges.retrieve(order.charge_id)
    shipping, session = charge.shipping, client.v1.checkout.sessions.retrieve(prepared.session_id)
    assert order.customer == orders.Customer(
        name=shipping.name,
        email="Ada@example.com",
        phone=session.customer_details.phone,
        line1=shipping.address.line1,
        line2=shipping.address.line2,
        city=shipping.address.city,
        state=shipping.address.state,
        postal_code=shipping.address.postal_code,
        country=shipping.address.country,
    )
    assert (order.customer.name, order.customer.city, order.customer.line2) == ("Ada Lovelace", "Portland", "Flat 2")
    # The confirmation goes to the email typed in the shop (composed from the order, so to the address above).
    [confirmed] = [m for m in outbox.messages(order_id=order.id, engine=get_engine()) if m.kind == "confirmed"]
    assert confirmed.recipient == "Ada@example.com"


def test_a_wrong_email_is_the_one_thing_the_shop_form_can_get_wrong(client) -> None:
    prepared = sessions.prepare_session({"email": "ada@"}, HAMMING, 1, return_url=RETURN_URL, client=client)
    assert prepared.errors == {"email": "Enter an email address like name@example.com."} and prepared.order is None


def test_a_decline_then_a_success_on_the_same_session(private_emulator, client) -> None:
    prepared = prepare(client)
    pay_card(private_emulator, client, prepared, "pm_card_chargeDeclined")
    declined = sessions.settle_session(prepared.session_id, client=client)
    assert declined.outcome == "declined" and declined.code == "card_declined"
    assert orders.get_order(prepared.order.id).status == "failed"
    retry = prepare(client, order_id=prepared.order.id)
    assert retry.session_id == prepared.session_id  # everything typed stays: the same session
    pay_card(private_emulator, client, retry)
    assert sessions.settle_session(retry.session_id, client=client).succeeded
    assert [a.outcome for a in attempts.list_attempts(prepared.order.id)] == ["failed", "succeeded"]
    assert orders.get_order(prepared.order.id).status == "paid"


def test_a_bank_debit_is_processing_then_its_webhook_marks_the_order_paid(private_emulator, client) -> None:
    prepared = prepare(client)
    assert pay_bank(private_emulator, client, prepared, BANK_SUCCEEDS).status == "processing"
    processing = sessions.settle_session(prepared.session_id, client=client)
    assert (processing.outcome, processing.message) == ("processing", sessions.PROCESSING_MESSAGE)
    told = orders.get_order(prepared.order.id).updated
    with clock.store_clock(lambda: told + 60):  # a later look (the webhook's, reconciliation's) changes nothing
        sessions.settle_session(prepared.session_id, client=client)
    assert orders.get_order(prepared.order.id).updated == told  # nor takes the order's lock to find that out
    assert emails_of(prepared.order.id) == ["debit_processing"]  # as the page promises: "we will email you"
    (queued,) = outbox.messages(order_id=prepared.order.id, engine=get_engine())
    email = compose.build(queued, load_mail_settings({}), engine=get_engine(), client=client)
    assert "from your US bank account ending in 6789 is on its way" in email.get_body(("plain",)).get_content()
    order = orders.get_order(prepared.order.id)
    assert (order.paid_at, order.charge_id, order.status) == (None, None, "pending")
    with pytest.raises(orders.OrderStateError):  # nothing ships while the debit is processing
        orders.mark_shipped(order.id)
    settle_debits(private_emulator)
    events = client.v1.events.list(params={"type": "checkout.session.async_payment_succeeded"}).data
    assert [event.data.object.id for event in events] == [prepared.session_id]
    assert webhooks.apply_event(events[0].to_dict(), client=client)[0] == 200
    paid = orders.get_order(prepared.order.id)
    assert paid.status == "paid" and client.v1.charges.retrieve(paid.charge_id).amount == paid.amount
    assert emails_of(paid.id) == ["confirmed", "debit_processing"]


def test_a_bank_debit_that_fails_marks_the_attempt_failed_and_a_new_session_is_made(private_emulator, client) -> None:
    prepared = prepare(client)
    pay_bank(private_emulator, client, prepared, BANK_INSUFFICIENT_FUNDS)
    settle_debits(private_emulator)
    events = client.v1.events.list(params={"type": "checkout.session.async_payment_failed"}).data
    assert webhooks.apply_event(events[0].to_dict(), client=client)[0] == 200
    order = orders.get_order(prepared.order.id)
    assert (order.status, order.paid_at) == ("failed", None)
    assert [(a.outcome, a.code) for a in attempts.list_attempts(order.id)] == [("failed", "insufficient_funds")]
    assert webhooks.apply_event(events[0].to_dict(), client=client)[0] == 200  # delivered twice: one email
    assert emails_of(order.id) == ["debit_failed"]  # the customer is gone when a bank returns it
    (failed,) = outbox.messages(order_id=order.id, engine=get_engine())
    email = compose.build(failed, load_mail_settings({}), engine=get_engine(), client=client)
    text = email.get_body(("plain",)).get_content()
    assert email["Subject"] == f"Your bank returned the payment for order {order.id}"
    assert "the account did not have enough money" in text and "US bank account ending in 2227" in text
    retry = prepare(client, order_id=order.id)  # the completed session takes no other payment
    assert retry.ready and retry.order.id == order.id and retry.session_id != prepared.session_id


def test_a_lost_answer_is_settled_later_by_reconciliation(private_emulator, client) -> None:
    prepared = prepare(client)
    pay_card(private_emulator, client, prepared)  # the page's report never reached the server
    assert orders.get_order(prepared.order.id).paid_at is None
    results = reconcile.settle_open_orders(client)
    assert [(r.order.id, r.outcome) for r in results] == [(prepared.order.id, "succeeded")]
    assert orders.get_order(prepared.order.id).status == "paid"
    again = prepare(client, order_id=prepared.order.id)  # the page's next click finds it paid
    assert again.paid is not None and again.paid.succeeded and again.client_secret is None


def test_a_shipping_country_stripe_cannot_collect_is_refused_by_the_address_element(private_emulator, client) -> None:
    # The country is the Address Element's to ask now: the session's allowed countries leave out what Stripe
    # cannot ship to, and its Address Element refuses it.
    prepared = prepare(client)
    cuba = {**ADDRESS_ELEMENT, "shipping[address][country]": "CU", "shipping[address][state]": ""}
    answer = httpx.post(
        f"{private_emulator.url}/v1/payment_pages/{prepared.session_id}",
        data={"client_secret": prepared.client_secret, **cuba},
        headers=PUBLISHABLE,
    )
    assert answer.status_code == 400 and "does not ship to that country" in answer.json()["error"]["message"]
    assert "US" in sessions.SHIPPING_COUNTRIES and "CU" not in sessions.SHIPPING_COUNTRIES


def test_an_endpoint_registered_before_the_session_events_is_given_them(client) -> None:
    url = "http://127.0.0.1:9799/webhooks/stripe"
    endpoint_id = webhooks.ensure_endpoint(url, client=client)
    old_events = [e for e in webhooks.ENABLED_EVENTS if not e.startswith("checkout.session.")]
    client.v1.webhook_endpoints.update(endpoint_id, params={"enabled_events": old_events})
    assert webhooks.ensure_endpoint(url, client=client) == endpoint_id
    enabled = client.v1.webhook_endpoints.retrieve(endpoint_id).enabled_events
    assert set(webhooks.SESSION_EVENTS) <= set(enabled)


def test_reconciliation_goes_on_when_stripe_does_not_list_the_sessions(private_emulator, client) -> None:
    prepared = prepare(client)
    pay_card(private_emulator, client, prepared)
    fault = {"method": "GET", "path": "/v1/checkout/sessions", "action": {"status": 500}, "times": 1}
    private_emulator.arm_fault(fault)
    assert reconcile.settle_open_orders(client) == []  # nothing settled, nothing raised
    assert orders.get_order(prepared.order.id).paid_at is None
    assert [r.outcome for r in reconcile.settle_open_orders(client)] == ["succeeded"]  # the next run settles it


def test_a_session_paid_while_the_page_was_gone_is_settled_by_its_webhook_alone_once(client, private_emulator) -> None:
    # The tab closed after Pay: no report from the page, no reconciliation run; Stripe's webhook is all there is.
    prepared = prepare(client)
    pay_card(private_emulator, client, prepared)
    assert orders.get_order(prepared.order.id).paid_at is None
    events = client.v1.events.list(params={"type": "checkout.session.completed"}).data
    assert [event.data.object.id for event in events] == [prepared.session_id]
    for _delivery in range(2):  # Stripe may deliver an event more than once
        assert webhooks.apply_event(events[0].to_dict(), client=client)[0] == 200
    paid = orders.get_order(prepared.order.id)
    charge = client.v1.charges.retrieve(paid.charge_id)
    assert (paid.status, charge.amount, charge.status) == ("paid", paid.amount, "succeeded")
    assert [a.outcome for a in attempts.list_attempts(paid.id)] == ["succeeded"]
    assert emails_of(paid.id) == ["confirmed"]
