"""The shop's own SMTP server on loopback (aiosmtpd), for when SMTP_URL is unset, and the mailbox it keeps.

Every message it accepts is kept as one `.eml` file in the mailbox folder (`<data dir>/mailbox`), written under a
temporary name and renamed, so a reader never sees half a message; a `Delivered-To:` line for each recipient is put
on top, as a receiving server does. Nothing leaves the machine. Like a real server it refuses addresses it can
never deliver to: any domain under `.invalid` (RFC 2606) gets `550 5.1.2`, which lets a demo show what staff see
when a customer's address is refused.

The first app process to start one keeps it (a second finds the port taken and uses that one); a sender that
cannot connect starts it again, so a replica that died does not take the mailbox with it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

_started: dict[int, Controller] = {}
_lock = threading.Lock()


class MailboxHandler:
    """aiosmtpd handler: refuse `.invalid` recipients, keep every accepted message as a file in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list) -> str:
        domain = address.rpartition("@")[2].lower().rstrip(".")
        if domain == "invalid" or domain.endswith(".invalid"):
            return f"550 5.1.2 {domain}: no such domain, nothing can be delivered there"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        top = b"".join(f"Delivered-To: {rcpt}\r\n".encode() for rcpt in envelope.rcpt_tos)
        store(self.folder, top + content)
        return "250 2.0.0 Message accepted for delivery"


def _tag(raw: bytes) -> str:
    """ "<order>.<kind>" from the shop's own X-Shop-* headers (letters, digits and dashes only), for the file name."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    parts = [re.sub(r"[^A-Za-z0-9-]", "", str(headers.get(name, "")))[:40] for name in ("X-Shop-Order", "X-Shop-Email")]
    return ".".join(part or "none" for part in parts)


def store(folder: Path, raw: bytes) -> Path:
    """Keep `raw` as a new file of the mailbox `folder` (written whole, then renamed into place).

    The name is the arrival time, the order and kind of email, and a random part: finding an order's messages
    reads names, not files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{_tag(raw)}-{uuid.uuid4().hex[:8]}"
    partial = folder / f".{name}.part"
    partial.write_bytes(raw)
    final = folder / f"{name}.eml"
    os.replace(partial, final)
    return final


def answering(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def ensure_running(port: int, folder: Path) -> bool:
    """Start the local server on 127.0.0.1:`port` unless something answers there already; True when one answers."""
    with _lock:
        if port in _started or answering("127.0.0.1", port):
            return True
        controller = Controller(MailboxHandler(folder), hostname="127.0.0.1", port=port)
        try:
            controller.start()
        except (OSError, RuntimeError):
            log.warning("could not start the local SMTP server on port %s", port, exc_info=True)
            return answering("127.0.0.1", port)
        _started[port] = controller
        return True


def stop_all() -> None:
    """Stop the local servers this process started (tests and command-line tools)."""
    with _lock:
        for controller in _started.values():
            controller.stop()
        _started.clear()


# ------------------------------------------------------------------------------------------------ reading it


@dataclass(frozen=True)
class Stored:
    """One kept message: its file, when it arrived, and the headers the Mailbox lists."""

    path: Path
    received: float
    message_id: str
    order_id: str
    kind: str
    to: str
    subject: str


_read: dict[Path, Stored] = {}  # a kept file never changes: its headers are read once per process
_read_lock = threading.Lock()


def _stored(path: Path) -> Stored:
    with _read_lock:
        known = _read.get(path)
    if known is not None:
        return known
    with path.open("rb") as handle:
        headers = BytesHeaderParser(policy=policy.default).parse(handle)
    stored = Stored(
        path=path,
        received=int(path.name.split("-", 1)[0]) / 1e9,
        message_id=str(headers.get("Message-ID", "")),
        order_id=str(headers.get("X-Shop-Order", "")),
        kind=str(headers.get("X-Shop-Email", "")),
        to=str(headers.get("To", "")),
        subject=str(headers.get("Subject", "")),
    )
    with _read_lock:
        _read[path] = stored
    return stored


def list_messages(folder: Path, *, order_id: str | None = None) -> list[Stored]:
    """The kept messages, newest first; of one order when `order_id` is given (found by file name)."""
    if not folder.is_dir():
        return []
    pattern = f"*-{re.sub(r'[^A-Za-z0-9-]', '', order_id)}.*.eml" if order_id else "*.eml"
    found = [_stored(path) for path in sorted(folder.glob(pattern), reverse=True)]
    return [stored for stored in found if not order_id or stored.order_id == order_id]


def read(path: Path) -> tuple[EmailMessage, bytes]:
    """A kept message, parsed, and its raw bytes."""
    raw = path.read_bytes()
    return BytesParser(policy=policy.default).parsebytes(raw), raw  # type: ignore[return-value]


def parts(message: EmailMessage) -> tuple[str, str]:
    """The message's plain text and HTML bodies ("" for a part it does not have)."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else "", html.get_content() if html else "")
