"""The benchmarks of `make bench` (see __main__.py) and the helpers they share: names of sizes, figure lines."""

import os


def label(size: int) -> str:
    """A count as the benches name it: 2000 -> "2k", 1,000,000 -> "1m"."""
    if size >= 1_000_000:
        return f"{size // 1_000_000}m"
    return f"{size // 1000}k" if size >= 1000 else str(size)


def report(name: str, value: float, unit: str) -> None:
    """One `bench: <name> = <value> <unit>` line (3 significant figures, whole numbers from 100)."""
    text = f"{value:.3g}" if value < 100 else f"{value:.0f}"
    print(f"bench: {name} = {text} {unit}", flush=True)


def large() -> bool:
    """Whether this run includes the long sizes (a million charges, the naive page at 100k): `BENCH_LARGE=1`.

    Without it the whole of `make bench` fits in half an hour on a 2-core machine; with it, expect hours.
    """
    return os.environ.get("BENCH_LARGE") == "1"
