"""Messages on pages: customer-typed text shown inert, and one-shot messages that survive a rerun.

Text a customer typed (names, emails, addresses, refund reasons) is data. Streamlit renders markdown in
`st.write`, `st.markdown`, `st.caption`, alerts and dialogs, so a name like `[Approve](https://…)` or `![x](…)`
would become a link or a remote image on a staff page. Every such value goes through `inert()` before it is put
into a markdown string; tables (`st.dataframe`) and widget labels do not render markdown and need nothing.
"""

from __future__ import annotations

import re

import streamlit as st

# CommonMark lets any ASCII punctuation be escaped with a backslash, and an escaped character is never markup:
# escaping all of it also breaks autolinks (http://, www., a@b.c), Streamlit's :colour[…] and :emoji: directives,
# and HTML tags.
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def inert(value: object) -> str:
    """`value` as markdown source that renders as exactly its text: no link, image, HTML or formatting."""
    text = "" if value is None else str(value)
    # A newline would end a table cell or start a list/heading on the next line; show it as a space.
    text = " ".join(text.splitlines())
    return _PUNCTUATION.sub(r"\\\1", text)


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
