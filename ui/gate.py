"""The guard every page runs first, whichever way Streamlit chose to run the page.

A freshly started Streamlit server whose main script has a `pages/` folder beside it starts in its old folder
mode until some session runs `st.navigation`: in that window a request for `/orders` runs `pages/orders.py`
directly and `dashboard.py` never runs. So the gate cannot live in `dashboard.py` alone. Every page calls
`public_page()` or `staff_page()` first: a page reached without the app's navigation hands the run to the app's
entry point (which registers the navigation, ending the folder mode for the whole process, and runs the page the
visitor asked for through it, signed-in checks included), and a staff page refuses to render for a session that
is not signed in, however it was reached: in its place it shows the sign-in form, which leads back to it.

Signed in means: with the ops password, a staff session cookie (shop.staff_sessions) that is signed, unexpired and
not signed out, read from the browser's request on every run (so a reload or a link keeps it, and a sign-out in
another tab ends it at the next click); with single sign-on ([auth]), an account st.login vouches for AND on the
allow-list (shop.auth.email_allowed).
"""

from __future__ import annotations

import contextvars
import html
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import streamlit as st

from shop import audit, auth, staff_sessions
from shop.config import get_settings

# Set while the app's own navigation runs a page. A context variable, not session state: it must say how THIS run
# reached the page, and it must not outlive the run.
# Its value is the URL path of the page the navigation runs ("" for the default page), None outside it.
_THROUGH_NAVIGATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("through_navigation", default=None)
SIGN_IN_ACTION = "/staff/sign-in"  # ui.staff_routes
SIGN_OUT_ACTION = "/staff/sign-out"
FAILED = {
    "wrong": "Wrong password. Check it and try again.",
    "empty": "Enter the ops password.",
    "off": auth.HOW_TO_ENABLE,
}


@contextmanager
def through_navigation(url_path: str = "") -> Iterator[None]:
    """Mark the pages run inside this block as reached through the app's navigation (the page at `url_path`)."""
    token = _THROUGH_NAVIGATION.set(url_path)
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


def session_cookie() -> str | None:
    """The staff session cookie the browser sent with this session's connection, or None."""
    return st.context.cookies.get(staff_sessions.SESSION_COOKIE)


def sso_email() -> str | None:
    """The email of the account signed in with single sign-on, or None."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    email = st.user.get("email")
    return str(email) if email else None


def refused_account() -> str | None:
    """With single sign-on: the email of a signed-in account that is NOT on the allow-list (else None)."""
    email = sso_email()
    if not auth_configured() or not getattr(st.user, "is_logged_in", False) or signed_in():
        return None
    return email or "(no email given)"


def signed_in() -> bool:
    """True when this browser may see the finance pages (see the module's docstring)."""
    if auth_configured():
        verified = st.user.get("email_verified") if getattr(st.user, "is_logged_in", False) else None
        return auth.email_allowed(sso_email(), email_verified=None if verified is None else bool(verified))
    return staff_sessions.is_valid(session_cookie())


def actor() -> str:
    """Who is acting, for the audit log: the signed-in email with single sign-on, else "staff" (the ops password)."""
    if auth_configured():
        email = getattr(st.user, "email", None)
        if email:
            return str(email)
    return audit.STAFF


def _run_through_the_app() -> None:
    if _THROUGH_NAVIGATION.get() is not None:
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
        # Nothing of the page runs: the sign-in form takes its place, and signing in comes back here.
        sign_in_form(here())
        st.stop()


def here() -> str | None:
    """This page's address (path and query) as a sign-in may lead back to it, or None."""
    from ui.app import FINANCE_URL_PATHS  # here, not at the top: ui.app imports this module

    url_path = _THROUGH_NAVIGATION.get() or ""
    query = urlencode(st.query_params.to_dict())
    return auth.safe_next(f"/{url_path}" + (f"?{query}" if query else ""), FINANCE_URL_PATHS)


def sign_in_form(next_page: str | None) -> None:
    """The staff sign-in: single sign-on's button, or the ops password form posting to the app's server."""
    from ui.app import FINANCE_TITLES, FINANCE_URL_PATHS

    st.title(":material/lock: Sign in")
    st.write("The finance pages (charges, failures, refunds, orders, disputes, balance) are for the shop's staff.")
    if auth_configured():
        refused = refused_account()
        if refused:
            st.error(auth.NOT_ON_THE_LIST.format(email=refused), icon=":material/block:")
            st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        else:
            st.button("Sign in with your company account", type="primary", on_click=st.login)
        return
    settings = get_settings()
    if not auth.password_source(settings, secrets_value("ops_password")).enabled:
        st.warning(auth.HOW_TO_ENABLE)
        return
    failed = st.query_params.get("failed")
    wait = st.query_params.get("wait", "")
    seconds = f"{int(wait)} s" if wait.isdigit() and 0 < int(wait) < 100_000 else None
    if failed == "wait":
        st.error(f"Too many wrong passwords. Wait {seconds or 'a while'}, then try again.", icon=":material/timer:")
    elif failed in FAILED:
        later = f" The next try is possible in {seconds}." if failed == "wrong" and seconds else ""
        st.error(FAILED[failed] + later, icon=":material/error:")
    target = next_page or auth.safe_next(st.query_params.get("next"), FINANCE_URL_PATHS) or ""
    if target:
        st.caption(f"After signing in you go on to {FINANCE_TITLES[target.split('?')[0].lstrip('/')]}.")
    st.html(_PASSWORD_FORM.replace("{action}", SIGN_IN_ACTION).replace("{next}", html.escape(target, quote=True)))
    if auth.password_source(settings, secrets_value("ops_password")).origin == "demo":
        st.info(
            f"Emulator mode: no ops password is set, so the demo password **{auth.DEMO_PASSWORD}** opens the finance "
            "pages. Set OPS_PASSWORD to choose your own."
        )


def sign_out_button() -> None:
    """Sign out (in the sidebar): a form posting to the app's server, which ends the session; st.logout with SSO."""
    if auth_configured():
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    else:
        st.html(_SIGN_OUT_FORM.replace("{action}", SIGN_OUT_ACTION))


# Plain HTML forms (st.html keeps forms and inputs): the browser posts them to the app's own server, which sets or
# drops the cookie and answers with a redirect. The styles follow Streamlit's inputs and buttons, in the theme's
# primary colour (.streamlit/config.toml): white on it reads 4.7:1.
_STYLE = """<style>
.staff-form { display: flex; flex-direction: column; gap: 0.5rem; max-width: 28rem; }
.staff-form label { font-size: 0.875rem; }
.staff-form input[type=password] { font: inherit; padding: 0.5rem 0.75rem; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.2); background: var(--st-secondary-background-color, #f0f2f6); }
.staff-form button { font: inherit; align-self: flex-start; padding: 0.375rem 0.75rem; border-radius: 0.5rem;
  cursor: pointer; border: 1px solid rgba(49, 51, 63, 0.2); background: transparent; color: inherit; }
.staff-form button.primary { background: #635bff; border-color: #635bff; color: #fff; }
</style>"""
_PASSWORD_FORM = (
    _STYLE
    + """<form class="staff-form" method="post" action="{action}">
<label for="ops-password">Ops password</label>
<input id="ops-password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}">
<button class="primary" type="submit">Sign in</button>
</form>"""
)
_SIGN_OUT_FORM = (
    _STYLE
    + """<form class="staff-form" method="post" action="{action}">
<button type="submit">Sign out</button>
</form>"""
)
