"""Rules of the emulated account that follow its clock, and request headers Stripe checks: authorizations that
expire after 7 days, events kept for 30 days, `Stripe-Version`, and expanding a field that is null."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

DAY = 24 * 3600
SECRET = {"Authorization": "Bearer sk_test_time_rules"}


@pytest.fixture
def emu(private_emulator) -> Iterator[Any]:
    private_emulator.reset()
    yield private_emulator
    set_clock(private_emulator, None)
    private_emulator.reset()


def set_clock(emu, when: int | None) -> None:
    response = httpx.post(
        f"{emu.url}/_emulator/clock", data={"frozen_time": "" if when is None else str(when)}, headers=SECRET
    )
    response.raise_for_status()


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    events = client.v1.events.list(params={"limit": 100}).data
    return [event.type for event in events if event.data.object.to_dict().get("id") == object_id]


def test_an_uncaptured_charge_is_released_after_seven_days_with_charge_expired(emu):
    client = emu.client()
    start = 1_900_000_000
    set_clock(emu, start)
    held = client.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa", "capture": False})
    set_clock(emu, start + 7 * DAY - 60)
    assert client.v1.charges.retrieve(held.id).refunded is False

    set_clock(emu, start + 7 * DAY + 60)
    expired = client.v1.charges.retrieve(held.id)

    assert expired.captured is False
    assert expired.refunded is True
    assert expired.amount_refunded == 2300
    (refund,) = client.v1.refunds.list(params={"charge": held.id}).data
    assert refund.reason == "expired_uncaptured_charge"
    assert "charge.expired" in event_types(client, held.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.capture(held.id)


def test_a_held_payment_intent_is_canceled_automatically_after_seven_days(emu):
    client = emu.client()
    start = 1_900_000_000
    set_clock(emu, start)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2300,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
        }
    )
    assert intent.status == "requires_capture"
    set_clock(emu, start + 8 * DAY)

    expired = client.v1.payment_intents.retrieve(intent.id)

    assert expired.status == "canceled"
    assert expired.cancellation_reason == "automatic"
    assert expired.amount_capturable == 0
    assert client.v1.charges.retrieve(intent.latest_charge).refunded is True
    assert "charge.expired" in event_types(client, intent.latest_charge)
    assert "payment_intent.canceled" in event_types(client, intent.id)


def test_a_captured_charge_never_expires(emu):
    client = emu.client()
    start = 1_900_000_000
    set_clock(emu, start)
    paid = client.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
    set_clock(emu, start + 30 * DAY)
    assert client.v1.charges.retrieve(paid.id).refunded is False


def test_events_older_than_thirty_days_are_neither_listed_nor_retrieved(emu):
    # docs.stripe.com/api/events: list "going back up to 30 days"; retrieve "if it was created in the last 30 days".
    client = emu.client()
    start = 1_900_000_000
    set_clock(emu, start)
    old = client.v1.customers.create(params={"email": "old@example.com"})
    set_clock(emu, start + 20 * DAY)
    recent = client.v1.customers.create(params={"email": "recent@example.com"})
    (old_event,) = [e for e in client.v1.events.list().data if e.data.object.id == old.id]

    set_clock(emu, start + 31 * DAY)
    listed = [event.data.object.id for event in client.v1.events.list(params={"limit": 100}).data]

    assert recent.id in listed
    assert old.id not in listed
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.events.retrieve(old_event.id)
    assert refused.value.http_status == 404


@pytest.mark.parametrize("version", ["2024-06-20", "2025-03-31.basil"])
def test_a_known_stripe_version_is_answered_with_that_version(emu, version):
    response = httpx.get(f"{emu.url}/v1/charges", headers={**SECRET, "Stripe-Version": version})
    assert response.status_code == 200
    assert response.headers["Stripe-Version"] == version


@pytest.mark.parametrize("version", ["2099-01-01", "yesterday", "2024-13-45"])
def test_an_unknown_stripe_version_is_refused_like_stripe(emu, version):
    client = stripe.StripeClient("sk_test_time_rules", base_addresses={"api": emu.url}, stripe_version=version)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.charges.list()
    assert refused.value.http_status == 400
    assert version in str(refused.value.user_message)


def test_expanding_a_field_that_is_null_gives_null(emu):
    client = emu.client()
    charge = client.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
    fetched = client.v1.charges.retrieve(charge.id, params={"expand": ["customer", "payment_intent", "application"]})
    assert fetched.customer is None
    assert fetched.payment_intent is None
    assert fetched.application is None


def test_a_store_made_before_expiry_existed_gains_it_for_its_stored_authorizations(tmp_path, monkeypatch):
    from stripe_emulator import store as store_module
    from stripe_emulator.resources import authorizations

    held = {"id": "ch_old", "object": "charge", "created": 1_900_000_000, "status": "succeeded"}
    held.update(captured=False, refunded=False)
    paid = {**held, "id": "ch_paid", "captured": True}
    with monkeypatch.context() as before_expiry:
        before_expiry.setattr(store_module, "DERIVED", {})
        old = store_module.Store(tmp_path / "emulator.db")
        old.insert("charges", held)
        old.insert("charges", paid)
        old.close()

    upgraded = store_module.Store(tmp_path / "emulator.db")
    due = upgraded.select("charges", [(f"{authorizations.EXPIRES_AT} <= ?", [1_900_000_000 + 8 * DAY])])
    assert [charge["id"] for charge in due] == ["ch_old"]
