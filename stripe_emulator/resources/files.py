"""Files: `POST /v1/files` (multipart/form-data, a file and its purpose), `GET /v1/files/{id}`, `GET /v1/files`.

Stripe takes uploads on its own host, files.stripe.com, as multipart/form-data with a `file` part and a `purpose`
field (docs.stripe.com/file-upload, docs.stripe.com/api/files/create); the SDK sends them there through its
`base_addresses["files"]`. Here the same app answers both hosts. Only `purpose=dispute_evidence` is supported: a
PDF, JPEG or PNG of at most 5 MB (docs.stripe.com/file-upload, "dispute_evidence"). The SDK labels every file
`application/octet-stream`, so the type comes from the file's first bytes, as Stripe reads it. The bytes are kept
(table `file_contents`, apart from the object) and the object's id can then be given in a dispute's file evidence
fields (docs.stripe.com/api/disputes/update).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
from dataclasses import dataclass
from typing import Any

from stripe_emulator import params as p
from stripe_emulator.core import Context, get_object, list_objects, new_id
from stripe_emulator.core import retrieve as retrieve_object
from stripe_emulator.errors import invalid
from stripe_emulator.store import Store

PURPOSE_LIMITS = {"dispute_evidence": 5 * 1024 * 1024}  # bytes, per file
PURPOSE_TYPES = {"dispute_evidence": ("pdf", "jpg", "png")}
# The request body may pass the largest file by the multipart framing and the other fields.
MAX_UPLOAD_BODY_BYTES = max(PURPOSE_LIMITS.values()) + 64 * 1024
SIGNATURES = ((b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))
TYPE_NAMES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}


@dataclass(frozen=True)
class Upload:
    """The `file` part of an upload: its name as sent and its bytes."""

    filename: str
    data: bytes


def multipart_params(body: bytes, content_type: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The parameters of a multipart/form-data body (the `file` part as an Upload) and the pairs that identify the
    request for idempotency (the file by its SHA-256)."""
    if "boundary=" not in content_type:
        raise invalid("Invalid request: a multipart/form-data body needs a boundary in its Content-Type.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise invalid("Invalid request: the multipart/form-data body could not be read.")
    pairs: list[tuple[str, str]] = []
    upload: Upload | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if name == "file" and filename is not None:
            upload = Upload(filename=filename, data=data)
            pairs.append(("file", hashlib.sha256(data).hexdigest()))
        else:
            pairs.append((name, data.decode("utf-8", errors="replace")))
    found = p.parse_pairs([pair for pair in pairs if pair[0] != "file"])
    if upload is not None:
        found["file"] = upload
    return found, pairs


def file_type(data: bytes) -> str | None:
    """ "pdf", "png" or "jpg" from a file's first bytes; None for anything else."""
    return next((kind for signature, kind in SIGNATURES if data.startswith(signature)), None)


def create_file(ctx: Context) -> dict[str, Any]:
    """POST /v1/files: store an upload and its bytes; refuses a missing file, another purpose, a type or size the
    purpose does not take."""
    upload = ctx.params.pop("file", None)
    params = p.check(
        ctx.params,
        {"purpose": (p.string(), True), "expand": (p.string_list, False), "file_link_data": (p.string(), False)},
    )
    if not isinstance(upload, Upload):
        raise invalid("Missing required param: file.", param="file")
    purpose = params["purpose"]
    if purpose not in PURPOSE_LIMITS:
        raise invalid(f"The emulator takes files for purpose dispute_evidence only, not {purpose}.", param="purpose")
    kind = file_type(upload.data)
    if kind not in PURPOSE_TYPES[purpose]:
        allowed = ", ".join(TYPE_NAMES[name] for name in PURPOSE_TYPES[purpose])
        raise invalid(f"Files for purpose {purpose} must be one of: {allowed}.", param="file")
    if len(upload.data) > PURPOSE_LIMITS[purpose]:
        limit = PURPOSE_LIMITS[purpose] // (1024 * 1024)
        raise invalid(f"Files for purpose {purpose} can be at most {limit} MB.", param="file")
    file_id = new_id("file_")
    obj = {
        "id": file_id,
        "object": "file",
        "created": ctx.now,
        "expires_at": None,
        "filename": upload.filename,
        "links": {"object": "list", "data": [], "has_more": False, "url": f"/v1/file_links?file={file_id}"},
        "purpose": purpose,
        "size": len(upload.data),
        "title": None,
        "type": kind,
        "url": f"{ctx.base_url}/v1/files/{file_id}/contents",
    }
    ctx.store.insert("files", obj)
    ctx.store.insert(
        "file_contents", {"id": file_id, "created": ctx.now, "data": base64.b64encode(upload.data).decode()}
    )
    return obj


def file_bytes(store: Store, file_id: str) -> bytes | None:
    """The bytes uploaded as `file_id`, or None."""
    kept = store.get("file_contents", file_id)
    return base64.b64decode(kept["data"]) if kept else None


def check_evidence_file(ctx: Context, file_id: str, param: str) -> None:
    """Refuse (resource_missing, as Stripe) a dispute evidence field naming no uploaded dispute_evidence file."""
    found = get_object(ctx, "files", "file", file_id, param=param)
    if found["purpose"] != "dispute_evidence":
        raise invalid(f"The file {file_id} was uploaded for {found['purpose']}, not dispute_evidence.", param=param)


def retrieve_file(ctx: Context, file_id: str) -> dict[str, Any]:
    """GET /v1/files/{id}."""
    return retrieve_object(ctx, "files", "file", file_id)


def list_files(ctx: Context) -> Any:
    """GET /v1/files: newest first; `purpose` and `created` filters."""
    return list_objects(ctx, "files", "file", "/v1/files", {"purpose": p.string()}, ("purpose",))
