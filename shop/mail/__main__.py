"""`python -m shop.mail send`: deliver every email that is due now, once, and say what happened.

`python -m shop.mail serve`: run the local SMTP server (when SMTP_URL is unset) until interrupted.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from shop.db import get_engine
from shop.mail import local_server, outbox
from shop.mail.sender import Sender
from shop.mail.settings import get_mail_settings


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m shop.mail", description=__doc__)
    parser.add_argument("command", choices=("send", "serve"))
    args = parser.parse_args(argv)
    settings = get_mail_settings()
    if args.command == "serve":
        if not settings.local:
            print("SMTP_URL is set: the shop sends through that server and runs none of its own.")
            return 1
        local_server.ensure_running(settings.target.port, settings.mailbox_dir)
        print(f"Local SMTP server on 127.0.0.1:{settings.target.port}, keeping mail in {settings.mailbox_dir}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return 0
    engine = get_engine()
    sender = Sender(engine, settings)
    if settings.local:
        local_server.ensure_running(settings.target.port, settings.mailbox_dir)
    total = sender.run_once()
    counts = outbox.counts(engine=engine)
    print(
        f"sent {total.sent}, to retry {total.retried}, failed {total.failed}; "
        f"outbox now: {counts['queued']} queued, {counts['sent']} sent, {counts['failed']} failed"
    )
    local_server.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
