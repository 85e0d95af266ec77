"""Small Streamlit apps that mount one component on its own, for the browser tests and the benchmarks, and the
server that runs one of them."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support import Emulator, start_process, stop_process, wait_for_http

HERE = Path(__file__).resolve().parent


class ComponentApp:
    """`streamlit run tests/component_apps/<script>` on `port`, in emulator mode against `emulator`."""

    def __init__(self, script: str, port: int, data_dir: Path, emulator: Emulator) -> None:
        self.script = HERE / script
        self.port = port
        self.data_dir = data_dir
        self.emulator = emulator
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None

    @property
    def log_path(self) -> Path:
        """The server's output (its log lines and any traceback)."""
        return self.data_dir / "server.log"

    def start(self) -> None:
        env = {
            "STRIPE_SECRET_KEY": "",  # emulator mode, whatever the developer's shell exports
            "STRIPE_PUBLISHABLE_KEY": "",
            "STRIPE_EMULATOR_HOST": "127.0.0.1",
            "STRIPE_EMULATOR_PORT": str(self.emulator.port),
            "STRIPE_EMULATOR_DATA_DIR": str(self.emulator.data_dir),
            "SHOP_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": f"sqlite:///{self.data_dir / 'shop.db'}",
            "COMPONENT_APP_URL": self.url,
        }
        self.proc = start_process(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(self.script),
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
            log=self.log_path,
        )
        wait_for_http(f"{self.url}/_stcore/health", timeout=60, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
