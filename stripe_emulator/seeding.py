"""Fill a data directory with many charges quickly (for start-up and list tests and the bench).

Charges go through the same code as `POST /v1/charges` (so they and their events have the real shape), but
without HTTP and with one commit per batch.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from stripe_emulator.app import Emulator
from stripe_emulator.core import Context
from stripe_emulator.errors import StripeError
from stripe_emulator.resources.charges import create_charge

SOURCES = ["tok_visa", "tok_mastercard", "tok_amex", "tok_visa", "tok_discover", "tok_visa", "tok_chargeDeclined"]


def seed_charges(
    data_dir: Path,
    count: int,
    start: int,
    spacing: int = 1,
    batch: int = 5000,
    base_url: str = "http://127.0.0.1:12111",
) -> int:
    """Create `count` charges `spacing` seconds apart from `start` (one in seven declines); return the total."""
    emulator = Emulator(Path(data_dir))
    store = emulator.store
    ctx = Context(store=store, clock=emulator.clock, params={}, request_id="req_seed", base_url=base_url)
    made = 0
    while made < count:
        with store.transaction():
            for index in range(made, min(count, made + batch)):
                ctx.now = start + index * spacing
                ctx.params = {
                    "amount": str(500 + (index * 37) % 5000),
                    "currency": "usd",
                    "source": SOURCES[index % len(SOURCES)],
                    "description": f"Seeded charge {index}",
                    "metadata": {"seed": str(index)},
                }
                # A seeded decline raises, but its failed charge is stored all the same.
                with contextlib.suppress(StripeError):
                    create_charge(ctx)
        made = min(count, made + batch)
    total = store.count("charges")
    store.close()
    return total
