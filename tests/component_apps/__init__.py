"""Small Streamlit apps that mount one component on its own, for the browser tests and the benchmarks, and the
server that runs one of them."""

from __future__ import annotations

from pathlib import Path

from tests.support import Emulator, stop_process
from tests.support_browser import emulator_mode_env, start_streamlit

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
        env = {**emulator_mode_env(self.emulator, self.data_dir), "COMPONENT_APP_URL": self.url}
        self.proc = start_streamlit(self.script, self.port, env, self.log_path)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
