"""Limits on what a request may make the emulator do: key nesting, body size and the Host it answers to."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # Starlette's note about a future httpx package, not about this code
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stripe_emulator.app import create_app

SECRET = {"Authorization": "Bearer sk_test_unit"}
CHARGE = {"amount": "2300", "currency": "usd", "source": "tok_visa"}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1:12999", raise_server_exceptions=False) as test:
        yield test


def _deep_key(depth: int) -> str:
    return "a" + "[b]" * (depth - 1)


@pytest.mark.parametrize("headers", [SECRET, {}], ids=["with-key", "no-key"])
def test_a_3000_deep_key_is_a_400_not_a_crash(client, headers):
    response = client.post("/v1/charges", content=f"{_deep_key(3000)}=1", headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "nest" in error["message"]


def test_twenty_levels_still_parse_and_twenty_one_do_not(client):
    allowed = client.post("/v1/charges", data={**CHARGE, _deep_key(20): "x"}, headers=SECRET)
    # parsed fine, then refused as an unknown parameter: the limit is not what stopped it
    assert allowed.json()["error"]["code"] == "parameter_unknown"
    refused = client.post("/v1/charges", data={**CHARGE, _deep_key(21): "x"}, headers=SECRET)
    assert refused.status_code == 400
    assert "nest" in refused.json()["error"]["message"]


def test_a_deep_query_string_is_refused_too(client):
    response = client.get(f"/v1/charges?{_deep_key(3000)}=1", headers=SECRET)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_body_over_one_megabyte_is_a_413_with_stripes_shape(client):
    body = "description=" + "x" * (2 * 1024 * 1024)
    response = client.post("/v1/charges", content=body, headers=SECRET)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "1 MB" in error["message"]
    assert client.get("/v1/charges", headers=SECRET).json()["data"] == []


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(client):
    def chunks() -> Iterator[bytes]:
        yield b"description="
        for _ in range(20 * 16):  # 20 MB in 64 KB pieces
            yield b"x" * 65536

    response = client.post("/v1/charges", content=chunks(), headers=SECRET)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_body_just_under_the_limit_is_read(client):
    body = "amount=2300&currency=usd&source=tok_visa&description=" + "x" * 30000
    response = client.post("/v1/charges", content=body, headers=SECRET)
    # read whole and checked: Stripe's own 40,000-character rule answers, not the size limit
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:12999", "127.0.0.1.evil.example", "10.0.0.8:12999"])
def test_a_foreign_host_header_is_refused_before_anything_runs(client, host):
    client.post("/v1/charges", data=CHARGE, headers=SECRET)
    response = client.post("/_emulator/reset", headers={**SECRET, "Host": host})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "Host" in error["message"]
    assert len(client.get("/v1/charges", headers=SECRET).json()["data"]) == 1  # the reset did not run


@pytest.mark.parametrize("host", ["127.0.0.1:12999", "localhost:12999", "localhost", "[::1]:12999", "127.0.0.1"])
def test_loopback_hosts_are_answered(client, host):
    assert client.get("/v1/charges", headers={**SECRET, "Host": host}).status_code == 200


def test_no_host_header_at_all_is_refused(client):
    # HTTP/1.1 requires a Host; without one nothing says the request was meant for this emulator
    response = client.get("/v1/charges", headers={**SECRET, "Host": ""})
    assert response.status_code == 400


def test_allowed_hosts_extend_the_loopback_names(tmp_path):
    app = create_app(tmp_path, allowed_hosts=["emulator.internal"])
    with TestClient(app, base_url="http://emulator.internal:12111", raise_server_exceptions=False) as client:
        assert client.get("/v1/charges", headers=SECRET).status_code == 200
        assert client.get("/v1/charges", headers={**SECRET, "Host": "other.internal"}).status_code == 400


def test_allowed_hosts_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIPE_EMULATOR_ALLOWED_HOSTS", "a.internal, b.internal")
    with TestClient(create_app(tmp_path), base_url="http://b.internal", raise_server_exceptions=False) as client:
        assert client.get("/v1/charges", headers=SECRET).status_code == 200


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["127.0.0.1"]),
        (["--host", "0.0.0.0"], []),
        (["--host", "emulator.internal", "--allow-host", "a.internal", "--allow-host", "b.internal"],
         ["emulator.internal", "a.internal", "b.internal"]),
    ],
)  # fmt: skip
def test_the_command_allows_its_bound_name_and_the_allow_host_options(tmp_path, monkeypatch, argv, expected):
    from stripe_emulator import __main__ as cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(cli, "create_app", lambda data_dir, allowed_hosts, **_: seen.setdefault("hosts", allowed_hosts))
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: seen.setdefault("app", app))
    cli.main([*argv, "--data-dir", str(tmp_path)])
    assert seen["hosts"] == expected
