"""What every finance page shows first: the last sync time, "Sync now", and the synced charges.

The pages read the local copy of Stripe's charges; Stripe is asked only by a sync: when the user clicks
"Sync now", or when the copy is older than a minute. Webhooks change the copy in between; `live_refresh` reruns
an open page within about a second of any change, by watching the copy's change counter (one small query a
second, never Stripe).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
import stripe

from shop import analytics, db, stripe_io, sync, sync_report
from shop.checkout import reconcile
from shop.config import ConfigError, get_settings
from shop.db import get_engine

log = logging.getLogger(__name__)

LIVE_REFRESH_S = 1.0
_SEEN_VERSION_KEY = "live_refresh_seen_version"


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def _summary(
    database_url: str, version: int, chosen: analytics.ChargeFilter, by_issue: bool, minute: datetime
) -> analytics.in_database.PeriodSummary:
    del database_url, version  # cache keys: a change to the copy gives a new version
    return analytics.in_database.summary(chosen, refunds_by_issue=by_issue, now=minute)


def charges_summary(chosen: analytics.ChargeFilter, *, refunds_by_issue: bool) -> analytics.in_database.PeriodSummary:
    """The Charges page's numbers for `chosen` (see shop.analytics.in_database.summary), computed by the database
    once per change of the copy (and per minute, the comparison of a running period moving with the clock)."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    return _summary(get_settings().database_url, db.data_version(), chosen, refunds_by_issue, minute)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def _newest(database_url: str, version: int, chosen: analytics.ChargeFilter, limit: int) -> pd.DataFrame:
    del database_url, version
    return analytics.in_database.newest(chosen, limit)


def newest_charges(chosen: analytics.ChargeFilter, limit: int) -> pd.DataFrame:
    """The newest `limit` charges `chosen` selects, read again only after the copy changed; read-only."""
    return _newest(get_settings().database_url, db.data_version(), chosen, limit)


@st.cache_data(ttl=600, show_spinner=False, max_entries=8)
def _charges_between(database_url: str, version: int, start: datetime, end: datetime) -> pd.DataFrame:
    del version  # a cache key: a sync that changes the copy gives a new version
    return analytics.load_charges(get_engine(database_url), start=start, end=end)


def charges_between(start: datetime, end: datetime) -> pd.DataFrame:
    """The synced charges created in [start, end) (UTC), newest first (see shop.analytics.load_charges).

    Read through the index on `created`, so a month of a million charges costs a month's rows; read again only
    after the copy changed. Each caller gets its own copy of the cached frame.
    """
    return _charges_between(get_settings().database_url, db.data_version(), start, end)


def run_sync(full: bool = False) -> sync_report.SyncReport | None:
    """Sync with Stripe inside an st.status with a progress bar; errors are shown, never raised."""
    with st.status("Syncing with Stripe…", expanded=False) as status:
        bar = st.progress(0.0, text="Asking Stripe what changed…")
        try:
            report = reconcile.sync_and_settle(
                progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=text), full=full
            )
        except (stripe.StripeError, ConfigError) as exc:
            log.warning("sync failed", exc_info=True)  # the details (hosts, paths) go to the log, not the page
            status.update(label="Sync failed: the pages show the last synced data.", state="error", expanded=True)
            reason = stripe_io.staff_words(exc) if isinstance(exc, stripe.StripeError) else str(exc)
            st.error(f"Could not sync with Stripe. {reason} The pages show the last synced data.")
            return None
        status.update(label=report.summary(), state="complete", expanded=False)
    return report


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def sync_bar() -> None:
    """Last sync time and a "Sync now" button; syncs by itself when the copy is older than a minute."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    clicked = right.button("Sync now", icon=":material/sync:", width="stretch", key="ops_sync_now")
    if clicked or sync.needs_sync():
        run_sync()
    synced = sync.last_synced_at()
    if synced is None:
        left.caption("Never synced with Stripe.")
    else:
        when = datetime.fromtimestamp(synced, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        left.caption(f"Last synced with Stripe: {when} ({_age(time.time() - synced)}).")
    live_refresh()


def live_refresh() -> None:
    """Rerun the page when the local copy changes (a webhook, another session's sync); call before reading data.

    The version is noted before the page reads the copy, so a change stored while the page renders is never
    missed: the watcher sees a newer number and reruns the page once more.
    """
    st.session_state[_SEEN_VERSION_KEY] = db.data_version()
    _watch_version()


@st.fragment(run_every=LIVE_REFRESH_S)
def _watch_version() -> None:
    if db.data_version() != st.session_state.get(_SEEN_VERSION_KEY):
        st.rerun(scope="app")


def data_changed() -> None:
    """After this session changed Stripe (a refund, a cancellation): sync at once so the pages show it."""
    run_sync()
