"""Staff sessions: the signed cookie that keeps staff signed in across reloads and links, and its row on the server.

Signing in with the ops password (a POST to the app's own server, ui.staff_routes) starts a session: a random id
whose SHA-256 is stored with its expiry in `staff_sessions`, and a cookie carrying the id signed with
`itsdangerous` (HMAC-SHA1 over the value and a timestamp). The gate (ui.gate) accepts a cookie only when its
signature is right, it is younger than OPS_SESSION_HOURS, and its row is still there and unexpired; signing out
deletes the row, so a copy of the cookie taken before stops working at once.

A second cookie, the device cookie, tells the sign-in throttle (shop.auth) which browser is trying and whether it
has signed in before; it is signed the same way and opens nothing by itself.

The signing key is OPS_SESSION_SECRET, or else a random key made once and kept in the database (so every process
on one database accepts the others' cookies). It never leaves the server.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from shop.config import Settings, get_settings
from shop.db import dialect_insert, get_engine
from shop.schema import staff_sessions_table, sync_state

SESSION_COOKIE = "shop_staff_session"
DEVICE_COOKIE = "shop_staff_device"
DEVICE_LIFETIME_S = 180 * 24 * 3600
_SECRET_KEY = "staff_session_secret"  # its row in sync_state when OPS_SESSION_SECRET is unset
_SESSION_SALT = "staff-session"
_DEVICE_SALT = "staff-device"


@dataclass(frozen=True)
class Started:
    """A new session: the cookie's value and its lifetime in seconds."""

    cookie: str
    max_age_s: int


@dataclass(frozen=True)
class Device:
    """A browser as its device cookie describes it: its id and whether it has signed in before."""

    id: str
    trusted: bool


def lifetime_s(settings: Settings | None = None) -> int:
    """How long a sign-in lasts, in seconds (OPS_SESSION_HOURS)."""
    return int((settings or get_settings()).session_hours * 3600)


def signing_secret(settings: Settings | None = None, engine: sa.Engine | None = None) -> str:
    """OPS_SESSION_SECRET, or the key kept in the database (made on first use; the first writer's wins)."""
    settings = settings or get_settings()
    if settings.session_secret:
        return settings.session_secret
    engine = engine or get_engine(settings.database_url)
    with _stored_lock:
        key = str(engine.url)
        if key not in _stored:
            _stored[key] = _stored_secret(engine)
        return _stored[key]


# The stored key of each database, once read: it never changes, and a page run should not write to read it.
_stored: dict[str, str] = {}
_stored_lock = threading.Lock()


def _stored_secret(engine: sa.Engine) -> str:
    with engine.begin() as conn:
        statement = dialect_insert(conn, sync_state).values(key=_SECRET_KEY, value=secrets.token_hex(32))
        conn.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
        return conn.execute(sa.select(sync_state.c.value).where(sync_state.c.key == _SECRET_KEY)).scalar_one()


def _serializer(salt: str, settings: Settings | None, engine: sa.Engine | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_secret(settings, engine), salt=salt)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def start(settings: Settings | None = None, engine: sa.Engine | None = None, *, now: float | None = None) -> Started:
    """Start a staff session (the password was right): store it, and return the signed cookie value."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    now = int(time.time() if now is None else now)
    session_id = secrets.token_urlsafe(32)
    lifetime = lifetime_s(settings)
    with engine.begin() as conn:
        conn.execute(sa.delete(staff_sessions_table).where(staff_sessions_table.c.expires <= now))
        conn.execute(
            sa.insert(staff_sessions_table).values(id_hash=_hash(session_id), created=now, expires=now + lifetime)
        )
    return Started(_serializer(_SESSION_SALT, settings, engine).dumps(session_id), lifetime)


def _session_id(cookie: str | None, settings: Settings, engine: sa.Engine, max_age: int | None) -> str | None:
    if not cookie or len(cookie) > 512:
        return None
    try:
        value = _serializer(_SESSION_SALT, settings, engine).loads(cookie, max_age=max_age)
    except BadSignature:  # a forged or altered cookie, or one older than its lifetime (SignatureExpired)
        return None
    return value if isinstance(value, str) else None


def is_valid(cookie: str | None, settings: Settings | None = None, engine: sa.Engine | None = None) -> bool:
    """True when `cookie` is a session cookie this server signed, not expired, and not signed out."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    session_id = _session_id(cookie, settings, engine, lifetime_s(settings))
    if session_id is None:
        return False
    with engine.connect() as conn:
        expires = conn.execute(
            sa.select(staff_sessions_table.c.expires).where(staff_sessions_table.c.id_hash == _hash(session_id))
        ).scalar()
    return expires is not None and expires > time.time()


def end(cookie: str | None, settings: Settings | None = None, engine: sa.Engine | None = None) -> bool:
    """Sign out: delete the session of `cookie` (expired or not); True when there was one."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings.database_url)
    session_id = _session_id(cookie, settings, engine, None)
    if session_id is None:
        return False
    with engine.begin() as conn:
        deleted = conn.execute(
            sa.delete(staff_sessions_table).where(staff_sessions_table.c.id_hash == _hash(session_id))
        )
    return bool(deleted.rowcount)


def device(cookie: str | None, settings: Settings | None = None, engine: sa.Engine | None = None) -> Device | None:
    """The browser a device cookie names, or None for no cookie, a forged one or one older than 180 days."""
    if not cookie or len(cookie) > 512:
        return None
    try:
        value = _serializer(_DEVICE_SALT, settings, engine).loads(cookie, max_age=DEVICE_LIFETIME_S)
    except BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return None
    return Device(value["id"], bool(value.get("trusted")))


def device_cookie(
    known: Device | None, *, trusted: bool, settings: Settings | None = None, engine: sa.Engine | None = None
) -> str:
    """The device cookie to give a browser: its id kept (a new one for a new browser), trusted once signed in."""
    device_id = known.id if known else uuid.uuid4().hex
    trusted = trusted or bool(known and known.trusted)
    return _serializer(_DEVICE_SALT, settings, engine).dumps({"id": device_id, "trusted": trusted})
