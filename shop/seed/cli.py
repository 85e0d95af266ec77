"""`python -m shop.seed`: options, the mode check, progress bars (tqdm) and the summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import stripe
from tqdm import tqdm

from shop.config import ConfigError, get_settings
from shop.db import get_engine
from shop.mail import local_server
from shop.mail.sender import deliver_to_local_mailbox
from shop.mail.settings import get_mail_settings
from shop.seed.play import SeedError, seed, store_is_empty
from shop.seed.vocabulary import DEFAULT_DAYS, DEFAULT_ORDERS, DEFAULT_SEED


def progress_bar(description: str, unit: str, total: int | None = None, stream: TextIO | None = None) -> tqdm:
    """A progress bar on stderr (or `stream`); hidden when that is not a terminal, so logs get the summary only."""
    return tqdm(total=total, desc=description, unit=unit, file=stream or sys.stderr, disable=None, dynamic_ncols=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: parse options, confirm the mode, seed with a progress bar, print a summary."""
    parser = argparse.ArgumentParser(prog="python -m shop.seed", description="Create demo history for the shop.")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="spread orders over this many past days")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="how many orders to create")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same history)")
    parser.add_argument("--yes", action="store_true", help="confirm seeding a Stripe test-mode account")
    parser.add_argument("--if-empty", action="store_true", help="seed only when the store has no orders")
    args = parser.parse_args(argv)
    if args.days < 1 or args.orders < 1:
        parser.error("--days and --orders must be at least 1")
    try:
        settings = get_settings()
        if args.if_empty and settings.mode == "stripe" and not args.yes:
            # `make demo` with Stripe keys: charges in someone's Stripe account are made only when asked for.
            if settings.is_live:
                print("Not seeding: a live Stripe key is configured, and demo history belongs in test mode.")
            else:
                print("Not seeding your Stripe test account automatically; run `python -m shop.seed --yes` to do so.")
            return 0
        if args.if_empty and not store_is_empty():
            print("The store already has orders; nothing to seed (run without --if-empty to add more).")
            return 0
        if settings.mode == "stripe" and not settings.is_live:
            print(
                "Stripe test mode: charges keep their real creation time in Stripe, so the history will not be "
                "spread over past days.",
                file=sys.stderr,
            )
        bars: dict[str, tqdm] = {}

        def show(done: int, total: int) -> None:
            if "seed" not in bars:
                bars["seed"] = progress_bar("Seeding", "step")
            bar = bars["seed"]
            bar.total = total
            bar.update(done - bar.n)
            if done == total:
                bar.close()

        def show_sync(fraction: float, text: str) -> None:
            if "sync" not in bars:
                bars["sync"] = progress_bar("Syncing", "%", total=100)
            bar = bars["sync"]
            bar.set_postfix_str(text, refresh=False)
            bar.update(round(fraction * 100) - bar.n)

        try:
            report = seed(
                days=args.days,
                orders_count=args.orders,
                seed_value=args.seed,
                confirmed=args.yes,
                progress=show,
                sync_progress=show_sync,
            )
        finally:
            for bar in bars.values():
                bar.close()
    except (SeedError, ConfigError) as exc:
        print(f"shop.seed: {exc}", file=sys.stderr)
        return 2
    except stripe.StripeError as exc:
        print(f"shop.seed: Stripe refused a request ({type(exc).__name__}: {exc.user_message}).", file=sys.stderr)
        return 1
    print(report.summary())
    mailed = deliver_to_local_mailbox(get_engine(), get_mail_settings())
    print(
        f"Emails to the seeded customers: {mailed.sent:,} in the shop's Mailbox"
        + (f", {mailed.failed:,} refused" if mailed.failed else "")
    )
    local_server.stop_all()
    return 0
