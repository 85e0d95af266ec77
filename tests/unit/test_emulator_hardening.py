"""Limits on what a request may make the emulator do: key nesting, body size and the Host it answers to."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
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


ORIGIN = {"Origin": "https://elsewhere.example"}
CARD = {
    "card[number]": "4242424242424242",
    "card[exp_month]": "12",
    "card[exp_year]": "2034",
    "card[cvc]": "123",
}


def _intent(client: TestClient) -> dict:
    created = client.post("/v1/payment_intents", data={"amount": "2300", "currency": "usd"}, headers=SECRET)
    assert created.status_code == 200, created.text
    return created.json()


@pytest.mark.parametrize("where", ["query", "body"])
def test_a_secret_key_sent_as_the_key_parameter_is_refused(client, where):
    if where == "query":
        response = client.post("/v1/tokens?key=sk_test_unit", data=CARD, headers=ORIGIN)
    else:
        response = client.post("/v1/tokens", data={**CARD, "key": "sk_test_unit"}, headers=ORIGIN)
    assert response.status_code == 401
    assert "id" not in response.json()
    assert "sk_test_unit" not in response.text


def test_an_intent_read_with_a_secret_key_in_the_query_is_refused(client):
    intent = _intent(client)
    response = client.get(
        f"/v1/payment_intents/{intent['id']}",
        params={"key": "sk_test_unit", "client_secret": intent["client_secret"]},
        headers=ORIGIN,
    )
    assert response.status_code == 401
    assert intent["client_secret"] not in response.text


def test_what_a_secret_key_reads_has_no_wildcard_cors_and_a_publishable_key_still_does(client):
    intent = _intent(client)
    path = f"/v1/payment_intents/{intent['id']}"
    by_secret = client.get(path, headers={**SECRET, **ORIGIN})
    assert by_secret.status_code == 200
    assert "access-control-allow-origin" not in by_secret.headers
    token_by_secret = client.post("/v1/tokens", data=CARD, headers={**SECRET, **ORIGIN})
    assert token_by_secret.status_code == 200
    assert "access-control-allow-origin" not in token_by_secret.headers

    by_publishable = client.get(path, params={"key": "pk_test_unit", "client_secret": intent["client_secret"]})
    assert by_publishable.status_code == 200
    assert by_publishable.headers["access-control-allow-origin"] == "*"
    token = client.post("/v1/tokens", data={**CARD, "key": "pk_test_unit"}, headers=ORIGIN)
    assert token.status_code == 200
    assert token.headers["access-control-allow-origin"] == "*"


def test_a_client_that_disconnects_mid_body_is_logged_in_one_line(tmp_path, caplog):
    app = create_app(tmp_path)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/charges",
        "raw_path": b"/v1/charges",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:12999"),
            (b"authorization", SECRET["Authorization"].encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"100"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 12999),
    }
    arrivals = [
        {"type": "http.request", "body": b"amount=2300&curr", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict:
        return arrivals.pop(0) if arrivals else {"type": "http.disconnect"}

    async def send(_message: dict) -> None:
        return None

    # On a thread of its own: after the browser tests, this thread may already run Playwright's event loop.
    with caplog.at_level(logging.INFO, logger="stripe_emulator"), concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()  # no exception reaches the server

    records = [record for record in caplog.records if record.name.startswith("stripe_emulator")]
    assert len(records) == 1
    assert records[0].exc_info is None and records[0].levelno <= logging.INFO
    assert "disconnected" in records[0].getMessage() and "\n" not in records[0].getMessage()
