"""Fault injection (`/_emulator/faults`) against a running emulator, seen through the official SDK."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

SECRET = {"Authorization": "Bearer sk_test_faults"}
CHARGE = {"amount": 2300, "currency": "usd", "source": "tok_visa"}


@pytest.fixture
def emu(private_emulator) -> Iterator[Any]:
    private_emulator.reset()
    yield private_emulator
    private_emulator.reset()


def arm(emu, spec: dict[str, Any], headers: dict[str, str] = SECRET) -> httpx.Response:
    return httpx.post(f"{emu.url}/_emulator/faults", json=spec, headers=headers)


def armed(emu) -> list[dict[str, Any]]:
    return httpx.get(f"{emu.url}/_emulator/faults", headers=SECRET).json()["data"]


def charges_with(client: stripe.StripeClient, description: str) -> list[Any]:
    return [c for c in client.v1.charges.list(params={"limit": 100}).data if c.description == description]


def wait_for(check, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)  # polling interval of a wait-for-condition


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pk_test_faults"}], ids=["no-key", "publishable"])
def test_faults_need_a_secret_key(emu, headers):
    spec = {"method": "GET", "path": "/v1/charges", "action": {"status": 500}}
    assert arm(emu, spec, headers).status_code == 401
    assert httpx.get(f"{emu.url}/_emulator/faults", headers=headers).status_code == 401
    assert httpx.delete(f"{emu.url}/_emulator/faults", headers=headers).status_code == 401
    assert armed(emu) == []


@pytest.mark.parametrize(
    "spec",
    [
        {"method": "GET", "path": "/v1/charges", "action": {"status": 404}},
        {"method": "GET", "path": "/v1/charges", "action": "explode"},
        {"method": "GET", "path": "/v1/charges", "action": {"delay_s": -1}},
        {"method": "PATCH", "path": "/v1/charges", "action": {"status": 500}},
        {"method": "GET", "path": "v1/charges", "action": {"status": 500}},
        {"method": "GET", "path": "/v1/charges", "action": {"status": 500}, "times": 0},
        {"method": "GET", "path": "/v1/charges", "action": {"status": 500}, "colour": "red"},
    ],
)
def test_a_wrong_fault_is_a_400(emu, spec):
    response = arm(emu, spec)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert armed(emu) == []


def test_armed_faults_are_listed_counted_down_and_cleared(emu):
    client = emu.client()
    made = arm(emu, {"method": "GET", "path": "/v1/charges", "action": {"status": 500}, "times": 2}).json()
    arm(emu, {"method": "POST", "path": "/v1/charges/*/capture", "action": {"status": 429}})
    assert [(f["path"], f["remaining"]) for f in armed(emu)] == [("/v1/charges", 2), ("/v1/charges/*/capture", 1)]
    assert made["action"] == {"status": 500}

    client.v1.charges.create(params=CHARGE)  # POST /v1/charges matches neither
    with pytest.raises(stripe.APIError):
        client.v1.charges.list()
    assert [f["remaining"] for f in armed(emu)] == [1, 1]
    with pytest.raises(stripe.APIError):
        client.v1.charges.list()
    assert [f["path"] for f in armed(emu)] == ["/v1/charges/*/capture"]  # used up, disarmed
    assert len(client.v1.charges.list().data) == 1

    assert httpx.delete(f"{emu.url}/_emulator/faults", headers=SECRET).json() == {"deleted": 1}
    assert armed(emu) == []


def test_reset_disarms_faults(emu):
    arm(emu, {"method": "GET", "path": "/v1/*", "action": {"status": 500}, "times": 5})
    emu.reset()
    assert armed(emu) == []


def test_a_500_commits_nothing_and_a_retry_with_the_key_charges_once(emu):
    client = emu.client()
    arm(emu, {"method": "POST", "path": "/v1/charges", "action": {"status": 500}})
    key = f"fault-{uuid.uuid4()}"
    with pytest.raises(stripe.APIError) as info:
        client.v1.charges.create(params={**CHARGE, "description": "500"}, options={"idempotency_key": key})
    assert info.value.http_status == 500
    assert info.value.error.type == "api_error"
    assert charges_with(client, "500") == []
    retried = client.v1.charges.create(params={**CHARGE, "description": "500"}, options={"idempotency_key": key})
    assert [c.id for c in charges_with(client, "500")] == [retried.id]


def test_a_500_after_commit_takes_effect_and_its_key_answers_the_500_again(emu):
    client = emu.client()
    made = arm(emu, {"method": "POST", "path": "/v1/charges", "action": {"status": 500, "after_commit": True}})
    assert made.json()["action"] == {"status": 500, "after_commit": True}
    key = f"fault-{uuid.uuid4()}"
    with pytest.raises(stripe.APIError) as info:
        client.v1.charges.create(params={**CHARGE, "description": "500 after"}, options={"idempotency_key": key})
    assert (info.value.http_status, info.value.error.type) == (500, "api_error")
    [charge] = charges_with(client, "500 after")  # it took effect all the same
    assert charge.status == "succeeded"
    # Stripe saves the first result of a key, "including 500 errors": the same key answers the 500 again, and
    # charges nothing more.
    with pytest.raises(stripe.APIError) as again:
        client.v1.charges.create(params={**CHARGE, "description": "500 after"}, options={"idempotency_key": key})
    assert again.value.http_status == 500
    assert [c.id for c in charges_with(client, "500 after")] == [charge.id]


@pytest.mark.parametrize("after_commit", [False, 1, "true"])
def test_after_commit_is_true_with_a_500_only(emu, after_commit):
    response = arm(
        emu, {"method": "GET", "path": "/v1/charges", "action": {"status": 500, "after_commit": after_commit}}
    )
    assert response.status_code == 400
    assert (
        arm(emu, {"method": "GET", "path": "/v1/x", "action": {"status": 429, "after_commit": True}}).status_code == 400
    )
    assert armed(emu) == []


def test_a_429_is_stripes_rate_limit_error_and_commits_nothing(emu):
    client = emu.client()
    arm(emu, {"method": "POST", "path": "/v1/charges", "action": {"status": 429}})
    with pytest.raises(stripe.RateLimitError) as info:
        client.v1.charges.create(params={**CHARGE, "description": "429"})
    assert info.value.http_status == 429
    assert info.value.error.code == "rate_limit"
    assert "retry-after" not in {name.lower() for name in (info.value.headers or {})}
    assert charges_with(client, "429") == []


def test_a_dropped_response_is_a_connection_error_and_the_charge_exists(emu):
    client = emu.client()
    arm(emu, {"method": "POST", "path": "/v1/charges", "action": "drop_after_commit"})
    key = f"fault-{uuid.uuid4()}"
    with pytest.raises(stripe.APIConnectionError):
        client.v1.charges.create(params={**CHARGE, "description": "dropped"}, options={"idempotency_key": key})
    [charge] = charges_with(client, "dropped")
    assert charge.status == "succeeded"
    # The same key answers the first result: the lost answer is recovered without a second charge.
    replayed = client.v1.charges.create(params={**CHARGE, "description": "dropped"}, options={"idempotency_key": key})
    assert replayed.id == charge.id
    assert replayed.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(charges_with(client, "dropped")) == 1


def test_a_delay_past_the_clients_timeout_still_handles_the_request(emu):
    impatient = stripe.StripeClient(
        "sk_test_faults",
        base_addresses={"api": emu.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.5),
    )
    arm(emu, {"method": "POST", "path": "/v1/charges", "action": {"delay_s": 2}})
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.charges.create(params={**CHARGE, "description": "slow"})
    client = emu.client()
    assert wait_for(lambda: charges_with(client, "slow"))
    assert armed(emu) == []


def test_the_path_is_a_glob(emu):
    client = emu.client()
    charge = client.v1.charges.create(params={**CHARGE, "capture": False})
    arm(emu, {"method": "POST", "path": "/v1/charges/*/capture", "action": {"status": 500}})
    client.v1.charges.update(charge.id, params={"description": "not a capture"})  # /v1/charges/<id>: no match
    with pytest.raises(stripe.APIError):
        client.v1.charges.capture(charge.id)
    assert client.v1.charges.retrieve(charge.id).captured is False


def test_a_lost_confirm_answer_is_recovered_by_retrieving_the_intent(emu):
    client = emu.client()
    created = client.v1.payment_intents.create(
        params={"amount": 2300, "currency": "usd", "payment_method_types": ["card"]}
    )
    arm(emu, {"method": "POST", "path": "/v1/payment_intents/*/confirm", "action": "drop_after_commit"})
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.confirm(created.id, params={"payment_method": "pm_card_visa"})
    settled = client.v1.payment_intents.retrieve(created.id)
    assert settled.status == "succeeded"
    assert client.v1.charges.retrieve(settled.latest_charge).payment_intent == created.id
