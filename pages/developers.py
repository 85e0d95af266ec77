"""Developers: what Stripe did — its events, whether each was delivered to this app and applied, a resend — and, in
emulator mode, demo controls that make the next payment meet a slow, lost, failed or rate-limited Stripe."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import stripe

from shop import demo_faults, developers
from shop.checkout import integrations
from shop.config import ConfigError, get_settings, stripe_client
from shop.words import count
from ui import gate
from ui.formats import TIME_COLUMN
from ui.links import charge_detail_url
from ui.messages import flash, show_flash

gate.staff_page()

MESSAGE_KEY = "developers_message"
EVENTS_TABLE_KEY = "developers_events"
CACHE_S = 5  # the list (and an event's deliveries) is asked of Stripe at most this often per filter (event)


@st.cache_data(ttl=CACHE_S, show_spinner=False, max_entries=16)
def _events(account: str, event_type: str, object_id: str) -> list[developers.EventRow]:
    del account  # the cache key: one account per settings
    return developers.recent_events(stripe_client(), event_type=event_type, object_id=object_id)


@st.cache_data(ttl=CACHE_S, show_spinner=False, max_entries=16)
def _deliveries(account: str, event_id: str) -> list[developers.Delivery]:
    del account  # the cache key: one account per settings
    return developers.deliveries(stripe_client(), event_id)


def _read_again() -> None:
    """Forget the cached events and deliveries, so this run asks Stripe for them again."""
    _events.clear()
    _deliveries.clear()


def _delivered(row: developers.EventRow) -> str:
    return "Yes" if row.pending_webhooks == 0 else f"{row.pending_webhooks} pending"


settings = get_settings()
account = settings.mode + settings.emulator_url
emulator_mode = settings.mode == "emulator"
st.title("Developers")
st.caption(
    "What Stripe did, newest first: each event, whether it reached this app's webhook and was applied to the "
    "local copy. Select an event to see its deliveries."
)
st.button("Refresh", icon=":material/refresh:", key="developers_refresh", on_click=_read_again)
show_flash(MESSAGE_KEY)

# ------------------------------------------------------------------------------------------------ events
type_col, object_col = st.columns(2)
event_type = type_col.text_input("Event type", placeholder="charge.* or payment_intent.succeeded")
object_id = object_col.text_input("Charge, intent, refund or order", placeholder="ch_…, pi_…, re_… or SP-…")
try:
    rows = _events(account, event_type, object_id)
except stripe.InvalidRequestError as exc:
    st.error(f"Stripe refused that filter: {exc.user_message or 'check the event type'}.")
    st.stop()
except (stripe.StripeError, ConfigError):
    st.error("Stripe did not answer: the events cannot be listed just now. Try again in a minute.")
    st.stop()

if not rows:
    st.caption(f"No events match among the newest {developers.LIST_LIMIT} (Stripe keeps 30 days of them).")
else:
    frame = pd.DataFrame(
        {
            "Time": [row.created for row in rows],
            "Type": [row.type for row in rows],
            "Object": [row.object_id for row in rows],
            "Delivered": [_delivered(row) for row in rows],
            "Applied": ["Yes" if row.applied else "Not yet" for row in rows],
            "Charge": [charge_detail_url(row.charge_id) if row.charge_id else None for row in rows],
            "Event": [row.id for row in rows],
        }
    )
    st.caption(f"{count(len(rows), 'event')} (the newest {developers.LIST_LIMIT} at most).")
    selected = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "Time": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss", timezone="UTC"),
            "Charge": st.column_config.LinkColumn(display_text="Open the charge"),
        },
        on_select="rerun",
        selection_mode="single-row",
        key=EVENTS_TABLE_KEY,
    )
    chosen_rows = selected.selection.rows if selected is not None else []
    if chosen_rows:
        event = rows[chosen_rows[0]]
        st.subheader(f"Event {event.id}")
        st.caption(f"{event.type} · {event.object_id} · {event.created:%Y-%m-%d %H:%M:%S} UTC")
        if emulator_mode:
            found = _deliveries(account, event.id)
            if found:
                st.dataframe(
                    pd.DataFrame(
                        {
                            "Endpoint": [d.endpoint_url for d in found],
                            "Status": [d.state for d in found],
                            "Attempts": [d.attempts for d in found],
                            "Answer": [d.last_status for d in found],
                            "Last attempt": [d.last_at for d in found],
                            "Answer began": [d.response_start for d in found],
                            "Resent": ["Yes" if d.resend else "" for d in found],
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                    column_config={"Last attempt": TIME_COLUMN},
                )
            else:
                st.caption("No webhook endpoint was subscribed to this event when it happened.")
            if st.button("Resend this event", icon=":material/replay:", key="developers_resend"):
                sent = developers.resend(stripe_client(), event.id)
                flash(
                    MESSAGE_KEY,
                    "success",
                    f"Sent {event.id} again to {count(sent, 'endpoint')}. The app applies each "
                    "event once, so nothing it already applied changes.",
                )
                _read_again()
                st.rerun()
        else:
            st.caption(
                "Stripe's Dashboard (Developers → Events) shows this event's deliveries. To send it again: "
                f"`{developers.resend_command(event.id)}`"
            )

# ------------------------------------------------------------------------------------------------ demo controls
if emulator_mode:
    st.subheader("Demo controls")
    st.caption(
        "Arm a fault for the next payment anyone makes on this shop, then pay in another tab to show what the "
        "customer and the order see. Each fault applies once."
    )
    labels = {fault.key: fault.label for fault in demo_faults.FAULTS}
    choice = st.radio("What should happen to the next payment?", list(labels), format_func=labels.get)
    st.info(demo_faults.BY_KEY[choice].outcome, icon=":material/info:")
    # The shop page lets each browser session pay through another integration: the fault waits for that one's payment.
    api = st.radio(
        "For a payment through",
        integrations.choosable(get_settings()),
        format_func=integrations.name_of,
        key="developers_fault_integration",
    )
    arm_col, disarm_col = st.columns(2)
    try:
        if arm_col.button("Arm for the next payment", icon=":material/bolt:", type="primary", width="stretch"):
            demo_faults.arm(choice, api)
            flash(MESSAGE_KEY, "success", f"Armed: {labels[choice]}. Pay in another tab to see it.")
            st.rerun()
        if disarm_col.button("Disarm all", icon=":material/block:", width="stretch"):
            cleared = demo_faults.disarm_all()
            flash(MESSAGE_KEY, "success", f"Disarmed {count(cleared, 'fault')}.")
            st.rerun()
        waiting = demo_faults.armed()
    except demo_faults.DemoControlError as exc:
        st.error(str(exc))
    else:
        if waiting:
            st.caption("Armed now: " + "; ".join(waiting) + ".")
        else:
            st.caption("Nothing is armed: payments go through as usual.")
