"""The emulator installs on its own: `pip install ./stripe_emulator[test]` into a fresh venv (no shop), then a
throwaway project's tests use the pytest plugin's fixtures, and the `stripe-emulator` command answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.package

PROJECT_TEST = textwrap.dedent(
    """
    import pytest
    import stripe


    def test_a_charge_is_listed_and_its_webhook_arrives(stripe_client, stripe_webhooks):
        charge = stripe_client.v1.charges.create(params={"amount": 2300, "currency": "usd", "source": "tok_visa"})
        assert [listed.id for listed in stripe_client.v1.charges.list().data] == [charge.id]
        [event] = stripe_webhooks.wait_for("charge.succeeded")
        assert event["data"]["object"]["id"] == charge.id


    def test_each_test_starts_empty_with_the_clock_and_faults_as_methods(stripe_emulator, stripe_client):
        assert stripe_client.v1.charges.list().data == []
        stripe_emulator.freeze_clock(1_900_000_000)
        charge = stripe_client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": "tok_visa"})
        assert charge.created == 1_900_000_000 == stripe_emulator.now()
        stripe_emulator.arm_fault({"method": "POST", "path": "/v1/charges", "action": {"status": 500}, "times": 1})
        with pytest.raises(stripe.APIError):
            stripe_client.v1.charges.create(params={"amount": 500, "currency": "usd", "source": "tok_visa"})
        assert stripe_emulator.faults() == []
    """
)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


def test_installed_alone_its_command_and_pytest_plugin_work(tmp_path):
    source = tmp_path / "src" / "stripe_emulator"  # a copy: pip builds in the source folder
    shutil.copytree(ROOT / "stripe_emulator", source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON", "VIRTUAL_ENV"))}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    installed = _run([python, "-m", "pip", "install", "--quiet", f"{source}[test]"], tmp_path, env)
    assert installed.returncode == 0, installed.stderr[-2000:]

    without_shop = _run([python, "-c", "import shop"], tmp_path, env)
    assert "No module named 'shop'" in without_shop.stderr
    command = _run([str(venv / "bin" / "stripe-emulator"), "--help"], tmp_path, env)
    assert command.stdout.startswith("usage: stripe-emulator"), command.stderr

    project = tmp_path / "project"
    project.mkdir()
    (project / "test_payments.py").write_text(PROJECT_TEST)
    ran = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert "2 passed" in ran.stdout
