"""kill -9 of the app process at each money step: after a restart and the shop's recovery, the invariants hold.

The step runs in a child process (tests.faults.driver) on the same store and emulator. Stripe holds the step's
request (a delay fault); once the emulator has taken it, the child is killed with SIGKILL, so it dies mid-call
and the held request still takes effect afterwards. The second kind of case kills the child after Stripe
answered the step's POST, while the GET that follows it is held: the money moved and the store never heard.
Then this process does what a restarted app does, the same click comes again, and the invariants are checked.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from tests.faults import steps
from tests.faults.invariants import Ledger, check_invariants
from tests.support import start_process

CASES = [
    pytest.param(step, flow, "mid_request", id=f"{step.name}-{flow}-mid_request")
    for step in steps.STEPS
    if not step.stripe_free
    for flow in step.flows
] + [
    pytest.param(step, flow, "after_answer", id=f"{step.name}-{flow}-after_answer")
    for step in steps.STEPS
    if step.next_get
    for flow in step.flows
]


@pytest.mark.parametrize(("step", "flow", "when"), CASES)
def test_the_app_killed_at_a_money_step_recovers_without_breaking_an_invariant(emu, step, flow, when):
    client = steps.short_client(emu.url)
    ctx = step.setup(client, flow)
    ledger = Ledger().note()
    hold = {"delay_s": steps.DELAY_S}
    if when == "mid_request":
        fault = steps.arm(emu.url, step.method, step.path, hold)
    else:
        path, gets_before = step.next_get
        fault = steps.arm(emu.url, "GET", path, hold, times=gets_before)

    app = start_process([sys.executable, "-m", "tests.faults.driver", step.name, flow, json.dumps(ctx)])
    try:
        steps.wait_until_taken(emu.url, fault, alive=lambda: app.poll() is None)
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
        app.wait()
    assert app.returncode == -signal.SIGKILL

    steps.wait_for_late_requests(emu.url)  # the held request lands after its client died
    check_invariants(client, settled=False, ledger=ledger)
    steps.recover(client)  # the restarted app
    step.again(client, ctx)  # the customer or staff member clicks again
    steps.recover(client)
    check_invariants(client, ledger=ledger.note())
    step.expect(ctx)
