"""The app process of the kill -9 tests: `python -m tests.faults.driver <step> <flow> <ctx as JSON>`.

Runs one money step of tests.faults.steps with the shop's own configured client (shop.config.stripe_client), on
the store and emulator the environment names (DATABASE_URL, STRIPE_EMULATOR_PORT), as the app does on a click.
The test kills it with SIGKILL while Stripe holds one of its requests.
"""

from __future__ import annotations

import json
import sys

from shop import sync
from shop.config import stripe_client
from tests.faults import steps

# The sync lease of a killed process is taken over once it expires: short here, so a recovery need not wait
# the app's 30 seconds (the takeover itself is what is tested).
KILLED_LEASE_TTL_S = 3.0


def main(argv: list[str]) -> int:
    name, flow, ctx = argv[0], argv[1], json.loads(argv[2])
    sync.LEASE_TTL_S = KILLED_LEASE_TTL_S
    steps.step_named(name, flow).run(stripe_client(), ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
