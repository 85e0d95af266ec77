"""`POST /staff/sign-in` and `POST /staff/sign-out`: the routes of the app's own server that set the staff cookie.

A cookie can only be set by an HTTP response, not by a Streamlit script run, so the sign-in page's form posts
here (a plain HTML form: it works without JavaScript). Sign-in checks the ops password through shop.auth (its
throttle included), starts a session (shop.staff_sessions) and answers 303 to the page the visitor wanted, with
the session cookie; a wrong password answers 303 back to the sign-in page with what to say. Sign-out deletes the
session and the cookie.

Cookies: HttpOnly (no script reads them), SameSite=Strict (a browser sends them to no request another site
starts: no cross-site request forgery), Secure when the browser reached us over https. The pages still see the
cookie when a charge link is opened from an email or a chat: Streamlit reads it on the page's own WebSocket, which
the page itself opens, same-site. Each POST must also come from one of our pages (Origin, else Referer, naming this
host, and Sec-Fetch-Site same-origin when sent), so a form on another site is refused even by a browser without
SameSite.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from shop import auth, staff_sessions
from shop.config import ConfigError, get_settings
from ui.app import FINANCE_URL_PATHS

log = logging.getLogger(__name__)

SIGN_IN_PATH = "/staff/sign-in"
SIGN_OUT_PATH = "/staff/sign-out"
SIGN_IN_PAGE = "/sign_in"
AFTER_SIGN_IN = "/charges"
MAX_FORM_BYTES = 8_192


def _from_our_page(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    hosts = {request.headers.get("host", "").lower()}
    peer = request.client.host if request.client else None
    if auth.is_trusted_proxy(peer, get_settings()):  # a proxy that rewrote Host says which one the browser used
        hosts.add(request.headers.get("x-forwarded-host", "").split(",")[0].strip().lower())
    return urlsplit(source).netloc.lower() in hosts - {""}


async def _form(request: Request) -> dict[str, str] | None:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int, path: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=(request.headers.get("origin") or "").startswith("https://"),
    )


def _sign_in(form: dict[str, str], peer: str | None, forwarded_for: str | None, device_cookie: str | None):
    settings = get_settings()
    known = staff_sessions.device(device_cookie, settings)
    address = auth.client_address(peer, forwarded_for, settings)
    client = auth.Client(device=known.id if known else None, address=address, trusted=bool(known and known.trusted))
    result = auth.check_password(form.get("password", ""), client=client, settings=settings)
    started = staff_sessions.start(settings) if result.ok else None
    return result, started, staff_sessions.device_cookie(known, trusted=result.ok, settings=settings)


async def sign_in(request: Request) -> Response:
    """POST /staff/sign-in: check the ops password; 303 to the page asked for (with the cookie) or back."""
    try:
        if not _from_our_page(request):
            return PlainTextResponse("Sign in from the shop's own sign-in page.", status_code=403)
        form = await _form(request)
        if form is None:
            return PlainTextResponse("Send the sign-in form.", status_code=400)
        target = auth.safe_next(form.get("next"), FINANCE_URL_PATHS)
        if get_settings().sso_configured:
            return PlainTextResponse("This shop signs staff in with single sign-on.", status_code=404)
        peer = request.client.host if request.client else None
        forwarded_for = request.headers.get("x-forwarded-for")
        device_cookie = request.cookies.get(staff_sessions.DEVICE_COOKIE)
        result, started, device = await anyio.to_thread.run_sync(_sign_in, form, peer, forwarded_for, device_cookie)
    except ConfigError:
        log.exception("sign-in: the shop's settings are wrong")
        return PlainTextResponse("The shop is not configured.", status_code=503)
    if started is not None:
        response: Response = RedirectResponse(target or AFTER_SIGN_IN, status_code=303)
        _set_cookie(response, request, staff_sessions.SESSION_COOKIE, started.cookie, started.max_age_s, "/")
    else:
        query = {"failed": result.reason}
        if result.retry_after_s > 0:
            query["wait"] = str(max(1, round(result.retry_after_s + 0.49)))
        if target:
            query["next"] = target
        response = RedirectResponse(f"{SIGN_IN_PAGE}?{urlencode(query)}", status_code=303)
    _set_cookie(response, request, staff_sessions.DEVICE_COOKIE, device, staff_sessions.DEVICE_LIFETIME_S, "/staff")
    return response


async def sign_out(request: Request) -> Response:
    """POST /staff/sign-out: end the session (its cookie stops working everywhere) and drop the cookie."""
    cookie = request.cookies.get(staff_sessions.SESSION_COOKIE)
    try:
        if not _from_our_page(request):
            return PlainTextResponse("Sign out from the shop's own pages.", status_code=403)
        await anyio.to_thread.run_sync(staff_sessions.end, cookie)
    except ConfigError:
        log.exception("sign-out: the shop's settings are wrong")
        return PlainTextResponse("The shop is not configured.", status_code=503)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(staff_sessions.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def staff_routes() -> list[Route]:
    """The two sign-in routes, for ui.server's route list."""
    return [Route(SIGN_IN_PATH, sign_in, methods=["POST"]), Route(SIGN_OUT_PATH, sign_out, methods=["POST"])]
