"""What a sync reports: its kind, the requests it made and the rows it changed, and the progress callback it
calls as it goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
import stripe

from shop.words import count

# Called with how far a sync has got (0 to 1) and a line for people saying what it is doing.
Progress = Callable[[float, str], None]
# Called with the charge rows a step of the sync stored, its engine and Stripe client: the orders follow them.
FollowCharges = Callable[[list[dict], sa.Engine, stripe.StripeClient | None], None]


@dataclass(frozen=True)
class SyncReport:
    """What one sync did: kind, API requests made, rows upserted, when.

    kind: "backfill" or "incremental"; "shared" when another session's sync ran meanwhile and this call waited
    for it instead of syncing again; "running" when another session's sync still runs after the wait.
    `note` says why a sync backfilled when it was not asked to.
    """

    kind: str
    requests: int
    charges_upserted: int
    refunds_upserted: int
    events_applied: int
    synced_at: float
    duration_s: float
    note: str = ""

    def summary(self) -> str:
        """One line for people: what changed and what it cost."""
        if self.kind == "shared":
            return "Up to date: another session synced with Stripe just now."
        if self.kind == "running":
            return "Another session is syncing with Stripe; the pages show the data synced so far."
        return (self.note + " " if self.note else "") + (
            f"{self.kind.capitalize()}: {count(self.charges_upserted, 'charge')} and "
            f"{count(self.refunds_upserted, 'refund')} updated from {count(self.events_applied, 'event')} in "
            f"{count(self.requests, 'Stripe request')} ({self.duration_s:.1f} s)."
        )
