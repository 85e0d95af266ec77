"""The app under test: `streamlit run dashboard.py` against the session's emulator, with its own data directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Emulator, free_port, start_process, stop_process, wait_for_http

OPS_PASSWORD = "e2e-ops-password"


class StreamlitApp:
    """A running Streamlit server of this test session."""

    def __init__(self, port: int, data_dir: Path, emulator: Emulator, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.extra_env = env or {}
        self.data_dir = data_dir
        self.emulator = emulator
        self.url = f"http://127.0.0.1:{port}"
        self.ops_password = OPS_PASSWORD
        self.proc = None

    def start(self) -> None:
        env = {
            "STRIPE_SECRET_KEY": "",  # emulator mode, whatever the developer's shell exports
            "STRIPE_PUBLISHABLE_KEY": "",
            "STRIPE_EMULATOR_HOST": "127.0.0.1",
            "STRIPE_EMULATOR_PORT": str(self.emulator.port),
            "STRIPE_EMULATOR_DATA_DIR": str(self.emulator.data_dir),
            "SHOP_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": f"sqlite:///{self.data_dir / 'shop.db'}",
            "OPS_PASSWORD": OPS_PASSWORD,
            **self.extra_env,
        }
        self.proc = start_process(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            env=env,
        )
        wait_for_http(f"{self.url}/_stcore/health", timeout=60, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@pytest.fixture(scope="session")
def streamlit_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """One Streamlit server for the whole session, in emulator mode against the session's emulator."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop"), emulator)
    app.start()
    yield app
    app.stop()


def wait_for_app(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit has finished running the script after the last action."""
    status = page.get_by_test_id("stStatusWidget")
    status.wait_for(state="detached", timeout=timeout_ms)
