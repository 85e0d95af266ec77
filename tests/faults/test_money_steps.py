"""Every money step under every fault, in both checkout flows: after the shop's own recovery, the invariants hold.

Each case sets up what the step needs, arms one fault on the step's Stripe request, runs the step as the app
does on a click, then recovers as the app would (the same click again, then what a restarted app does:
reconcile, settle open orders, finish interrupted cancellations and approvals, sync) and checks the money
invariants against Stripe, and that the customer or staff member got what the click was for.
"""

from __future__ import annotations

import pytest

from tests.faults import steps
from tests.faults.invariants import Ledger, check_invariants

CASES = [
    pytest.param(step, flow, action, id=f"{step.name}-{flow}-{action}")
    for step in steps.STEPS
    for flow in step.flows
    for action in steps.ACTIONS
]


@pytest.mark.parametrize(("step", "flow", "action"), CASES)
def test_a_fault_at_a_money_step_is_recovered_without_breaking_an_invariant(emu, step, flow, action):
    client = steps.short_client(emu.url)
    ctx = step.setup(client, flow)
    ledger = Ledger().note()
    fault = steps.arm(emu.url, step.method, step.path, steps.ACTIONS[action])

    step.run(client, ctx)
    if step.stripe_free:
        assert fault in steps.armed(emu.url), "the step asked Stripe for something"
    else:
        assert fault not in steps.armed(emu.url), "the step never made the request the fault was armed on"
    check_invariants(client, settled=False, ledger=ledger)

    steps.disarm(emu.url)
    step.again(client, ctx)
    if action == "delay":
        steps.wait_for_late_requests(emu.url)  # the request held past the client's timeout lands meanwhile
    steps.recover(client)
    check_invariants(client, ledger=ledger.note())
    step.expect(ctx)
