"""`python -m bench.timeout_bench`: how long a charge takes when Stripe stalls its first try past the timeout.

Runs its own emulator with a throwaway store, sets STRIPE_TIMEOUT_S=1 and arms a 3 s delay on the next
`POST /v1/charges`, then pays one order through `shop.checkout.charges.pay_order` with the shop's own client: the first
try gives up after the timeout and the SDK's retry (same idempotency key) is answered at once. RUNS times (default 5);
prints `bench: charge_after_a_stalled_try_s` (median), which stays near the 1 s timeout plus the SDK's retry delay
and well under the 3 s stall.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench import report
from tests.support import running_emulator
from tests.support_data import CUSTOMER

RUNS = int(os.environ.get("TIMEOUT_BENCH_RUNS", "5"))
STALL_S = 3
TIMEOUT_S = 1


def main() -> None:
    """Pay RUNS orders, each meeting a STALL_S delay on its first charge request; print the median seconds."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(Path(tmp) / "emulator") as emulator:
        os.environ.update(
            STRIPE_SECRET_KEY="",
            STRIPE_EMULATOR_PORT=str(emulator.port),
            STRIPE_EMULATOR_DATA_DIR=str(Path(tmp) / "emulator"),
            SHOP_DATA_DIR=str(Path(tmp) / "shop"),
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'shop.db'}",
            STRIPE_TIMEOUT_S=str(TIMEOUT_S),
        )
        from shop import catalog, config, orders
        from shop.checkout import charges

        config.get_settings.cache_clear()
        client = config.stripe_client()
        faults = f"{emulator.url}/_emulator/faults"
        auth = {"Authorization": "Bearer sk_test_x"}
        seconds = []
        for _ in range(RUNS):
            order = orders.create_order(CUSTOMER, catalog.priced_line("art-of-doing-science", 1))
            spec = {"method": "POST", "path": "/v1/charges", "action": {"delay_s": STALL_S}, "times": 1}
            httpx.post(faults, json=spec, headers=auth).raise_for_status()
            started = time.perf_counter()
            result = charges.pay_order(order.id, "tok_visa", uuid.uuid4().hex, client=client)
            seconds.append(time.perf_counter() - started)
            assert result.outcome == "succeeded", result
    report("charge_after_a_stalled_try_s", statistics.median(seconds), "s")


if __name__ == "__main__":
    main()
