"""`make bench`: run every benchmark module in turn; each prints `bench: <name> = <value> <unit>` lines."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

MODULES = [
    "emulator_bench",
    "webhook_bench",
    "checkout_bench",
    "checkout_elements_bench",
    "first_use_bench",
    "click_to_confirmation_bench",
    "ops_bench",
    "seed_bench",
    "sync_bench",
    "scale_bench",
    "webhook_page_bench",
    "timeout_bench",
    "mail_bench",
]


def main() -> int:
    """Run the benchmark modules that exist, in order; return non-zero when one of them failed."""
    failed = []
    here = Path(__file__).resolve().parent
    for module in MODULES:
        if not (here / f"{module}.py").exists():
            print(f"# {module}: not present", flush=True)
            continue
        print(f"# {module}", flush=True)
        started = time.monotonic()
        # stderr is passed through as it comes and its last line kept, so a failed module says why in one line.
        result = subprocess.run(
            [sys.executable, "-m", f"bench.{module}"], cwd=here.parent, check=False, stderr=subprocess.PIPE, text=True
        )
        sys.stderr.write(result.stderr)
        print(f"# {module} took {time.monotonic() - started:.0f} s (exit {result.returncode})", flush=True)
        if result.returncode != 0:
            why = next((line for line in reversed(result.stderr.splitlines()) if line.strip()), "no message")
            print(f"# {module} failed: {why}", flush=True)
            failed.append(module)
    if failed:
        print(f"# failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
