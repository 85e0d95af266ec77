"""The app under test: `streamlit run dashboard.py` against the session's emulator, with its own data directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import Emulator, free_port
from tests.support_browser import StreamlitApp


@pytest.fixture(scope="session")
def streamlit_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """One Streamlit server for the whole session, in emulator mode against the session's emulator."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop"), emulator)
    app.start()
    yield app
    app.stop()
