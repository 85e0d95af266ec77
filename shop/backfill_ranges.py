"""The first sync's charge list split into `created` ranges, fetched side by side within the pace allowance.

A sequential backfill waits one round trip per 100 charges: against Stripe (~0.3-0.5 s a page) a million charges
take about an hour although the rate limit would allow 10,000 pages in 400 s at 25 a second. So the charges'
span of `created` is found (the newest charge, one request; the oldest by narrowing `created[lt]` probes, each
one answering with the newest charge before the probe, about log2 of the span in seconds at most) and cut into
`RANGES_PER_WORKER` x `workers` ranges [gte, lt). `workers` threads each take the next range not done and page
through it newest first (`created[gte]`, `created[lt]`, `starting_after`: docs.stripe.com/api/charges/list), the
caller's shared pace keeping all of them under STRIPE_SYNC_REQUESTS_PER_S. The pages come back to the caller's
thread (the one writer) with each range's cursor in the checkpoint, stored with the page: an interrupted backfill
resumes every range where it stopped. The ranges partition the span, so the charges stored are those of the
sequential list.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Fetch = Callable[[str, dict], dict]  # one GET of a list: (path, params) -> {"data": [...], "has_more": ...}
RANGES_PER_WORKER = 4  # more ranges than threads: a thread done early takes another, so a crowded range is shared
PAGE_SIZE = 100
_DONE = object()


def span(fetch: Fetch, path: str, filters: dict) -> tuple[int, int] | None:
    """The oldest and newest `created` of the list's objects, or None when it is empty."""
    newest = fetch(path, {**filters, "limit": 1})["data"]
    if not newest:
        return None
    oldest = high = int(newest[0]["created"])
    low = 0  # nothing is older than `low`; `oldest` is the oldest found so far
    while low < oldest:
        middle = (low + oldest) // 2
        before = fetch(path, {**filters, "limit": 1, "created": {"lt": middle + 1}})["data"]
        if before:
            oldest = int(before[0]["created"])  # the newest at or before `middle`: an object that old exists
            if oldest <= low:
                break
        else:
            low = middle + 1
    return oldest, high


def split(oldest: int, newest: int, count: int) -> list[dict]:
    """`count` ranges [gte, lt) covering oldest..newest (fewer when the span has fewer seconds), newest first,
    each with its cursor (`after`) and whether it is `done`."""
    width = newest + 1 - oldest
    bounds = sorted({oldest + width * index // count for index in range(count)} | {newest + 1})
    ranges = [{"gte": low, "lt": high, "after": None, "done": False} for low, high in itertools.pairwise(bounds)]
    return ranges[::-1]


def plan(fetch: Fetch, path: str, filters: dict, workers: int) -> list[dict]:
    """The ranges of a new ranged listing (none for an empty list)."""
    found = span(fetch, path, filters)
    return split(*found, RANGES_PER_WORKER * workers) if found else []


def _range_pages(fetch: Fetch, path: str, filters: dict, part: dict) -> Iterator[dict]:
    params: dict[str, Any] = {**filters, "limit": PAGE_SIZE, "created": {"gte": part["gte"], "lt": part["lt"]}}
    if part["after"]:
        params["starting_after"] = part["after"]
    while True:
        page = fetch(path, params)
        yield page
        if not page["has_more"] or not page["data"]:
            return
        params = {**params, "starting_after": page["data"][-1]["id"]}


def pages(fetch: Fetch, path: str, filters: dict, ranges: list[dict], workers: int) -> Iterator[tuple[int, dict]]:
    """(range index, page) for every page of the ranges not done, fetched by `workers` threads; the pages of one
    range arrive in order. An error in a thread is raised here; closing the iterator stops the threads."""
    todo = iter([index for index, part in enumerate(ranges) if not part["done"]])
    take = threading.Lock()
    out: queue.Queue = queue.Queue(maxsize=2 * workers)  # a slow writer holds the fetchers back
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            while not stop.is_set():
                with take:
                    index = next(todo, None)
                if index is None:
                    return
                for page in _range_pages(fetch, path, filters, ranges[index]):
                    if not put((index, page)):
                        return
        except BaseException as exc:  # handed to the caller's thread, which raises it
            put(exc)
        finally:
            put(_DONE)

    count = max(1, workers)
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="backfill-range") as pool:
        for _ in range(count):
            pool.submit(work)
        running = count
        try:
            while running:
                item = out.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()


def advance(ranges: list[dict], index: int, page: dict) -> list[dict]:
    """The ranges after storing `page` of range `index`: its cursor moved, done when it was the range's last."""
    moved = [dict(part) for part in ranges]
    part = moved[index]
    if page["data"]:
        part["after"] = page["data"][-1]["id"]
    part["done"] = not page["has_more"] or not page["data"]
    return moved


def listing(
    fetch: Fetch, path: str, filters: dict, checkpoint: dict, workers: int, save: Callable[[dict], None]
) -> Iterator[tuple[dict, dict]]:
    """(page, checkpoint to store with it) for the list `path` in ranges: those of `checkpoint["ranges"]` when
    resuming, else new ones (the checkpoint with them is given to `save` before the first page)."""
    ranges = checkpoint.get("ranges") if checkpoint.get("list") == path else None
    if ranges is None:
        ranges = plan(fetch, path, filters, workers)
        checkpoint = {**checkpoint, "list": path, "after": None, "ranges": ranges}
        save(checkpoint)
    for index, page in pages(fetch, path, filters, ranges, workers):
        ranges = advance(ranges, index, page)
        checkpoint = {**checkpoint, "ranges": ranges}
        yield page, checkpoint
