"""The evidence documents' checks before anything goes to Stripe: type by content, 5 MB each, 4.5 MB together."""

from __future__ import annotations

import pytest

from shop import disputes
from shop.disputes import DisputeError, EvidenceFile
from tests.support_files import png

PDF = b"%PDF-1.7\n"


def test_pdf_jpeg_and_png_pass_and_empty_fields_are_left_out():
    chosen = disputes.check_evidence_files(
        {
            "receipt": EvidenceFile("r.pdf", PDF),
            "shipping_documentation": EvidenceFile("s.jpg", b"\xff\xd8\xff\xe0"),
            "customer_communication": EvidenceFile("c.png", png()),
            "uncategorized_file": None,
        }
    )
    assert list(chosen) == ["receipt", "shipping_documentation", "customer_communication"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"receipt": EvidenceFile("a.png", b"GIF89a")}, "Receipt: the file is not a PDF, JPEG or PNG"),
        ({"receipt": EvidenceFile("a.pdf", PDF + b"0" * 5 * 1024 * 1024)}, "over 5 MB"),
        (
            {
                "receipt": EvidenceFile("a.pdf", PDF + b"0" * 2_300_000),
                "shipping_documentation": EvidenceFile("b.pdf", PDF + b"0" * 2_300_000),
            },
            "over 4.5 MB",
        ),
        ({"passport": EvidenceFile("a.pdf", PDF)}, "Unknown evidence file field"),
    ],
)
def test_a_wrong_type_a_file_too_big_or_too_much_in_all_is_refused(files, message):
    with pytest.raises(DisputeError, match=message):
        disputes.check_evidence_files(files)


def test_documents_alone_are_a_response_but_nothing_at_all_is_not():
    text, chosen = disputes.check_response({"customer_name": " "}, {"receipt": EvidenceFile("r.pdf", PDF)})
    assert (text, list(chosen)) == ({}, ["receipt"])
    with pytest.raises(DisputeError, match="Write some evidence first"):
        disputes.check_response({"customer_name": " "}, {"receipt": None})
