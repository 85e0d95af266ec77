"""ui.staff_routes through Starlette's test client: the origin check behind a proxy, and X-Forwarded-For believed
only from TRUSTED_PROXIES."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from shop import auth
from shop.config import get_settings
from ui.staff_routes import staff_routes

PUBLIC = "https://shop.example"


@pytest.fixture
def client_from(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("OPS_PASSWORD", "right password")
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    auth.THROTTLE.reset()
    yield lambda peer: TestClient(Starlette(routes=staff_routes()), client=(peer, 40000), follow_redirects=False)
    auth.THROTTLE.reset()


def behind_a_proxy(password: str, forwarded_for: str = "198.51.100.1", host: str = "app-internal:8501") -> dict:
    """What a proxy that rewrote Host sends on for a browser at `PUBLIC`."""
    return {
        "data": {"password": password},
        "headers": {
            "Host": host,
            "X-Forwarded-Host": "shop.example",
            "X-Forwarded-For": forwarded_for,
            "Origin": PUBLIC,
        },
    }


def test_behind_a_proxy_that_rewrites_host_only_a_trusted_one_vouches_for_the_origin(client_from, monkeypatch):
    assert client_from("127.0.0.1").post("/staff/sign-in", **behind_a_proxy("right password")).status_code == 403
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    get_settings.cache_clear()
    answer = client_from("127.0.0.1").post("/staff/sign-in", **behind_a_proxy("right password"))
    assert answer.status_code == 303 and answer.headers["location"] == "/charges"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie  # the browser used https
    assert client_from("203.0.113.9").post("/staff/sign-in", **behind_a_proxy("right password")).status_code == 403


def test_x_forwarded_for_names_the_address_only_from_a_trusted_proxy(client_from, monkeypatch):
    def tries_until_slowed(peer: str, forwarded_for: str) -> int:
        for n in range(1, 30):
            attempt = behind_a_proxy(f"guess {n}", forwarded_for, host="shop.example")
            answer = client_from(peer).post("/staff/sign-in", **attempt)
            if "wait=" in answer.headers["location"]:
                return n
        return 0

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8")
    get_settings.cache_clear()
    # From a peer that is no trusted proxy the header is ignored: changing it does not give the peer fresh tries.
    assert tries_until_slowed("203.0.113.9", "198.51.100.1") == auth.ADDRESS_FREE_FAILURES + 1
    assert tries_until_slowed("203.0.113.9", "198.51.100.2") == 1
    auth.THROTTLE.reset()
    # From the trusted proxy it names the client: each address has its own budget (the password's still counts).
    assert tries_until_slowed("10.1.2.3", "198.51.100.1") == auth.ADDRESS_FREE_FAILURES + 1
    assert tries_until_slowed("10.1.2.3", "198.51.100.2") > 1
