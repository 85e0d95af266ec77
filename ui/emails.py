"""Emails on pages: a kept message rendered as a mail program would (sandboxed), and the emails staff must see.

A message's HTML is shown inside an `<iframe sandbox>` with no `allow-scripts` and no `allow-same-origin`: even a
script that got into a message could not run, nor reach the app. Links in it open in a new tab. The plain text and
the raw source are shown as text (`st.code`), never as markdown.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import streamlit as st

from shop.db import get_engine
from shop.mail import local_server, outbox
from shop.mail.settings import get_mail_settings
from ui.messages import inert, show_line

KIND_LABELS = {
    "confirmed": "order confirmed",
    "shipped": "shipped",
    "cancelled": "cancelled",
    "refunded": "refund issued",
    "refund_corrected": "refund correction",
    "request_received": "refund request received",
    "request_approved": "refund request approved",
    "request_rejected": "refund request rejected",
    "debit_processing": "bank payment on its way",
    "debit_failed": "bank payment returned",
}


SHOWN_PROBLEMS = 10


def when(seconds: float | None) -> str:
    """A Unix time as "Dec 02, 2026 14:05 UTC" ("–" for none)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%b %d, %Y %H:%M UTC") if seconds else "–"


def rendered(email_html: str, *, height: int = 620) -> None:
    """The email's HTML as a customer's mail program shows it: in a sandboxed frame, no scripts, links in new tabs."""
    document = email_html.replace("<head>", '<head><base target="_blank">', 1)
    frame = (
        '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" title="The email as the customer sees it" '
        f'style="width:100%;height:{height - 8}px;border:1px solid #e3e8ee;border-radius:6px;background:#fff" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe>'
    )
    st.iframe(f"<!DOCTYPE html><html><body style='margin:0'>{frame}</body></html>", height=height)


def show_message(stored: local_server.Stored, *, source: bool = True) -> None:
    """One kept message: its headers, then the rendered HTML, the plain text and (for staff) the raw source."""
    message, raw = local_server.read(stored.path)
    text, email_html = local_server.parts(message)
    show_line(f"<strong>{inert(message['Subject'])}</strong>")
    show_line(
        f"From {inert(message['From'])} · to {inert(message['To'])}"
        + (f" · reply to {inert(message['Reply-To'])}" if message["Reply-To"] else "")
        + f" · {inert(message['Date'])}",
        caption=True,
    )
    names = ["As the customer sees it", "Plain text"] + (["Source"] if source else [])
    tabs = st.tabs(names)
    with tabs[0]:
        if email_html:
            rendered(email_html)
        else:
            st.caption("This message has no HTML part.")
    with tabs[1]:
        st.code(text or "(no plain-text part)", language=None, wrap_lines=True)
    if source:
        with tabs[2]:
            st.caption(f"Message-ID {stored.message_id} · {len(raw):,} bytes as the SMTP server received them")
            st.code(raw.decode("utf-8", "replace"), language=None, wrap_lines=True)


def problems(order_ids: list[str] | None = None) -> None:
    """Emails that failed or keep being refused, each with its order and what to fix (nothing when there are none)."""
    found = outbox.problems(order_ids, engine=get_engine())
    if not found:
        return
    with st.container(border=True):
        listed = [(order_id, message) for order_id, messages in found.items() for message in messages]
        st.markdown(f":material/mail: **{len(listed)} customer email(s) not delivered**")
        if len(listed) > SHOWN_PROBLEMS:
            st.caption(f"The newest {SHOWN_PROBLEMS}; the Mailbox counts them all.")
        for order_id, message in listed[-SHOWN_PROBLEMS:]:
            state = "failed, not sent" if message.status == "failed" else f"waiting, tried {message.attempts}×"
            show_line(
                f"<strong>{inert(order_id)}</strong> · {inert(KIND_LABELS.get(message.kind, message.kind))} "
                f"to {inert(message.recipient)} · {state}: {inert(message.last_error)}",
                caption=True,
            )


def order_emails(order_id: str) -> None:
    """The emails of one order: what each is, to whom, and whether it went (for the charge page)."""
    messages = outbox.messages(order_id=order_id, engine=get_engine())
    if not messages:
        st.caption("No email for this order yet.")
        return
    for message in reversed(messages):
        state = {"sent": f"sent {when(message.sent_at)}", "failed": "failed"}.get(message.status, "queued")
        show_line(
            f"{inert(KIND_LABELS.get(message.kind, message.kind))} to {inert(message.recipient)} · {state}"
            + (f" · {inert(message.last_error)}" if message.last_error else ""),
            caption=True,
        )


def mailbox_available() -> bool:
    """True when the shop's own SMTP server keeps the mail (no SMTP_URL), so a page can show it."""
    return get_mail_settings().local


def kept_for_order(order_id: str, kind: str | None = None) -> list[local_server.Stored]:
    """The kept messages of one order (of one kind when given), newest first."""
    kept = local_server.list_messages(get_mail_settings().mailbox_dir, order_id=order_id)
    return [stored for stored in kept if kind is None or stored.kind == kind]
