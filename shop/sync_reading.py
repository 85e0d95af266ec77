"""Reading Stripe for the local copy: one GET at a time, paced, a 429 waited out, lists followed page by page.

Every request the sync makes goes through `request_json` and counts on a `RequestCounter`, so a report can say what
a sync cost and a long backfill stays under Stripe's rate limit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from typing import Any

import stripe

PAGE_SIZE = 100
# A 429 is retried this many times, waiting `backoff_s` before each (up to BACKOFF_CAP_S), before the sync fails.
RATE_LIMIT_RETRIES = 10
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0


class RequestCounter:
    """Counts the requests a sync makes (each page is one GET) and how many Stripe refused with a 429, and paces
    them at `requests_per_s` (0: unpaced) so a long backfill stays under Stripe's rate limit instead of meeting it."""

    def __init__(self, requests_per_s: float = 0.0) -> None:
        self.requests = 0
        self.rate_limited = 0
        self.interval_s = 1 / requests_per_s if requests_per_s else 0.0
        self._next_at = 0.0
        self._lock = threading.Lock()  # shared by the threads of a ranged backfill (shop.backfill_ranges)

    def pace(self) -> None:
        """Wait until the next request is due (requests evenly spaced, no burst), then count it."""
        with self._lock:
            now = time.monotonic()
            wait_s = max(0.0, self._next_at - now) if self.interval_s else 0.0
            if self.interval_s:
                self._next_at = max(now, self._next_at) + self.interval_s
            self.requests += 1
        if wait_s:
            time.sleep(wait_s)  # pacing to a rate: there is no condition to wait for


def backoff_s(retry: int) -> float:
    """How long to wait before retry number `retry` (0 first) of a rate-limited request: "full jitter", a random
    time up to an exponentially growing cap, so sessions limited at the same moment do not come back together
    (docs.stripe.com/rate-limits: "exponential backoff", with "some amount of random jitter")."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**retry))


def request_json(client: stripe.StripeClient, path: str, params: dict, counter: RequestCounter) -> dict:
    """One GET as plain JSON; a 429 (RateLimitError) is waited out (`backoff_s`) and the same request sent again,
    so a sync resumes exactly where it stopped (the same page cursor). Raises it after RATE_LIMIT_RETRIES."""
    for retry in range(RATE_LIMIT_RETRIES + 1):
        counter.pace()
        try:
            return client.raw_request("get", path, **params).data
        except stripe.RateLimitError:
            counter.rate_limited += 1
            if retry == RATE_LIMIT_RETRIES:
                raise
            time.sleep(backoff_s(retry))
    raise AssertionError("unreachable")


def list_page(client: stripe.StripeClient, path: str, params: dict, counter: RequestCounter) -> dict:
    """One GET of a Stripe list as plain JSON: {"data": [...], "has_more": ...}.

    Through the SDK's `raw_request` (same auth, retries and typed errors) rather than `client.v1.<x>.list`:
    building StripeObjects for 100 charges costs ~0.3 s here, ten times the request itself, and the store
    wants plain dicts anyway.
    """
    return request_json(client, path, params, counter)


def list_pages(
    client: stripe.StripeClient,
    path: str,
    counter: RequestCounter,
    filters: dict | None = None,
    after: str | None = None,
) -> Iterable[dict]:
    """Pages of a Stripe list, newest first, following `starting_after` as auto-paging does (100 a page); with
    `after`, from the object after that id.

    Paged by hand (the same requests auto-paging makes) so that each page is stored and reported as it arrives.
    """
    params: dict[str, Any] = {"limit": PAGE_SIZE, **(filters or {})}
    if after:
        params["starting_after"] = after
    while True:
        page = list_page(client, path, params, counter)
        yield page
        if not page["has_more"] or not page["data"]:
            return
        params = {"limit": PAGE_SIZE, **(filters or {}), "starting_after": page["data"][-1]["id"]}


def events_since(client: stripe.StripeClient, since: int | None, counter: RequestCounter) -> list[dict]:
    """Every event created at or after `since` (all events when None), oldest first.

    Stripe lists run newest first and a created window cannot be walked from its old end, so the pages are
    collected, then flipped.
    """
    filters = {"created": {"gte": since}} if since is not None else None
    every = [event for page in list_pages(client, "/v1/events", counter, filters) for event in page["data"]]
    every.reverse()
    return every
