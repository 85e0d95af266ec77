"""The guard every page runs first, whichever way Streamlit chose to run the page.

A freshly started Streamlit server whose main script has a `pages/` folder beside it starts in its old folder
mode until some session runs `st.navigation`: in that window a request for `/orders` runs `pages/orders.py`
directly and `dashboard.py` never runs. So the gate cannot live in `dashboard.py` alone. Every page calls
`public_page()` or `staff_page()` first: a page reached without the app's navigation hands the run to the app's
entry point (which registers the navigation, ending the folder mode for the whole process, and runs the page the
visitor asked for through it, signed-in checks included), and a staff page refuses to render for a session that
is not signed in, however it was reached.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from shop import audit, auth

# Set while the app's own navigation runs a page. A context variable, not session state: it must say how THIS run
# reached the page, and it must not outlive the run.
_THROUGH_NAVIGATION: contextvars.ContextVar[bool] = contextvars.ContextVar("through_navigation", default=False)
SIGNED_IN_KEY = "ops_signed_in"
JUST_SIGNED_IN_KEY = "ops_just_signed_in"  # lets the navigation open the Charges page after signing in


@contextmanager
def through_navigation() -> Iterator[None]:
    """Mark the pages run inside this block as reached through the app's navigation."""
    token = _THROUGH_NAVIGATION.set(True)
    try:
        yield
    finally:
        _THROUGH_NAVIGATION.reset(token)


def secrets_value(name: str) -> str | None:
    """A top-level value of `.streamlit/secrets.toml`, or None (also when there is no such file)."""
    try:
        return st.secrets.get(name)
    except FileNotFoundError:
        return None


def auth_configured() -> bool:
    """True when an [auth] section configures single sign-on (st.login) instead of the ops password."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def sign_in_client() -> auth.Client:
    """This browser session and its address, for the sign-in delay (see shop.auth.SignInThrottle)."""
    session = st.session_state.setdefault("sign_in_client_id", uuid.uuid4().hex)
    return auth.Client(session=session, address=st.context.ip_address)


def signed_in() -> bool:
    """True when this session may see the finance pages."""
    if auth_configured():
        return bool(getattr(st.user, "is_logged_in", False))
    return bool(st.session_state.get(SIGNED_IN_KEY))


def actor() -> str:
    """Who is acting, for the audit log: the signed-in email with single sign-on, else "staff" (the ops password)."""
    if auth_configured():
        email = getattr(st.user, "email", None)
        if email:
            return str(email)
    return audit.STAFF


def _run_through_the_app() -> None:
    if _THROUGH_NAVIGATION.get():
        return
    from ui.app import main  # here, not at the top: ui.app imports this module

    main()
    st.stop()  # the page Streamlit picked has been run (or refused) by the app: nothing more of it runs


def public_page() -> None:
    """First call of a page anyone may see: make sure the app's navigation is what runs it."""
    _run_through_the_app()


def staff_page() -> None:
    """First call of a finance page: run through the app's navigation, and only for a signed-in session."""
    _run_through_the_app()
    if not signed_in():
        # Not reachable through the navigation when signed out; this is the second lock on the door.
        st.title("Sign in required")
        st.write("This page is for the shop's staff. Sign in first.")
        st.page_link("pages/sign_in.py", label="Go to the sign-in page", icon="🔒")
        st.stop()
