"""Which integration a shop session pays through: any of the three in emulator mode, only CHECKOUT_API with keys."""

from __future__ import annotations

import pytest

from shop.checkout import integrations
from shop.config import load_settings

KEYS = {"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc"}


def settings(**env: str):
    return load_settings(env=env, secrets={})


def test_emulator_mode_offers_every_integration_the_server_default_first():
    offered = integrations.choosable(settings(CHECKOUT_API="charges"))
    assert offered == ("charges", "payment_intents", "checkout_sessions")


@pytest.mark.parametrize("api", ["payment_intents", "charges", "checkout_sessions"])
def test_with_stripe_keys_only_the_servers_checkout_api_is_offered(api):
    assert integrations.choosable(settings(**KEYS, CHECKOUT_API=api)) == (api,)


def test_a_choice_is_taken_in_emulator_mode():
    assert integrations.resolve("checkout_sessions", settings()) == "checkout_sessions"


@pytest.mark.parametrize("choice", [None, "", "paypal", "CHARGES"])
def test_no_or_an_unknown_choice_is_the_server_default(choice):
    assert integrations.resolve(choice, settings(CHECKOUT_API="charges")) == "charges"


def test_with_stripe_keys_a_choice_is_ignored():
    assert integrations.resolve("charges", settings(**KEYS)) == "payment_intents"


def test_each_integration_has_its_name_and_a_description():
    assert integrations.name_of("payment_intents") == "PaymentIntents with the Card Element"
    assert integrations.name_of("charges") == "Charges with a card token (legacy)"
    assert integrations.name_of("checkout_sessions") == "Checkout Sessions with the Payment Element"
    assert all(entry.description.endswith(".") for entry in integrations.INTEGRATIONS.values())
