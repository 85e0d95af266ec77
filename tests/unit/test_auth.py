"""shop.auth: where the ops password comes from, the check, and the growing delay after failures."""

from __future__ import annotations

import dataclasses

import pytest

from shop import auth
from shop.config import load_settings

EMULATOR = load_settings(env={}, secrets={})
STRIPE = load_settings(env={"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}, secrets={})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


ALICE = auth.Client(session="alice-session", address="203.0.113.7")
BOB = auth.Client(session="bob-session", address="198.51.100.20")


@pytest.fixture
def throttle(clock) -> auth.SignInThrottle:
    return auth.SignInThrottle(clock)


def test_password_source_order_env_then_secrets_then_demo_in_emulator_mode_only():
    with_env = dataclasses.replace(EMULATOR, ops_password="from-env")
    assert auth.password_source(with_env, "from-secrets") == auth.PasswordSource("from-env", "env")
    assert auth.password_source(EMULATOR, "from-secrets") == auth.PasswordSource("from-secrets", "secrets")
    assert auth.password_source(EMULATOR) == auth.PasswordSource(auth.DEMO_PASSWORD, "demo")
    assert auth.password_source(STRIPE).enabled is False


def test_stripe_mode_without_a_password_keeps_ops_off_and_says_how_to_enable(throttle):
    result = auth.check_password(auth.DEMO_PASSWORD, settings=STRIPE, throttle=throttle, client=ALICE)
    assert not result.ok
    assert "OPS_PASSWORD" in result.message and "secrets.toml" in result.message


def test_right_password_signs_in_and_wrong_one_says_so(throttle):
    settings = dataclasses.replace(STRIPE, ops_password="correct horse")
    assert auth.check_password("correct horse", settings=settings, throttle=throttle, client=ALICE).ok
    wrong = auth.check_password("correct hors", settings=settings, throttle=throttle, client=ALICE)
    assert not wrong.ok and wrong.message.startswith("Wrong password")
    empty = auth.check_password("", settings=settings, throttle=throttle, client=ALICE)
    assert empty.message == "Enter the ops password."


def test_delay_grows_after_repeated_failures_and_success_resets_it(throttle, clock):
    assert [auth.delay_after(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 8, 16]
    assert auth.delay_after(50) == auth.MAX_DELAY_S
    for _ in range(3):
        auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=ALICE)
    refused = auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=ALICE)
    assert not refused.ok and "Wait" in refused.message  # even the right password waits out the delay
    clock.now += 1.0
    fourth = auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=ALICE)
    assert fourth.retry_after_s == 2.0
    clock.now += 2.0
    assert auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=ALICE).ok
    assert throttle.failures(ALICE) == 0 and throttle.wait_remaining(ALICE) == 0


def test_comparison_uses_constant_time_compare(monkeypatch, throttle):
    calls = []

    def spy(a, b):
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=ALICE).ok
    assert calls == [(auth.DEMO_PASSWORD.encode(), auth.DEMO_PASSWORD.encode())]


def test_one_clients_wrong_passwords_do_not_delay_another_clients_right_one(throttle):
    for _ in range(6):
        assert not auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=ALICE).ok
    assert throttle.wait_remaining(ALICE) > 0
    assert auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=BOB).ok


def test_a_colleague_at_the_same_address_is_not_delayed_by_a_few_typos(throttle):
    colleague = auth.Client(session="carol-session", address=ALICE.address)
    for _ in range(4):
        auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=ALICE)
    assert auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=colleague).ok


def test_a_new_session_from_a_guessing_address_still_waits(throttle):
    for n in range(auth.ADDRESS_FREE_FAILURES + 1):
        fresh_session = auth.Client(session=f"reload-{n}", address=ALICE.address)
        auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=fresh_session)
    another_reload = auth.Client(session="reload-again", address=ALICE.address)
    refused = auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=another_reload)
    assert not refused.ok and "Wait" in refused.message
    assert auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=BOB).ok


def test_the_server_wide_ceiling_stops_guessing_spread_over_many_addresses(throttle, clock):
    for n in range(auth.SERVER_FAILURES_PER_MINUTE):
        guesser = auth.Client(session=f"g{n}", address=f"192.0.2.{n % 250}")
        auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=guesser)
    assert not auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=BOB).ok
    clock.now += 61.0
    assert auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=BOB).ok


def test_the_wait_is_never_shown_as_zero_seconds(throttle, clock):
    for _ in range(3):
        auth.check_password("nope", settings=EMULATOR, throttle=throttle, client=ALICE)
    clock.now += 0.9  # 0.1 s of the 1 s delay left
    refused = auth.check_password(auth.DEMO_PASSWORD, settings=EMULATOR, throttle=throttle, client=ALICE)
    assert "Wait 1 s" in refused.message
