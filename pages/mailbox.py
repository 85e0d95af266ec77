"""Mailbox (staff): every email the shop's own SMTP server received, as the customer's mail program shows it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from shop.db import get_engine
from shop.mail import local_server, outbox
from shop.mail.settings import get_mail_settings
from ui import emails, gate
from ui.formats import TIME_COLUMN

gate.staff_page()

st.title("Mailbox")
settings = get_mail_settings()
counts = outbox.counts(engine=get_engine())
queued_col, sent_col, failed_col = st.columns(3)
queued_col.metric("Waiting to send", f"{counts['queued']:,}", border=True)
sent_col.metric("Sent", f"{counts['sent']:,}", border=True)
failed_col.metric("Failed", f"{counts['failed']:,}", border=True)
emails.problems()

if not settings.local:
    st.info(
        f"Emails go out through the SMTP server of SMTP_URL ({settings.target.host}). This page lists what the "
        "shop's own server keeps, which it runs only when SMTP_URL is unset.",
        icon=":material/info:",
    )
else:
    st.caption(
        f"The shop's own SMTP server (127.0.0.1:{settings.target.port}) keeps every email here; nothing leaves "
        "this machine. Set SMTP_URL to send for real."
    )

search = st.text_input("Search", placeholder="Order number, address or subject contains…", key="mailbox_search")
kept = local_server.list_messages(settings.mailbox_dir)
needle = search.strip().lower()
if needle:
    kept = [m for m in kept if needle in f"{m.order_id} {m.to} {m.subject}".lower()]
st.markdown(f"**{len(kept):,} message{'' if len(kept) == 1 else 's'}**")
if not kept:
    st.caption("No email yet: one arrives here when an order is paid, shipped, cancelled or refunded.")
    st.stop()

frame = pd.DataFrame(
    {
        "Received": [pd.Timestamp(m.received, unit="s", tz="UTC") for m in kept],
        "To": [m.to for m in kept],
        "Subject": [m.subject for m in kept],
        "Order": [m.order_id for m in kept],
        "Email": [emails.KIND_LABELS.get(m.kind, m.kind) for m in kept],
    }
)
event = st.dataframe(
    frame,
    key="mailbox_table",
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    width="stretch",
    height=min(246, 35 * (len(kept) + 1) + 3),  # a few rows; the message below gets the room
    column_config={"Received": TIME_COLUMN},
)
rows = event.selection.rows
chosen = kept[rows[0]] if rows and rows[0] < len(kept) else kept[0]
st.caption("Tick a row to open that message; the newest is open otherwise.")
with st.container(border=True):
    emails.show_message(chosen)
