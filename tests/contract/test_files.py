"""Files: uploads for dispute evidence through the SDK (multipart to the files host), and their ids as evidence."""

from __future__ import annotations

import io

import pytest
import stripe

from tests.contract.test_disputes import FRAUDULENT, disputed
from tests.support_files import png


def upload(client: stripe.StripeClient, data: bytes, name: str = "receipt.png") -> stripe.File:
    """Upload `data` for dispute evidence, named `name` (the SDK takes the name from the file object)."""
    handle = io.BytesIO(data)
    handle.name = name
    return client.v1.files.create(params={"file": handle, "purpose": "dispute_evidence"})


def test_an_evidence_upload_is_a_file_object_that_can_be_retrieved_and_listed(stripe_client):
    data = png(3, 2)
    created = upload(stripe_client, data)
    assert created.id.startswith("file_")
    assert (created.object, created.purpose, created.type) == ("file", "dispute_evidence", "png")
    assert (created.size, created.filename) == (len(data), "receipt.png")
    fetched = stripe_client.v1.files.retrieve(created.id)
    assert (fetched.id, fetched.size, fetched.type) == (created.id, len(data), "png")
    listed = stripe_client.v1.files.list(params={"purpose": "dispute_evidence", "limit": 10})
    assert created.id in [found.id for found in listed.data]


def test_a_file_that_is_not_a_pdf_or_image_is_refused_for_dispute_evidence(stripe_client):
    with pytest.raises(stripe.InvalidRequestError):
        upload(stripe_client, b"just some words, not a document\n", name="notes.txt")


def test_a_file_over_the_size_limit_is_refused(stripe_client):
    too_big = png() + b"\x00" * (5 * 1024 * 1024)  # past Stripe's 5 MB for dispute_evidence
    with pytest.raises(stripe.InvalidRequestError):
        upload(stripe_client, too_big, name="huge.png")


def test_an_upload_id_is_accepted_as_file_evidence_and_an_unknown_id_is_refused(stripe_client, publishable_client):
    _charge, dispute = disputed(stripe_client, publishable_client, FRAUDULENT)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.update(
            dispute.id, params={"evidence": {"receipt": "file_doesnotexist000000000"}, "submit": False}
        )
    receipt = upload(stripe_client, png())
    saved = stripe_client.v1.disputes.update(
        dispute.id, params={"evidence": {"receipt": receipt.id, "customer_name": "Ada"}, "submit": False}
    )
    assert saved.evidence.receipt == receipt.id
    assert saved.status == "needs_response"
    assert saved.evidence_details.has_evidence is True
