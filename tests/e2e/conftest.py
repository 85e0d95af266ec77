"""The app under test: `streamlit run dashboard.py` against the session's emulator, with its own data directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.support import Emulator, free_port
from tests.support_browser import StreamlitApp, watch_script_runs


@pytest.fixture(scope="session")
def streamlit_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitApp]:
    """One Streamlit server for the whole session, in emulator mode against the session's emulator."""
    app = StreamlitApp(free_port(), tmp_path_factory.mktemp("shop"), emulator)
    app.start()
    yield app
    app.stop()


@pytest.fixture(autouse=True)
def _script_runs(request: pytest.FixtureRequest) -> None:
    """A test's `page` has its script runs read off its websocket from the start (see rerun_finished)."""
    if "page" in request.fixturenames:
        watch_script_runs(request.getfixturevalue("page"))


LOG_TAIL_LINES = 60


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failed browser test reports what the page said and the tail of each server's log beside the assertion.

    A flaky failure in CI is then readable from its output alone: a message on the page (an error, a warning)
    or a traceback in the server says more than "Total charged was not visible".
    """
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    arguments = getattr(item, "funcargs", {})
    page = arguments.get("page")
    if page is not None:
        try:
            text = page.locator("body").inner_text(timeout=2_000)
        except PlaywrightError as error:
            text = f"(the page could not be read: {error})"
        report.sections.append(("page text at the failure", text))
    for name, value in arguments.items():
        apps = value if isinstance(value, list | tuple) else [value]
        for app in apps:
            if isinstance(app, StreamlitApp) and app.log_path.exists():
                lines = app.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                report.sections.append((f"server log of {name} (port {app.port})", "\n".join(lines)))
