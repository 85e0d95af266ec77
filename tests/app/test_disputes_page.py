"""The Disputes page and capture at shipment on Orders and Charges, through AppTest against the emulator."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import stripe
from streamlit.testing.v1 import AppTest

from shop import catalog, clock, config, disputes, orders, sync
from shop.checkout import charges, opening
from tests.app.downloads import Downloads
from tests.contract.money import card_token
from tests.support import ROOT, use_emulator
from tests.support_app import sign_in_as_staff
from tests.support_data import CUSTOMER
from tests.support_files import png

HAMMING = "art-of-doing-science"  # $23.00
FRAUDULENT = "4000000000000259"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_emulator) -> stripe.StripeClient:
    use_emulator(monkeypatch, private_emulator, tmp_path)
    private_emulator.reset()
    return private_emulator.client()


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    sign_in_as_staff(at)
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def paid(api: stripe.StripeClient, token: str = "tok_visa") -> orders.Order:
    order = orders.create_order(CUSTOMER, catalog.priced_line(HAMMING, 1), capture_method=opening.new_capture_method())
    assert charges.pay_order(order.id, token, uuid.uuid4().hex, client=api).succeeded
    return orders.get_order(order.id)


def disputed(api: stripe.StripeClient, private_emulator) -> orders.Order:
    tokens = stripe.StripeClient("pk_test_emulator", base_addresses={"api": private_emulator.url})
    order = paid(api, card_token(tokens, FRAUDULENT))
    return orders.mark_shipped(order.id)


def test_an_empty_store_says_there_is_nothing_to_answer(api):
    at = open_page("disputes")
    assert at.title[0].value == "Disputes"
    assert metrics(at)["Open disputes"] == "0"
    assert "No dispute is waiting for a response." in [caption.value for caption in at.caption]


def test_an_open_dispute_is_answered_with_prefilled_evidence_and_won(api, private_emulator):
    order = disputed(api, private_emulator)
    at = open_page("disputes")  # its sync bar backfills the dispute
    listed = at.dataframe[0].value
    assert list(listed["Order"]) == [order.id] and list(listed["Reason"]) == ["fraudulent"]
    assert list(listed["Amount"]) == [23.0] and listed["Time left"][0].endswith("left")
    assert metrics(at)["Open disputes"] == "1"
    assert metrics(at)["Effect on net"] == "-$38.00"  # $23.00 withdrawn and the $15.00 fee
    [dispute] = disputes.list_disputes()
    assert at.text_input(key=f"evidence_{dispute.id}_customer_name").value == CUSTOMER.name
    assert CUSTOMER.line1 in at.text_area(key=f"evidence_{dispute.id}_shipping_address").value

    at.text_area(key=f"evidence_{dispute.id}_uncategorized_text").input("winning_evidence")
    submit_button(at).click().run()
    at.button(key="disputes_submit_pending_yes").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        f"Evidence for {dispute.id} submitted: the bank decides, and this page shows the outcome."
    ]
    assert api.v1.disputes.retrieve(dispute.id).evidence.uncategorized_text == "winning_evidence"

    deadline = time.monotonic() + 15
    while disputes.get_dispute(dispute.id).status != "won":
        assert time.monotonic() < deadline, "the dispute was not decided"
        sync.sync(api)
        time.sleep(0.2)
    at = open_page("disputes")
    history = at.dataframe[-1].value
    assert list(history["Status"]) == ["won"] and list(history["Effect on net"]) == [0.0]
    assert metrics(at)["Effect on net"] == "$0.00"


def submit_button(at: AppTest):
    return next(button for button in at.button if button.label == "Submit evidence to the bank…")


def test_submitting_asks_first_and_keep_editing_sends_nothing(api, private_emulator):
    disputed(api, private_emulator)
    at = open_page("disputes")
    [dispute] = disputes.list_disputes()
    at.text_area(key=f"evidence_{dispute.id}_uncategorized_text").input("losing_evidence")
    submit_button(at).click().run()
    assert not at.exception, at.exception
    assert "Stripe takes one submission" in at.markdown[-1].value  # the dialog says it is final
    assert "6 text fields and 0 documents" in at.markdown[-1].value
    at.button(key="disputes_submit_pending_no").click().run()
    assert not at.exception, at.exception
    answer = api.v1.disputes.retrieve(dispute.id)
    assert (answer.status, answer.evidence_details.submission_count) == ("needs_response", 0)
    assert answer.evidence.uncategorized_text is None
    assert "disputes_submit_pending" not in at.session_state


def test_an_uploaded_receipt_reaches_stripe_as_a_dispute_evidence_file(api, private_emulator):
    disputed(api, private_emulator)
    at = open_page("disputes")
    [dispute] = disputes.list_disputes()
    receipt = png(4, 3)
    at.file_uploader(key=f"evidence_{dispute.id}_receipt_file").upload("receipt-1042.png", receipt, "image/png")
    submit_button(at).click().run()
    assert "receipt-1042.png" in at.markdown[-1].value and "1 document" in at.markdown[-1].value
    at.button(key="disputes_submit_pending_yes").click().run()
    assert not at.exception, at.exception
    answer = api.v1.disputes.retrieve(dispute.id)
    assert answer.status == "under_review"
    uploaded = api.v1.files.retrieve(answer.evidence.receipt)
    assert (uploaded.purpose, uploaded.filename, uploaded.size, uploaded.type) == (
        "dispute_evidence",
        "receipt-1042.png",
        len(receipt),
        "png",
    )
    assert answer.evidence.customer_name == CUSTOMER.name  # the text went with it


def test_a_document_that_is_not_a_pdf_or_image_is_refused_before_anything_is_sent(api, private_emulator):
    disputed(api, private_emulator)
    at = open_page("disputes")
    [dispute] = disputes.list_disputes()
    at.file_uploader(key=f"evidence_{dispute.id}_receipt_file").upload("receipt.png", b"plain words", "image/png")
    submit_button(at).click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["Receipt: the file is not a PDF, JPEG or PNG; Stripe takes only those."]
    assert "disputes_submit_pending" not in at.session_state
    assert api.v1.files.list().data == []
    assert api.v1.disputes.retrieve(dispute.id).evidence_details.submission_count == 0


def test_accepting_asks_first_then_closes_the_dispute_lost(api, private_emulator):
    disputed(api, private_emulator)
    at = open_page("disputes")
    [dispute] = disputes.list_disputes()
    at.button(key=f"accept_{dispute.id}").click().run()
    at.button(key="disputes_accept_pending_yes").click().run()
    assert not at.exception, at.exception
    assert api.v1.disputes.retrieve(dispute.id).status == "lost"
    assert [s.value for s in at.success] == [f"Dispute {dispute.id} accepted: $23.00 stays with the customer."]


def test_open_and_decided_disputes_each_download_as_csv(api, private_emulator, monkeypatch):
    downloads = Downloads(monkeypatch)
    order = disputed(api, private_emulator)
    open_page("disputes")
    [dispute] = disputes.list_disputes()

    header, *rows = downloads.rows("open-disputes.csv")
    assert header == [
        "Dispute",
        "Order",
        "Reason",
        "Amount",
        "Time left",
        "Respond by",
        "Status",
        "Effect on net",
        "Charge",
        "Opened",
    ]
    [row] = rows
    assert row[:4] == [dispute.id, order.id, "fraudulent", "23.00"]
    assert row[4].endswith("left") and row[5].endswith("Z")  # the deadline in UTC ISO, as every table's CSV
    assert (row[7], row[8]) == ("-38.00", order.charge_id)  # $23.00 withdrawn and the $15.00 fee

    api.v1.disputes.close(dispute.id)  # accepted: lost
    sync.sync(api)
    open_page("disputes")
    header, *rows = downloads.rows("decided-disputes.csv")
    assert "Time left" not in header and "Respond by" not in header
    assert [(r[header.index("Dispute")], r[header.index("Status")]) for r in rows] == [(dispute.id, "lost")]


def test_orders_capture_on_mark_shipped_and_warn_about_old_authorizations(api, monkeypatch):
    monkeypatch.setenv("CAPTURE", "at_shipment")
    config.get_settings.cache_clear()
    with clock.store_clock(lambda: int(time.time()) - 6 * 86400 - 600):
        old = paid(api)
    at = open_page("orders")
    assert any("older than 6 days" in warning.value for warning in at.warning)
    assert list(at.dataframe[0].value["Status"]) == ["authorized"]
    drawn = list(at.session_state["orders_table_drawn"])  # tick its row, as a browser would
    at.session_state["orders_table"] = {"selection": {"rows": [drawn.index(old.id)], "columns": []}}
    at.run()
    at.button(key="orders_ship").click().run()
    assert [s.value for s in at.success] == [f"Order {old.id} marked shipped."]
    assert api.v1.charges.retrieve(old.charge_id).captured is True
    assert not any("older than 6 days" in warning.value for warning in at.warning)
    assert list(at.dataframe[0].value["Status"]) == ["shipped"]


def test_charges_counts_uncaptured_money_apart(api, monkeypatch):
    monkeypatch.setenv("CAPTURE", "at_shipment")
    config.get_settings.cache_clear()
    paid(api)
    at = open_page("charges")
    shown = metrics(at)
    assert shown["Authorized, not captured"] == "$23.00"
    assert shown["Gross volume"] == "$0.00"
    assert shown["Dispute rate, this period"] == "0.00%"
