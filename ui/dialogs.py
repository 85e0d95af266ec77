"""One confirmation dialog for every money action (refund, cancel): say what will happen, then do it or not."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.messages import show_line


def confirm(
    title: str,
    *,
    key: str,
    body: str,
    yes_label: str,
    no_label: str,
    on_yes: Callable[[], None],
    caption: str | None = None,
) -> None:
    """Open a dialog asking to confirm an action; `on_yes` runs on the confirm button, then the page reruns.

    `key` is the session-state key that keeps the dialog open across reruns: the page opens the dialog while the key
    is set, and the dialog clears it on either button or when dismissed. `body` is one line of HTML for
    `ui.messages.show_line`: customer-typed parts must already be passed through `ui.messages.inert`.
    """

    def close() -> None:
        st.session_state.pop(key, None)

    @st.dialog(title, on_dismiss=close)
    def dialog() -> None:
        show_line(body)
        if caption:
            st.caption(caption)
        yes, no = st.columns(2)
        if yes.button(yes_label, type="primary", key=f"{key}_yes", width="stretch"):
            on_yes()
            close()
            st.rerun()
        if no.button(no_label, key=f"{key}_no", width="stretch"):
            close()
            st.rerun()

    dialog()
