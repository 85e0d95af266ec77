"""shop.staff_sessions: the signed staff cookie, its row on the server, expiry and sign-out."""

from __future__ import annotations

import dataclasses
import time

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from shop import staff_sessions
from shop.config import ConfigError, load_settings
from shop.db import get_engine
from shop.schema import staff_sessions_table


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        env={"SHOP_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}"}, secrets={}
    )


def test_a_started_session_is_valid_until_signed_out_and_then_never_again(settings):
    started = staff_sessions.start(settings)
    assert started.max_age_s == 12 * 3600
    assert staff_sessions.is_valid(started.cookie, settings)
    copy = str(started.cookie)  # e.g. taken from the browser before signing out
    assert staff_sessions.end(started.cookie, settings)
    assert not staff_sessions.is_valid(copy, settings)
    assert not staff_sessions.end(copy, settings)


def test_the_database_keeps_no_working_cookie(settings):
    started = staff_sessions.start(settings)
    with get_engine(settings.database_url).connect() as conn:
        stored = conn.execute(sa.select(staff_sessions_table.c.id_hash)).scalars().all()
    assert len(stored) == 1 and stored[0] not in started.cookie


def test_forged_and_altered_cookies_are_refused(settings):
    started = staff_sessions.start(settings)
    value, timestamp, signature = started.cookie.split(".")
    # The first character changed, not the last ones: the signature's last base64 character carries only some bits
    # of it, so "…AA" for "…AB" was the same signature (a 1-in-1,000 pass of the forged cookie, seen in CI).
    tampered = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert not staff_sessions.is_valid(f"{value}.{timestamp}.{tampered}", settings)
    assert not staff_sessions.is_valid(f"{value}.{timestamp}.{signature[:-1]}", settings)
    assert not staff_sessions.is_valid(URLSafeTimedSerializer("a guess", salt="staff-session").dumps("x"), settings)
    assert not staff_sessions.is_valid("", settings) and not staff_sessions.is_valid(None, settings)
    assert not staff_sessions.is_valid("x" * 10_000, settings)


def test_a_session_expires_with_its_row(settings):
    started = staff_sessions.start(settings, now=time.time() - 12 * 3600 - 1)
    assert not staff_sessions.is_valid(started.cookie, settings)


def test_a_cookie_older_than_the_lifetime_is_refused_by_its_signature_too(settings, monkeypatch):
    started = staff_sessions.start(settings)
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 12 * 3600 + 5)
    assert not staff_sessions.is_valid(started.cookie, settings)


def test_every_process_on_one_database_shares_the_stored_key_and_an_explicit_one_wins(settings):
    first = staff_sessions.signing_secret(settings)
    assert staff_sessions.signing_secret(settings) == first and len(first) == 64
    explicit = dataclasses.replace(settings, session_secret="s" * 40)
    assert staff_sessions.signing_secret(explicit) == "s" * 40
    cookie = staff_sessions.start(settings).cookie
    assert not staff_sessions.is_valid(cookie, explicit)  # another key: its cookies are not ours


def test_a_short_session_secret_is_a_config_error():
    with pytest.raises(ConfigError, match="OPS_SESSION_SECRET"):
        load_settings(env={"OPS_SESSION_SECRET": "short"}, secrets={})


def test_the_device_cookie_keeps_its_id_and_becomes_trusted_after_a_sign_in(settings):
    assert staff_sessions.device(None, settings) is None
    new = staff_sessions.device(staff_sessions.device_cookie(None, trusted=False, settings=settings), settings)
    assert new is not None and not new.trusted
    signed_in = staff_sessions.device(staff_sessions.device_cookie(new, trusted=True, settings=settings), settings)
    assert signed_in == staff_sessions.Device(new.id, True)
    forged = URLSafeTimedSerializer("a guess", salt="staff-device").dumps({"id": "x", "trusted": True})
    assert staff_sessions.device(forged, settings) is None
