"""The emulator's Files API in process: the bytes kept, the type read from them, the body limits per route."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():  # Starlette's note about a future httpx package, not about this code
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from stripe_emulator.app import create_app
from stripe_emulator.resources import files
from tests.support_files import png

SECRET = {"Authorization": "Bearer sk_test_unit"}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1", raise_server_exceptions=False) as test_client:
        yield test_client


def post_file(client: TestClient, data: bytes, name: str = "proof.png", purpose: str = "dispute_evidence"):
    return client.post(
        "/v1/files",
        data={"purpose": purpose},
        files={"file": (name, data, "application/octet-stream")},
        headers=SECRET,
    )


def test_an_upload_keeps_its_bytes_and_reads_its_type_from_them(client):
    data = png(5, 5)
    created = post_file(client, data)
    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["object"], body["type"], body["size"], body["filename"]) == ("file", "png", len(data), "proof.png")
    store = client.app.state.emulator.store
    assert files.file_bytes(store, body["id"]) == data
    assert "data" not in client.get(f"/v1/files/{body['id']}", headers=SECRET).json()


@pytest.mark.parametrize(
    ("data", "kind"), [(b"%PDF-1.7\n%%EOF\n", "pdf"), (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "jpg"), (png(), "png")]
)
def test_pdf_jpeg_and_png_are_told_apart_by_their_first_bytes(client, data, kind):
    assert post_file(client, data, name="x.bin").json()["type"] == kind


def test_another_purpose_or_a_missing_file_is_refused(client):
    refused = post_file(client, png(), purpose="identity_document")
    assert (refused.status_code, refused.json()["error"]["param"]) == (400, "purpose")
    missing = client.post("/v1/files", data={"purpose": "dispute_evidence"}, headers=SECRET)
    assert missing.status_code == 400


def test_a_file_up_to_the_limit_passes_the_body_limit_other_routes_keep(client):
    big = png() + b"\x00" * (2 * 1024 * 1024)  # over the 1 MB other requests may carry
    assert post_file(client, big).status_code == 200
    over = post_file(client, png() + b"\x00" * files.PURPOSE_LIMITS["dispute_evidence"])
    assert over.status_code == 400 and over.json()["error"]["param"] == "file"
    assert client.post("/v1/charges", content=b"a=" + b"x" * (2 * 1024 * 1024), headers=SECRET).status_code == 413
