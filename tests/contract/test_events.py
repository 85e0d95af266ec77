"""Events: one per state change, with the object as it was, filters and the incremental-sync cursor."""

from __future__ import annotations

import pytest
import stripe

from tests.contract.calls import charge, declined, events_for


def test_charge_succeeded_event_carries_the_charge(stripe_client):
    created = charge(stripe_client, metadata={"order_id": "evt-1"})
    (event,) = events_for(stripe_client, created.id, type="charge.succeeded")
    assert event.id.startswith("evt_")
    assert (event.object, event.type, event.livemode) == ("event", "charge.succeeded", False)
    assert event.api_version
    assert event.created >= created.created
    assert event.data.object.metadata.to_dict() == {"order_id": "evt-1"}
    assert event.data.object.status == "succeeded"


def test_charge_failed_event(stripe_client):
    failed_id = declined(stripe_client, "tok_chargeDeclined").error.charge
    (event,) = events_for(stripe_client, failed_id, type="charge.failed")
    assert event.data.object.failure_code == "card_declined"


def test_capture_and_refund_events_keep_each_state(stripe_client):
    authorized = charge(stripe_client, amount=5000, capture=False)
    stripe_client.v1.charges.capture(authorized.id)
    refund = stripe_client.v1.refunds.create(params={"charge": authorized.id, "amount": 1500})
    (captured,) = events_for(stripe_client, authorized.id, type="charge.captured")
    assert captured.data.object.captured is True
    assert captured.data.object.amount_refunded == 0
    (refunded,) = events_for(stripe_client, authorized.id, type="charge.refunded")
    assert refunded.data.object.amount_refunded == 1500
    assert refunded.data.previous_attributes.amount_refunded == 0
    (created,) = events_for(stripe_client, refund.id, type="refund.created")
    assert created.data.object.amount == 1500
    (succeeded,) = events_for(stripe_client, authorized.id, type="charge.succeeded")
    assert succeeded.data.object.captured is False


def test_charge_updated_event_has_previous_attributes(stripe_client):
    created = charge(stripe_client, description="before")
    stripe_client.v1.charges.update(created.id, params={"description": "after"})
    (event,) = events_for(stripe_client, created.id, type="charge.updated")
    assert event.data.object.description == "after"
    assert event.data.previous_attributes.description == "before"


def test_refund_update_emits_charge_refund_updated(stripe_client):
    refund = stripe_client.v1.refunds.create(params={"charge": charge(stripe_client).id})
    stripe_client.v1.refunds.update(refund.id, params={"metadata": {"note": "x"}})
    (event,) = events_for(stripe_client, refund.id, type="charge.refund.updated")
    assert event.data.object.metadata.to_dict() == {"note": "x"}


def test_types_filter_and_newest_first(stripe_client):
    created = charge(stripe_client)
    stripe_client.v1.refunds.create(params={"charge": created.id})
    found = events_for(stripe_client, created.id, 2, types=["charge.succeeded", "charge.refunded"])
    assert [event.type for event in found] == ["charge.refunded", "charge.succeeded"]
    assert all(event.type.startswith("charge.") for event in found)


def test_ending_before_walks_forward_for_an_incremental_sync(stripe_client):
    # The cursor is an event of this test's own: the shared emulator may hold events dated ahead of now (a test that
    # moved its clock forward for a bank debit), which would stay "newest" past everything made here.
    (newest,) = events_for(stripe_client, charge(stripe_client, amount=99).id, type="charge.succeeded")
    made = [charge(stripe_client, amount=100 + n).id for n in range(3)]
    seen = [
        event
        for event in stripe_client.v1.events.list(params={"limit": 2, "ending_before": newest.id}).auto_paging_iter()
    ]
    # Only this test's charges: another test's bank debit may settle (charge.succeeded) on the clock meanwhile, and
    # events dated ahead of now come after the cursor too.
    succeeded = [event.data.object.id for event in seen if event.type == "charge.succeeded"]
    assert [charge_id for charge_id in succeeded if charge_id in made] == made  # oldest first, none missed
    assert newest.id not in [event.id for event in seen]


def test_retrieve_event_and_unknown_event(stripe_client):
    created = charge(stripe_client)
    (event,) = events_for(stripe_client, created.id, type="charge.succeeded")
    assert stripe_client.v1.events.retrieve(event.id).id == event.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.events.retrieve("evt_doesNotExist0000000000")
    assert info.value.code == "resource_missing"
