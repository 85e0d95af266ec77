"""Messages on pages: customer-typed text shown inert, and one-shot messages that survive a rerun.

Text a customer typed (names, emails, addresses, refund reasons) is data. Streamlit renders markdown in
`st.write`, `st.markdown`, `st.caption`, alerts and dialogs, so a name like `[Approve](https://…)` or `![x](…)`
would become a link or a remote image on a staff page. Backslash-escaping is not enough: Streamlit's GFM
autolinking runs on the text after escapes are resolved, so `https://…` or `a@b.c` still became links.
So a line that shows customer text is written as HTML, the customer's parts escaped by `inert()`, and shown by
`show_line()` as one HTML block, which the markdown parser leaves alone (CommonMark HTML blocks are raw) and the
autolinker never sees. Tables (`st.dataframe`) and widget options do not render markdown and need nothing.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import streamlit as st


def inert(value: object) -> str:
    """`value` as HTML that shows exactly its text (for `show_line`); a newline becomes a space."""
    text = "" if value is None else str(value)
    # A blank line would end the HTML block and hand the rest of the text to the markdown parser.
    return html.escape(" ".join(text.splitlines()), quote=True)


def show_line(html_text: str, *, caption: bool = False, container=None) -> None:
    """Show one line of our own HTML (`<strong>`, `<code>`) in which every customer value went through `inert`."""
    target = container if container is not None else st
    block = f"<div>{html_text}</div>"
    if caption:
        target.caption(block, unsafe_allow_html=True)
    else:
        target.markdown(block, unsafe_allow_html=True)


def flash(key: str, kind: str, text: str) -> None:
    """Keep a message ("success" or "error") to show after the next rerun, under `key`."""
    st.session_state[key] = (kind, text)


def show_flash(key: str) -> None:
    """Show (once) the message kept under `key` by `flash`, if any."""
    kind, text = st.session_state.pop(key, (None, None))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def flash_outcome(
    key: str,
    action: Callable[[], Any],
    success: str | Callable[[Any], str],
    *,
    errors: tuple[type[Exception], ...],
) -> bool:
    """Run a staff or customer action and keep its outcome under `key` for the next rerun.

    `success` is the message (or a function of the action's result giving it); an exception of `errors` keeps its
    own sentence as the error. Returns True when the action succeeded.
    """
    try:
        result = action()
    except errors as exc:
        flash(key, "error", getattr(exc, "message", None) or str(exc))
        return False
    flash(key, "success", success(result) if callable(success) else success)
    return True
