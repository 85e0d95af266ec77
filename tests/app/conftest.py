"""AppTest pages read the staff cookie from session state (tests.support_app), since AppTest sends no cookies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support_app import staff_cookie_from_state


@pytest.fixture(autouse=True)
def _staff_cookie_from_state() -> Iterator[None]:
    with staff_cookie_from_state():
        yield
