"""`python -m stripe_emulator [--host 127.0.0.1] [--port 12111] [--data-dir ./data/emulator] [--allow-host NAME]`."""

from __future__ import annotations

import argparse
import copy
import logging
import sqlite3
from pathlib import Path

import uvicorn

from stripe_emulator.app import create_app
from stripe_emulator.faults import ConnectionDropper


def main(argv: list[str] | None = None) -> None:
    """Serve the emulator until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--data-dir", type=Path, default=Path("data/emulator"), help="where the SQLite file lives")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="answer requests for this Host besides loopback names (repeatable; also STRIPE_EMULATOR_ALLOWED_HOSTS)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        # The name the emulator is bound to is one it is meant to be reached by (a wildcard address is no name).
        bound = [] if args.host in ("0.0.0.0", "::", "") else [args.host]
        app = create_app(args.data_dir, allowed_hosts=[*bound, *args.allow_host])
    except sqlite3.OperationalError as exc:
        # e.g. another process holds a write lock on the store for longer than the busy timeout
        raise SystemExit(f"stripe_emulator: cannot open the store in {args.data_dir}: {exc}") from exc
    # The access log shows method, path and status only: headers (and so API keys) are never logged.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # all logging on stderr
    uvicorn.run(
        ConnectionDropper(app),
        host=args.host,
        port=args.port,
        access_log=not args.quiet,
        log_level="info",
        log_config=log_config,
    )


if __name__ == "__main__":
    main()
