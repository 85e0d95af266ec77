"""Settings: the two modes, refusal of live keys, and the emulator started once."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from shop.config import ConfigError, Settings, load_settings
from shop.emulator_process import emulator_is_up, ensure_emulator
from tests.support import free_port


def test_no_keys_means_emulator_mode(tmp_path: Path) -> None:
    settings = load_settings({"SHOP_DATA_DIR": str(tmp_path)}, secrets={})
    assert settings.mode == "emulator"
    assert settings.secret_key.startswith("sk_test_")
    assert settings.api_base == "http://127.0.0.1:12111"
    assert settings.stripe_js_url == "http://127.0.0.1:12111/v3/"
    assert settings.database_url == f"sqlite:///{tmp_path / 'shop.db'}"
    assert settings.dashboard_url("ch_1") is None


def test_test_keys_mean_stripe_mode() -> None:
    env = {"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc"}
    settings = load_settings(env, secrets={})
    assert settings.mode == "stripe"
    assert settings.api_base is None
    assert settings.stripe_js_url == "https://js.stripe.com/v3/"
    assert settings.dashboard_url("ch_1") == "https://dashboard.stripe.com/test/payments/ch_1"
    assert settings.dashboard_url("pi_1") == "https://dashboard.stripe.com/test/payments/pi_1"
    assert settings.dashboard_url("po_1") == "https://dashboard.stripe.com/test/payouts/po_1"


def test_secrets_file_values_are_used_when_env_is_silent() -> None:
    secrets = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x", "ops_password": "pw"}
    settings = load_settings({}, secrets=secrets)
    assert (settings.mode, settings.ops_password) == ("stripe", "pw")


def test_environment_wins_over_secrets_file() -> None:
    settings = load_settings({"OPS_PASSWORD": "from-env"}, secrets={"OPS_PASSWORD": "from-file"})
    assert settings.ops_password == "from-env"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_PUBLISHABLE_KEY": "pk_live_abc"}, "Live Stripe keys are refused"),
        ({"STRIPE_SECRET_KEY": "sk_test_abc"}, "STRIPE_PUBLISHABLE_KEY is not"),
        ({"STRIPE_SECRET_KEY": "nonsense", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc"}, "must start with sk_test_"),
        ({"STRIPE_SECRET_KEY": "sk_test_a", "STRIPE_PUBLISHABLE_KEY": "sk_test_a"}, "must start with pk_test_"),
        ({"STRIPE_EMULATOR_PORT": "http"}, "must be a port number"),
    ],
)
def test_bad_settings_say_what_to_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env, secrets={})


def test_live_keys_need_explicit_permission() -> None:
    env = {"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_PUBLISHABLE_KEY": "pk_live_abc", "ALLOW_LIVE_KEYS": "1"}
    settings = load_settings(env, secrets={})
    assert settings.is_live
    assert settings.dashboard_url("ch_1") == "https://dashboard.stripe.com/payments/ch_1"


def test_mixed_test_and_live_keys_are_refused() -> None:
    env = {"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc", "ALLOW_LIVE_KEYS": "yes"}
    with pytest.raises(ConfigError, match="different modes"):
        load_settings(env, secrets={})


def test_ensure_emulator_starts_one_emulator_for_concurrent_callers(tmp_path: Path) -> None:
    import psutil  # an ipykernel dependency, so present with the test requirements

    settings: Settings = load_settings(
        {"SHOP_DATA_DIR": str(tmp_path), "STRIPE_EMULATOR_PORT": str(free_port())}, secrets={}
    )
    errors: list[BaseException] = []

    def start() -> None:
        try:
            ensure_emulator(settings)
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emulators = [
        proc
        for proc in psutil.process_iter(["cmdline"])
        if "stripe_emulator" in (proc.info["cmdline"] or []) and str(settings.emulator_port) in proc.info["cmdline"]
    ]
    try:
        assert errors == []
        assert len(emulators) == 1
        assert emulator_is_up(settings)
        ensure_emulator(settings)  # already up: a no-op
        assert len([p for p in emulators if p.is_running()]) == 1
    finally:
        for proc in emulators:
            os.killpg(proc.pid, signal.SIGTERM)  # started in its own session, so pid == process group
            proc.wait(10)


@pytest.mark.parametrize(
    ("secret_key", "publishable_key", "live"),
    [
        ("sk_test_abc", "pk_test_abc", False),
        ("rk_test_abc", "pk_test_abc", False),
        ("sk_live_abc", "pk_live_abc", True),
        ("rk_live_abc", "pk_live_abc", True),
    ],
)
def test_live_or_test_is_one_answer_for_secret_and_restricted_keys(secret_key, publishable_key, live) -> None:
    env = {"STRIPE_SECRET_KEY": secret_key, "STRIPE_PUBLISHABLE_KEY": publishable_key, "ALLOW_LIVE_KEYS": "1"}
    settings = load_settings(env, secrets={})
    assert (settings.is_live, settings.is_test) == (live, not live)
    assert (settings.dashboard_url("ch_1") or "").endswith("/test/payments/ch_1") is not live


def test_a_restricted_live_key_is_refused_without_permission() -> None:
    env = {"STRIPE_SECRET_KEY": "rk_live_abc", "STRIPE_PUBLISHABLE_KEY": "pk_live_abc"}
    with pytest.raises(ConfigError, match="Live Stripe keys are refused"):
        load_settings(env, secrets={})


def test_the_emulator_counts_as_test_mode(tmp_path: Path) -> None:
    settings = load_settings({"SHOP_DATA_DIR": str(tmp_path)}, secrets={})
    assert (settings.is_live, settings.is_test) == (False, True)
