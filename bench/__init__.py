"""The benchmarks of `make bench` (see __main__.py) and the helpers they share: names of sizes, figure lines."""


def label(size: int) -> str:
    """A count as the benches name it: 2000 -> "2k", 1,000,000 -> "1m"."""
    if size >= 1_000_000:
        return f"{size // 1_000_000}m"
    return f"{size // 1000}k" if size >= 1000 else str(size)


def report(name: str, value: float, unit: str) -> None:
    """One `bench: <name> = <value> <unit>` line (3 significant figures, whole numbers from 100)."""
    text = f"{value:.3g}" if value < 100 else f"{value:.0f}"
    print(f"bench: {name} = {text} {unit}", flush=True)
