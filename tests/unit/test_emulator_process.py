"""shop.emulator_process: the page-load check heals a killed emulator, probes rarely, and speaks plainly."""

from __future__ import annotations

import logging
import os
import signal
import socket
from pathlib import Path

import psutil  # an ipykernel dependency, so present with the test requirements
import pytest

from shop import emulator_process
from shop.config import Settings, load_settings, stripe_client
from tests.support import free_port


def _settings(tmp_path: Path) -> Settings:
    return load_settings({"SHOP_DATA_DIR": str(tmp_path), "STRIPE_EMULATOR_PORT": str(free_port())}, secrets={})


def _emulators_on(port: int) -> list[psutil.Process]:
    return [
        proc
        for proc in psutil.process_iter(["cmdline"])
        if "stripe_emulator" in (proc.info["cmdline"] or []) and str(port) in proc.info["cmdline"]
    ]


@pytest.fixture(autouse=True)
def _no_remembered_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator_process, "_last_ok", {})


def test_a_sigkilled_emulator_answers_again_after_the_next_page_load_check(tmp_path: Path, monkeypatch) -> None:
    settings = _settings(tmp_path)
    try:
        first = emulator_process.ensure_running(settings)
        assert (first.ok, first.restarted) == (True, True)
        (killed,) = _emulators_on(settings.emulator_port)
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert not emulator_process.emulator_is_up(settings)
        monkeypatch.setattr(emulator_process, "_last_ok", {})  # a page load more than a second later

        again = emulator_process.ensure_running(settings)

        assert (again.ok, again.restarted) == (True, True)
        assert emulator_process.emulator_is_up(settings)
        assert len(_emulators_on(settings.emulator_port)) == 1
    finally:
        for proc in _emulators_on(settings.emulator_port):
            os.killpg(proc.pid, signal.SIGTERM)  # started in its own session, so pid == process group
            proc.wait(10)


def test_checks_within_a_second_trust_the_last_probe(tmp_path: Path, monkeypatch) -> None:
    settings = _settings(tmp_path)
    clock = iter([100.0, 100.0, 100.5, 101.5, 101.5])
    probes: list[int] = []
    monkeypatch.setattr(emulator_process.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(emulator_process, "_accepts_connections", lambda s: probes.append(s.emulator_port) or True)

    outcomes = [emulator_process.ensure_running(settings).ok for _ in range(3)]

    assert outcomes == [True, True, True]
    assert probes == [settings.emulator_port, settings.emulator_port]  # at 100.0 and 101.5, not at 100.5


def test_a_failed_start_is_a_plain_sentence_and_the_details_go_to_the_log(tmp_path: Path, monkeypatch, caplog):
    settings = _settings(tmp_path)
    monkeypatch.setattr(emulator_process, "_start", lambda s: None)  # an emulator that never comes up
    monkeypatch.setattr(emulator_process, "START_TIMEOUT_S", 0.2)

    with caplog.at_level(logging.ERROR, logger="shop.emulator_process"):
        outcome = emulator_process.ensure_running(settings)

    assert (outcome.ok, outcome.message) == (False, emulator_process.UNAVAILABLE_MESSAGE)
    assert "/" not in outcome.message and "emulator.log" not in outcome.message
    assert str(settings.data_dir / "emulator.log") in caplog.text


def test_stripe_mode_never_probes(monkeypatch) -> None:
    settings = load_settings({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}, secrets={})
    monkeypatch.setattr(emulator_process, "_accepts_connections", lambda s: pytest.fail("probed in Stripe mode"))
    assert emulator_process.ensure_running(settings).ok


def test_getting_a_client_does_no_network_io(tmp_path: Path, monkeypatch) -> None:
    settings = _settings(tmp_path)

    def no_connections(*args, **kwargs):
        raise AssertionError("stripe_client opened a connection")

    monkeypatch.setattr(socket, "create_connection", no_connections)
    monkeypatch.setattr(socket.socket, "connect", no_connections)
    client = stripe_client(settings)
    assert client is stripe_client(settings)
    assert _emulators_on(settings.emulator_port) == []
