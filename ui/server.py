"""The app's HTTP server around the Streamlit script: `POST /webhooks/stripe` beside the pages, on one port.

dashboard.py builds `st.App(dashboard.py, routes=routes(), lifespan=lifespan)` when `streamlit run` imports it
(Streamlit 1.67 serves an `st.App` found in the script it is given, with uvicorn), and runs the pages when
Streamlit runs it as the script. The webhook route reads the raw body (the signature covers its exact bytes), at
most `shop.webhooks.MAX_BODY_BYTES` of it: a larger Content-Length is refused before the body is read, and a
chunked body is cut off with a 413 as soon as it passes the limit (the connection is then closed, so the rest is
never read). It runs `shop.webhooks.handle` in a worker thread, so the event loop serving the pages never waits
on the database or on Stripe. In emulator mode without STRIPE_WEBHOOK_SECRET, a thread started by the lifespan
keeps the app's own endpoint registered with the emulator (again after an emulator reset) every
KEEP_REGISTERED_EVERY_S.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import stripe
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from streamlit import config as streamlit_config

from shop import webhooks
from shop.config import ConfigError, get_settings
from shop.emulator_process import ensure_running
from ui.staff_routes import staff_routes

log = logging.getLogger(__name__)

KEEP_REGISTERED_EVERY_S = 30.0
# What the shop's first run imports, imported before the server answers so that its first visitor does not wait
# for it inside the script: pandas and pyarrow (0.35 s here: Streamlit imports them to see whether a component's
# data holds a dataframe), Pillow and numpy (for the tab's icon), and the shop page's own modules. The finance
# pages' Altair (0.2 s) is left to their first run, which a customer never waits for.
PRELOADED_MODULES = ("pandas", "pyarrow", "PIL.Image", "ui.checkout")


def own_webhook_url() -> str:
    """The URL the emulator posts this server's webhooks to (loopback: the emulator runs on this machine)."""
    return f"http://127.0.0.1:{streamlit_config.get_option('server.port')}{webhooks.PATH}"


def webhook_secret() -> str | None:
    """STRIPE_WEBHOOK_SECRET, or in emulator mode the secret of the endpoint registered for this server."""
    settings = get_settings()
    if settings.webhook_secret:
        return settings.webhook_secret
    if settings.mode == "emulator":
        return webhooks.stored_secret(own_webhook_url())
    return None


def _handle(body: bytes, signature: str | None) -> tuple[int, str]:
    try:
        return webhooks.handle(body, signature, webhook_secret())
    except ConfigError:
        log.exception("webhook: the shop's settings are wrong")
        return 503, "The shop is not configured."


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is known to exceed `limit` bytes (declared, or as it arrives)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def stripe_webhook(request: Request) -> Response:
    """POST /webhooks/stripe: read at most MAX_BODY_BYTES, verify, apply, answer (see shop.webhooks.handle)."""
    body = await read_limited(request, webhooks.MAX_BODY_BYTES)
    if body is None:
        # "Connection: close" makes the server drop the connection instead of reading the rest of the body.
        return PlainTextResponse("Body too large.", status_code=413, headers={"Connection": "close"})
    status, message = await anyio.to_thread.run_sync(_handle, body, request.headers.get("stripe-signature"))
    return PlainTextResponse(message, status_code=status)


def routes() -> list[Route]:
    """The routes served beside Streamlit's own."""
    return [Route(webhooks.PATH, stripe_webhook, methods=["POST"]), *staff_routes()]


def keep_registered(stop: threading.Event, every_s: float = KEEP_REGISTERED_EVERY_S) -> None:
    """Until `stop` is set: keep the emulator running and the app's endpoint registered (emulator mode only)."""
    while not stop.is_set():
        try:
            settings = get_settings()
            if settings.mode != "emulator" or settings.webhook_secret:
                return  # Stripe mode, or a secret given (e.g. `stripe_emulator listen`): nothing to register
            if ensure_running(settings).ok:
                webhooks.ensure_endpoint(own_webhook_url())
        except (stripe.StripeError, ConfigError, TimeoutError, OSError):
            log.warning("could not register the app's webhook endpoint; trying again shortly", exc_info=True)
        stop.wait(every_s)


def send_mail(stop: threading.Event) -> None:
    """Until `stop` is set: deliver the outbox's emails (and keep the local SMTP server up without SMTP_URL)."""
    from shop.db import get_engine
    from shop.mail.sender import Sender
    from shop.mail.settings import get_mail_settings

    while not stop.is_set():
        try:
            Sender(get_engine(), get_mail_settings()).run(stop)
        except Exception:  # whatever stopped it, the outbox keeps the emails: start again after a pause
            log.exception("the mail sender stopped; starting it again shortly")
            stop.wait(KEEP_REGISTERED_EVERY_S)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Import what the shop's first run needs, start the endpoint keeper and the mail sender with the server, and
    stop them with the server."""
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    # Streamlit collects garbage after every script run (runner.postScriptGC); with these modules loaded a full
    # collection took 75-130 ms holding the GIL, while the page waited for the run's last messages. What exists
    # now lives as long as the server: frozen, the collector no longer walks it on every run.
    gc.collect()
    gc.freeze()
    stop = threading.Event()
    threading.Thread(target=keep_registered, args=(stop,), name="webhook-endpoint", daemon=True).start()
    threading.Thread(target=send_mail, args=(stop,), name="mail-sender", daemon=True).start()
    try:
        yield
    finally:
        stop.set()
