"""The store's clock: the time that orders, attempts, fulfilment and the audit log are stamped with.

It is the real time, except inside `store_clock`, which a demo history uses to replay past days through the
ordinary functions. A module of its own, below everything that stamps times, so each of them imports it and none
has to reach another for the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _real_time() -> int:
    return int(time.time())


_clock: Callable[[], int] = _real_time


def now() -> int:
    """The store's time now (Unix seconds): the real time, or the clock of `store_clock`."""
    return _clock()


@contextmanager
def store_clock(now: Callable[[], int]) -> Iterator[None]:
    """Stamp orders, attempts and fulfilment with `now()` instead of the real time while inside.

    Demo history replays past days through the ordinary functions; this keeps the store's times in step with the
    emulator's test clock. Process-wide, so only for command-line tools, never inside the app.
    """
    global _clock
    previous = _clock
    _clock = now
    try:
        yield
    finally:
        _clock = previous
