"""A lease in the database: one holder at a time across threads, sessions and processes, taken over when expired.

A lease is a row of `leases` (name, holder, expires_at). Taking it is one conditional UPDATE ("free, expired or
already mine") and, when no row exists yet, an INSERT … ON CONFLICT DO NOTHING; whichever write the database lets
through first wins, the others change no row. The holder renews it while it works (a background thread), so a
holder that dies (kill -9) stops renewing and another process takes over once `expires_at` has passed.

Expiry times are each process's clock: replicas on different machines need clocks within a few seconds, well
inside the lease time.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from shop.db import insert_missing
from shop.schema import leases

POLL_S = 0.2  # how often a waiting caller looks again


class LeaseLostError(RuntimeError):
    """The lease expired or was taken over while its holder still worked: the holder must stop writing."""


class Lease:
    """The lease `name` as seen by one would-be holder (a fresh holder id per Lease object)."""

    def __init__(self, engine: sa.Engine, name: str, ttl_s: float) -> None:
        self.engine = engine
        self.name = name
        self.ttl_s = ttl_s
        self.holder = f"{socket.gethostname()[:20]}-{uuid.uuid4().hex[:16]}"
        self._lost = threading.Event()

    def try_take(self) -> bool:
        """Take the lease if it is free, expired or already ours; True when we hold it now."""
        now = time.time()
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(leases)
                .where(leases.c.name == self.name, sa.or_(leases.c.expires_at < now, leases.c.holder == self.holder))
                .values(holder=self.holder, expires_at=now + self.ttl_s)
            ).rowcount
            if not taken:
                taken = insert_missing(
                    conn, leases, [{"name": self.name, "holder": self.holder, "expires_at": now + self.ttl_s}]
                )
        if taken:
            self._lost.clear()
        return bool(taken)

    def take(self, wait_s: float) -> bool:
        """Take the lease, waiting up to `wait_s` seconds for the holder to release it or let it expire."""
        deadline = time.monotonic() + wait_s
        while not self.try_take():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)  # polling the database: there is no cross-process notification to wait on
        return True

    def renew(self) -> bool:
        """Push the expiry `ttl_s` further; False (and the lease counts as lost) when it is no longer ours."""
        with self.engine.begin() as conn:
            renewed = conn.execute(
                sa.update(leases)
                .where(leases.c.name == self.name, leases.c.holder == self.holder)
                .values(expires_at=time.time() + self.ttl_s)
            ).rowcount
        if not renewed:
            self._lost.set()
        return bool(renewed)

    def check(self) -> None:
        """Raise LeaseLostError when a renewal found the lease gone (called before each write)."""
        if self._lost.is_set():
            raise LeaseLostError(f"The {self.name} lease was taken over; another process carries on.")

    def release(self) -> None:
        """Give the lease up (only if still ours), so a waiting caller takes it at once."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(leases).where(leases.c.name == self.name, leases.c.holder == self.holder))

    def expires_at(self) -> float | None:
        """When the current holder's lease runs out (None when nobody holds it)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(leases.c.expires_at).where(leases.c.name == self.name)).scalar()

    @contextmanager
    def renewed(self) -> Iterator[Lease]:
        """While inside, a background thread renews the held lease every third of its time; released on exit."""
        stop = threading.Event()

        def keep_renewing() -> None:
            while not stop.wait(self.ttl_s / 3):
                try:
                    if not self.renew():
                        return
                except sa.exc.SQLAlchemyError:
                    continue  # a database hiccup: the next renewal tries again before the lease runs out

        thread = threading.Thread(target=keep_renewing, name=f"renew-{self.name}-lease", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.release()
