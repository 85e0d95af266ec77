"""Stripe's bracket notation parsed into nested parameters."""

from __future__ import annotations

import urllib.parse

import pytest

from stripe_emulator.errors import StripeError
from stripe_emulator.params import parse_pairs


def parse(query: str) -> dict:
    return parse_pairs(urllib.parse.parse_qsl(query, keep_blank_values=True))


def test_nested_hashes_and_indexed_lists():
    parsed = parse(
        "amount=100&metadata[order_id]=7&shipping[address][line1]=1+Main&expand[0]=customer&expand[1]=refunds"
    )
    assert parsed == {
        "amount": "100",
        "metadata": {"order_id": "7"},
        "shipping": {"address": {"line1": "1 Main"}},
        "expand": ["customer", "refunds"],
    }


def test_empty_brackets_append_in_order():
    assert parse("types[]=charge.succeeded&types[]=charge.failed") == {"types": ["charge.succeeded", "charge.failed"]}


def test_operators_and_blank_values():
    assert parse("created[gte]=10&created[lt]=20&description=") == {
        "created": {"gte": "10", "lt": "20"},
        "description": "",
    }


def test_list_order_follows_the_index_not_the_arrival():
    assert parse("expand[1]=b&expand[0]=a") == {"expand": ["a", "b"]}


def test_a_value_and_a_hash_under_one_name_is_refused():
    with pytest.raises(StripeError) as info:
        parse("metadata[a]=1&metadata[a][b]=2")
    assert info.value.status == 400


def test_only_ascii_digits_index_a_list():
    assert parse("expand[0]=a&expand[1]=b") == {"expand": ["a", "b"]}
    assert parse("metadata[١]=x") == {"metadata": {"١": "x"}}  # an Arabic-Indic one is a key like any other
