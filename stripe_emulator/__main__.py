"""`python -m stripe_emulator [--host 127.0.0.1] [--port 12111] [--data-dir ./data/emulator] [--allow-host NAME]
[--webhook-retry-schedule 1,2,4]` serves the emulator;
`python -m stripe_emulator listen --forward-to http://localhost:8501/webhooks/stripe` forwards its webhooks."""

from __future__ import annotations

import argparse
import copy
import http.server
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn

from stripe_emulator import webhooks
from stripe_emulator.app import create_app
from stripe_emulator.faults import ConnectionDropper


def _schedule(text: str) -> tuple[float, ...]:
    try:
        return webhooks.parse_schedule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected seconds separated by commas, e.g. 1,2,4: {exc}") from exc


def main(argv: list[str] | None = None) -> None:
    """Serve the emulator until interrupted (or run the `listen` subcommand)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["listen"]:
        listen(argv[1:])
        return
    prog = "stripe-emulator" if Path(sys.argv[0]).name == "stripe-emulator" else "python -m stripe_emulator"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--data-dir", type=Path, default=Path("data/emulator"), help="where the SQLite file lives")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="answer requests for this Host besides loopback names, and post webhooks to it "
        "(repeatable; also STRIPE_EMULATOR_ALLOWED_HOSTS)",
    )
    parser.add_argument(
        "--webhook-retry-schedule",
        type=_schedule,
        default=None,
        metavar="SECONDS,…",
        help=f"waits before each retry of a failed webhook (also {webhooks.RETRIES_ENV}; default: about 3 days)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        # The name the emulator is bound to is one it is meant to be reached by (a wildcard address is no name).
        bound = [] if args.host in ("0.0.0.0", "::", "") else [args.host]
        app = create_app(
            args.data_dir, allowed_hosts=[*bound, *args.allow_host], webhook_retries=args.webhook_retry_schedule
        )
    except sqlite3.OperationalError as exc:
        # e.g. another process holds a write lock on the store for longer than the busy timeout
        raise SystemExit(f"stripe_emulator: cannot open the store in {args.data_dir}: {exc}") from exc
    except ValueError as exc:  # a bad STRIPE_EMULATOR_WEBHOOK_RETRIES
        raise SystemExit(f"stripe_emulator: {webhooks.RETRIES_ENV}: {exc}") from exc
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


# ---------------------------------------------------------------- listen


def _say(line: str) -> None:
    print(line, flush=True)


def _forwarding_handler(forward_to: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Forward(http.server.BaseHTTPRequestHandler):
        """Receives the emulator's delivery and passes body and signature on unchanged."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = json.loads(body)
                _say(f"--> {event.get('type')} [{event.get('id')}]")
            except ValueError:
                _say("--> (a body that is not JSON)")
            headers = {
                "Content-Type": self.headers.get("Content-Type", "application/json; charset=utf-8"),
                "User-Agent": self.headers.get("User-Agent", webhooks.USER_AGENT),
            }
            if self.headers.get("Stripe-Signature") is not None:
                headers["Stripe-Signature"] = self.headers["Stripe-Signature"]
            try:
                status, _ = webhooks.post(forward_to, body, headers, webhooks.TIMEOUT_SECONDS)
                _say(f"<-- [{status}] POST {forward_to}")
            except OSError as exc:
                status = 502
                _say(f"<-- [ERROR] POST {forward_to}: {exc}")
            # The app's answer goes back to the emulator, so a failing app gets the retries it would from Stripe.
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # the --> and <-- lines say it all

    return Forward


class _ListenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the emulator posts several deliveries at once; the default backlog of 5 drops some


def listen(argv: list[str]) -> None:
    """Like `stripe listen`: a temporary endpoint whose deliveries are forwarded to --forward-to."""
    import stripe  # only this subcommand is a Stripe client

    host = os.environ.get("STRIPE_EMULATOR_HOST", "127.0.0.1")
    default_api = f"http://{host}:{os.environ.get('STRIPE_EMULATOR_PORT', '12111')}"
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator listen",
        description="Register a temporary webhook endpoint on the emulator, print its signing secret and forward "
        "each delivery (body and Stripe-Signature unchanged) to --forward-to.",
    )
    parser.add_argument("--forward-to", required=True, metavar="URL", help="where to POST each event")
    parser.add_argument("--api-base", default=default_api, help=f"the emulator (default {default_api})")
    parser.add_argument("--api-key", default="sk_test_emulator_listen", help="a test secret key for the emulator")
    parser.add_argument("--events", default="*", help="comma-separated event types (default: all)")
    args = parser.parse_args(argv)

    server = _ListenServer(("127.0.0.1", 0), _forwarding_handler(args.forward_to))
    receiver = f"http://127.0.0.1:{server.server_address[1]}/"
    client = stripe.StripeClient(args.api_key, base_addresses={"api": args.api_base}, max_network_retries=2)
    try:
        endpoint = client.v1.webhook_endpoints.create(
            params={
                "url": receiver,
                "enabled_events": [name.strip() for name in args.events.split(",") if name.strip()],
                "description": f"python -m stripe_emulator listen --forward-to {args.forward_to}",
            }
        )
    except stripe.StripeError as exc:
        raise SystemExit(f"stripe_emulator listen: could not register an endpoint at {args.api_base}: {exc}") from exc
    stopped = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    thread = threading.Thread(target=server.serve_forever, name="listen-receiver", daemon=True)
    thread.start()
    _say(f"Ready! Your webhook signing secret is {endpoint.secret} (^C to quit)")
    try:
        stopped.wait()
    finally:
        server.shutdown()
        try:
            client.v1.webhook_endpoints.delete(endpoint.id)
            _say(f"Deleted the temporary endpoint {endpoint.id}")
        except stripe.StripeError as exc:
            _say(f"Could not delete the temporary endpoint {endpoint.id}: {exc}")


if __name__ == "__main__":
    main()
