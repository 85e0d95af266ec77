"""The benchmark modules run whole on a small history: `make bench` is run rarely, so a change that breaks one of
them (a renamed field, a new required argument) would otherwise be found only then."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT


def test_ops_bench_runs_its_naive_page_on_a_small_history():
    env = {**os.environ, "OPS_BENCH_SIZES": "300"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.ops_bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reported = [line.split(" = ")[0] for line in result.stdout.splitlines() if line.startswith("bench: ")]
    assert "bench: ops_charges_page_s_300" in reported
    assert "bench: ops_charges_page_naive_ratio_300" in reported
