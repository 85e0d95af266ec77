"""The emulator's search index: kept with every write, rebuilt for a store made before it, hiding deleted customers.

Emulator-only: these check the term tables behind `/v1/*/search` (tests/contract/test_search.py holds the
behaviour Stripe shares)."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from tests.support import running_emulator


@pytest.fixture
def emu(tmp_path):
    with running_emulator(tmp_path / "store") as emulator:
        yield emulator


def _ids(result) -> list[str]:
    return [item.id for item in result.data]


def test_an_update_moves_an_object_between_searches(emulator):
    client = emulator.client()
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    made = client.v1.charges.create(
        params={"amount": 1500, "currency": "usd", "source": "tok_visa", "metadata": {"run": old}}
    )
    client.v1.charges.update(made.id, params={"metadata": {"run": new}})
    assert _ids(client.v1.charges.search(params={"query": f"metadata['run']:'{old}'"})) == []
    assert _ids(client.v1.charges.search(params={"query": f"metadata['run']:'{new}'"})) == [made.id]
    refunded = client.v1.charges.search(params={"query": f"metadata['run']:'{new}' AND refunded:'true'"})
    assert _ids(refunded) == []
    client.v1.refunds.create(params={"charge": made.id})
    refunded = client.v1.charges.search(params={"query": f"metadata['run']:'{new}' AND refunded:'true'"})
    assert _ids(refunded) == [made.id]


def test_a_deleted_customer_is_not_found(emulator):
    client = emulator.client()
    email = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    customer = client.v1.customers.create(params={"email": email})
    assert _ids(client.v1.customers.search(params={"query": f"email:'{email}'"})) == [customer.id]
    client.v1.customers.delete(customer.id)
    assert _ids(client.v1.customers.search(params={"query": f"email:'{email}'"})) == []
    assert _ids(client.v1.customers.search(params={"query": f"-email:'{email}' AND email~'{email[:8]}'"})) == []


def test_a_store_made_before_search_gets_its_terms_when_opened(emu):
    client = emu.client()
    made = client.v1.charges.create(
        params={"amount": 4200, "currency": "usd", "source": "tok_visa", "metadata": {"old": "yes"}}
    )
    emu.stop()
    with sqlite3.connect(emu.data_dir / "emulator.sqlite3") as conn:
        conn.execute("DROP TABLE charges_terms")  # as a store written by a version without search
    emu.start()
    found = client.v1.charges.search(params={"query": "metadata['old']:'yes' AND amount>=4200"})
    assert _ids(found) == [made.id]
