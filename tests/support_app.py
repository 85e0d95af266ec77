"""AppTest runs signed in as staff.

AppTest sends no cookies (its runs see an empty `st.context.cookies`), so a test signs in by starting a real staff
session (shop.staff_sessions) and putting its cookie into the run's session state; `staff_cookie_from_state`
hands that value to the gate in place of the browser's cookie. The gate still checks it like any cookie: signed,
unexpired, not signed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

TEST_COOKIE_KEY = "test_staff_session_cookie"


def sign_in_as_staff(at) -> None:
    """Sign the AppTest `at` in with a new staff session (run inside `staff_cookie_from_state`)."""
    from shop import staff_sessions

    at.session_state[TEST_COOKIE_KEY] = staff_sessions.start().cookie


@contextmanager
def staff_cookie_from_state() -> Iterator[None]:
    """While inside: the gate reads the staff cookie from the run's session state (see `sign_in_as_staff`)."""
    import streamlit as st

    from ui import gate

    with mock.patch.object(gate, "session_cookie", lambda: st.session_state.get(TEST_COOKIE_KEY)):
        yield
