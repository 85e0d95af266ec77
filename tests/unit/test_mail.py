"""Customer emails through a real SMTP server (aiosmtpd): each once, with the right content, none lost.

The outbox is written with each order change; a sender delivers it. Both checkout flows, every kind of email, a
server that is down and then up, one that refuses for good, two senders on one PostgreSQL store, a kill -9 at
each step of a message's life, and customer text that tries to be a header or markup.
"""

from __future__ import annotations

import signal
import sys
import threading
import typing
import uuid
from importlib.resources import files
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from shop import attempts, catalog, config, fulfilment, orders, refund_requests
from shop.checkout import charges, intents, reconcile
from shop.db import get_engine
from shop.mail import compose, outbox
from shop.mail.sender import Sender
from shop.mail.settings import get_mail_settings
from shop.schema import outbox as outbox_table
from tests.support import start_process, use_emulator
from tests.support_data import CHECKOUT_DETAILS
from tests.support_mail import Sink
from ui import emails

HAMMING = "art-of-doing-science"  # $23.00 in the catalog


@pytest.fixture
def sink() -> Sink:
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture
def client(emulator, sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stripe.StripeClient:
    use_emulator(monkeypatch, emulator, tmp_path)
    monkeypatch.setenv("SMTP_URL", sink.url)
    monkeypatch.setenv("EMAIL_FROM", "orders@press.example")
    monkeypatch.setenv("SHOP_URL", "https://shop.example")
    monkeypatch.delenv("CAPTURE", raising=False)
    get_mail_settings.cache_clear()
    config.get_settings.cache_clear()
    emulator.reset()
    yield emulator.client()
    get_mail_settings.cache_clear()


def send_all(client: stripe.StripeClient | None = None, **options) -> None:
    Sender(get_engine(), get_mail_settings(), client=client, **options).run_once()


def charges_checkout(client: stripe.StripeClient, details: dict | None = None) -> orders.Order:
    payment = {"token": "tok_visa", "nonce": uuid.uuid4().hex, "brand": "Visa", "last4": "4242"}
    outcome = charges.checkout(details or CHECKOUT_DETAILS, HAMMING, 2, payment, allow_duplicate=True, client=client)
    assert outcome.result is not None and outcome.result.succeeded, outcome
    return outcome.result.order


def intents_checkout(client: stripe.StripeClient, details: dict | None = None) -> orders.Order:
    prepared = intents.prepare_checkout(details or CHECKOUT_DETAILS, HAMMING, 2, allow_duplicate=True, client=client)
    assert prepared.ready, prepared.message
    client.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    settled = intents.settle_order(prepared.order.id, client=client)
    assert settled is not None and settled.succeeded
    intents.settle_order(prepared.order.id, client=client)  # settled again (the webhook, a reload): no second email
    return settled.order


FLOWS = {"charges": charges_checkout, "payment_intents": intents_checkout}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize("flow", FLOWS)
def test_a_paid_order_gets_one_confirmation_and_a_shipped_order_one_more_email(client, sink: Sink, flow: str) -> None:
    order = FLOWS[flow](client)
    send_all(client)
    send_all(client)  # a second pass sends nothing again
    (confirmation,) = sink.wait_for(1)
    assert confirmation["To"].addresses[0].addr_spec == "grace@example.com"
    assert confirmation["From"].addresses[0].addr_spec == "orders@press.example"
    assert confirmation["Message-ID"].endswith("@press.example>")
    text, html = text_of(confirmation), html_of(confirmation)
    charge = client.v1.charges.retrieve(order.charge_id)
    card = charge.payment_method_details.card  # the card as Stripe returned it, not as the browser reported it
    for body in (text, html):
        assert order.id in body and order.charge_id.startswith("ch_") and order.charge_id in body
        assert "$46.00" in body and "$23.00" in body  # total and unit price
        assert "The Art of Doing Science and Engineering" in body and "Richard Hamming" in body
        assert "1 Harbor Way" in body and "San Francisco" in body
        assert f"https://shop.example/your_order?order={order.id}" in body
        assert charge.receipt_url in body
        assert f"{card.brand.title()} card ending in {card.last4}" in body  # "Visa", as a name
    assert "not charged" not in text

    fulfilment.ship_order(order.id, carrier="UPS", tracking_number="1Z 999 AA1", client=client)
    send_all(client)
    shipped = sink.wait_for(2)[1]
    assert shipped["X-Shop-Email"] == "shipped" and shipped["Message-ID"] != confirmation["Message-ID"]
    assert "UPS" in text_of(shipped) and "1Z 999 AA1" in html_of(shipped)
    send_all(client)
    assert len(sink.messages) == 2
    assert [m.status for m in outbox.messages(order_id=order.id, engine=get_engine())] == ["sent", "sent"]


@pytest.mark.parametrize("flow", FLOWS)
def test_capture_at_shipment_says_authorized_then_charged(client, sink: Sink, flow: str, monkeypatch) -> None:
    monkeypatch.setenv("CAPTURE", "at_shipment")
    config.get_settings.cache_clear()
    order = FLOWS[flow](client)
    fulfilment.ship_order(order.id, client=client)
    send_all(client)
    confirmation, shipped = sink.wait_for(2)
    assert "authorized for $46.00, not charged" in text_of(confirmation)
    assert "now charged $46.00" in text_of(shipped)
    held = FLOWS[flow](client)
    fulfilment.cancel_order(held.id, client=client)
    send_all(client)
    (cancelled,) = [m for m in sink.wait_for(4) if m["X-Shop-Email"] == "cancelled"]
    assert "hold of $46.00 on your card is released: nothing was charged" in text_of(cancelled)


@pytest.mark.parametrize("flow", FLOWS)
def test_cancel_refund_and_refund_requests_each_send_their_email(client, sink: Sink, flow: str) -> None:
    checkout = FLOWS[flow]
    cancelled = checkout(client)
    fulfilment.cancel_order(cancelled.id, client=client)
    refunded = checkout(client)
    orders.mark_shipped(refunded.id)
    fulfilment.refund_charge(
        refunded.charge_id, amount=1000, reason="duplicate", idempotency_key=f"r-{uuid.uuid4()}", client=client
    )
    asked = checkout(client)
    orders.mark_shipped(asked.id)
    request = refund_requests.request_refund(asked.id, "grace@example.com", "Pages 10-40 are <b>missing</b>")
    fulfilment.approve_refund_request(request.id, note="Sorry about that.", client=client)
    refused = checkout(client)
    orders.mark_shipped(refused.id)
    request = refund_requests.request_refund(refused.id, "grace@example.com", "Changed my mind")
    refund_requests.decide_refund_request(request.id, False, note="Returns close after 30 days.")
    send_all(client)
    sink.wait_for(13)  # 4 confirmations, 3 shipped, cancelled, refund, 2 requests received, approved, rejected
    (cancel,) = sink.of_kind("cancelled")
    assert "We refunded $46.00" in text_of(cancel)
    (refund,) = sink.of_kind("refunded")
    assert "We refunded $10.00" in text_of(refund) and "charged more than once" in text_of(refund)
    assert "$10.00 of $46.00" in html_of(refund)
    received = sink.of_kind("request_received")
    assert len(received) == 2 and "Pages 10-40 are &lt;b&gt;missing&lt;/b&gt;" in html_of(received[0])
    (approved,) = sink.of_kind("request_approved")
    assert "refunded $46.00" in text_of(approved) and "Sorry about that." in html_of(approved)
    (rejected,) = sink.of_kind("request_rejected")
    assert "Returns close after 30 days." in text_of(rejected)
    assert not sink.of_kind("refund_corrected") and len(sink.messages) == 13


def test_a_refund_that_fails_later_sends_a_correction(client, sink: Sink) -> None:
    order = charges_checkout(client)
    orders.record_refund(order.id, 2000)
    orders.record_refund(order.id, 0)  # Stripe: the refund failed, the money is back on the charge
    send_all(client)
    sink.wait_for(3)
    (correction,) = sink.of_kind("refund_corrected")
    assert "could not take $20.00" in text_of(correction) and "No refund reached you" in text_of(correction)


def test_the_server_down_then_up_sends_each_email_once(client, sink: Sink) -> None:
    sink.stop()
    order = charges_checkout(client)
    send_all(client, base_delay_s=0.0)
    (waiting,) = outbox.messages(order_id=order.id, engine=get_engine())
    assert waiting.status == "queued" and waiting.attempts == 1 and "Could not reach" in waiting.last_error
    assert order.id in outbox.problems(engine=get_engine())  # staff see it waiting
    sink.start()
    send_all(client, base_delay_s=0.0)
    send_all(client, base_delay_s=0.0)
    assert len(sink.wait_for(1)) == 1
    (sent,) = outbox.messages(order_id=order.id, engine=get_engine())
    assert sent.status == "sent" and sent.last_error is None


def test_a_4xx_is_retried_and_a_5xx_is_shown_to_staff(client, sink: Sink) -> None:
    sink.refuse["grace@example.com"] = "451 4.3.0 try again later"
    order = charges_checkout(client)
    send_all(client, base_delay_s=0.0)
    assert outbox.messages(order_id=order.id, engine=get_engine())[0].status == "queued"
    sink.refuse["grace@example.com"] = "550 5.1.1 no such user"
    send_all(client, base_delay_s=0.0)
    (failed,) = outbox.messages(order_id=order.id, engine=get_engine())
    assert failed.status == "failed" and "refused the address grace@example.com" in failed.last_error
    assert "550 5.1.1" in failed.last_error and "Check the address with the customer" in failed.last_error
    assert outbox.problems([order.id], engine=get_engine())[order.id][0].id == failed.id
    send_all(client, base_delay_s=0.0)
    assert sink.messages == []


def test_hostile_names_and_addresses_stay_inert_in_headers_and_html(client, sink: Sink) -> None:
    engine = get_engine()
    name = 'Eve\r\nBcc: victim@example.net\r\n<script>alert(1)</script> =HYPERLINK("http://x")'
    customer = orders.Customer(name, "eve@example.com", "+1", "<img src=x onerror=alert(1)>", "City", "", "1", "US")
    order = orders.create_order(customer, catalog.priced_line(HAMMING, 1))
    attempt = attempts.start_attempt(order.id, "n1", card_brand="<b>visa</b>", card_last4="4242")
    attempts.finish_attempt(
        attempt.id, "succeeded", charge_id="ch_missing", amount=order.amount, currency=order.currency
    )
    send_all(client)
    (message,) = sink.wait_for(1)
    raw = sink.raw[0]
    assert b"\nBcc:" not in raw and b"\r\nBcc:" not in raw and message["Bcc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["eve@example.com"]
    assert "victim@example.net" not in str(message["To"]) or message["To"].addresses[0].addr_spec == "eve@example.com"
    html = html_of(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>visa</b>" not in html
    # An address that is not one address is never sent anywhere: the email fails with what to fix.
    bad = orders.create_order(orders.Customer("Mallory", "a@b.example, c@d.example", "+1", "x", "y", "", "1", "US"),
                              catalog.priced_line(HAMMING, 1))  # fmt: skip
    attempt = attempts.start_attempt(bad.id, "n2")
    attempts.finish_attempt(attempt.id, "succeeded", charge_id="ch_missing2", amount=bad.amount, currency=bad.currency)
    send_all(client)
    (failed,) = outbox.messages(order_id=bad.id, engine=engine)
    assert failed.status == "failed" and "is not an email address" in failed.last_error
    assert len(sink.messages) == 1


def test_a_rolled_back_change_queues_nothing_and_a_replay_queues_once(client) -> None:
    engine = get_engine()
    order = charges_checkout(client)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        outbox.enqueue(conn, order_id=order.id, kind="shipped", recipient="grace@example.com")
        raise RuntimeError("the change fails after the email was written")
    assert [m.kind for m in outbox.messages(order_id=order.id, engine=engine)] == ["confirmed"]
    with engine.begin() as conn:
        assert not outbox.enqueue(conn, order_id=order.id, kind="confirmed", recipient="grace@example.com")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_senders_on_one_postgresql_store_deliver_each_message_once(
    emulator, sink: Sink, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    use_emulator(monkeypatch, emulator, tmp_path, database_url)
    monkeypatch.setenv("SMTP_URL", sink.url)
    get_mail_settings.cache_clear()
    engine = get_engine()
    customer = orders.Customer(**CHECKOUT_DETAILS)
    for _ in range(40):
        order = orders.create_order(customer, catalog.priced_line(HAMMING, 1))
        with engine.begin() as conn:
            outbox.enqueue(conn, order_id=order.id, kind="shipped", recipient=customer.email)
    replicas = [Sender(engine, get_mail_settings()), Sender(engine, get_mail_settings())]
    threads = [threading.Thread(target=replica.run_once) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [str(message["Message-ID"]) for message in sink.wait_for(40)]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert outbox.counts(engine=engine) == {"queued": 0, "sent": 40, "failed": 0}


def _paid_order(client: stripe.StripeClient) -> orders.Order:
    order = charges_checkout(client)
    send_all(client)  # the confirmation is out of the way
    return order


def _child(step: str, order_id: str) -> int:
    process = start_process([sys.executable, "-m", "tests.support_mail", step, order_id])
    return process.wait(timeout=60)


def test_killed_before_the_commit_nothing_is_shipped_and_nothing_sent(client, sink: Sink) -> None:
    order = _paid_order(client)
    assert _child("before_commit", order.id) == -signal.SIGKILL
    send_all(client)
    assert orders.get_order(order.id).status == "paid"
    assert [m.kind for m in outbox.messages(order_id=order.id, engine=get_engine())] == ["confirmed"]
    assert len(sink.wait_for(1)) == 1


def test_killed_after_the_commit_the_email_goes_out_after_the_restart(client, sink: Sink) -> None:
    order = _paid_order(client)
    assert _child("after_commit", order.id) == -signal.SIGKILL
    assert orders.get_order(order.id).status == "shipped"
    send_all(client)
    send_all(client)
    assert [m["X-Shop-Email"] for m in sink.wait_for(2)] == ["confirmed", "shipped"]


def test_killed_between_the_send_and_the_mark_it_goes_twice_with_one_message_id_never_more(client, sink) -> None:
    order = _paid_order(client)
    orders.mark_shipped(order.id)
    assert _child("after_send", order.id) == -signal.SIGKILL
    sink.wait_for(2)
    engine = get_engine()
    with engine.begin() as conn:  # the dead sender's claim runs out
        conn.execute(sa.update(outbox_table).where(outbox_table.c.kind == "shipped").values(claim_expires=0))
    send_all(client)
    send_all(client)
    shipped = sink.wait_for(3)[1:]
    assert len(sink.messages) == 3 and shipped[0]["Message-ID"] == shipped[1]["Message-ID"]
    assert sink.raw[1] == sink.raw[2]  # the same bytes: rendered once, stored before the first send
    assert outbox.messages(order_id=order.id, engine=engine)[0].status == "sent"


def test_smtp_url_forms() -> None:
    from shop.mail.settings import parse_smtp_url

    plain = parse_smtp_url("smtp://me%40x.example:p%40ss@mail.example:587")
    assert (plain.host, plain.port, plain.implicit_tls, plain.username, plain.password) == (
        "mail.example", 587, False, "me@x.example", "p@ss"
    )  # fmt: skip
    assert "p@ss" not in repr(plain)
    assert parse_smtp_url("smtps://u:p@mail.example").port == 465 and parse_smtp_url("smtps://h").implicit_tls
    with pytest.raises(config.ConfigError):
        parse_smtp_url("http://mail.example")
    assert compose.REASON_WORDS["duplicate"]


def test_an_order_settled_by_the_background_path_after_its_tab_closed_gets_one_confirmation(client, sink) -> None:
    prepared = intents.prepare_checkout(CHECKOUT_DETAILS, HAMMING, 1, allow_duplicate=True, client=client)
    client.v1.payment_intents.confirm(prepared.order.payment_intent_id, params={"payment_method": "pm_card_visa"})
    # The tab closed before the page heard back: nothing is queued until something settles the order.
    assert outbox.messages(order_id=prepared.order.id, engine=get_engine()) == []
    assert [r.succeeded for r in reconcile.settle_open_orders(client=client)] == [True]
    intents.settle_order(prepared.order.id, client=client)  # and the customer's reload settles it again
    send_all(client)
    send_all(client)
    (confirmation,) = sink.wait_for(1)
    assert prepared.order.id in text_of(confirmation) and len(sink.messages) == 1


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted by this process's TLS clients (SSL_CERT_FILE)."""
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return key, cert


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_smtp_url_logs_in_over_starttls_or_implicit_tls(client, certificate, scheme, monkeypatch) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    key, cert = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, data) -> AuthResult:
        if isinstance(data, LoginPassword):
            logins.append((data.login, data.password))
            return AuthResult(success=data.login == b"shop@x.example" and data.password == b"s3cret:pw")
        return AuthResult(success=False, handled=False)

    sink = Sink()
    options = {"authenticator": authenticate, "auth_require_tls": True}
    if scheme == "smtp":
        options |= {"tls_context": context, "require_starttls": True}  # refuses anything before STARTTLS
    else:
        # TLS from the first byte; aiosmtpd 1.4 does not count it as TLS for auth_require_tls, so that is off.
        options |= {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, server_hostname="127.0.0.1", **options)
    controller.start()
    try:
        monkeypatch.setenv("SMTP_URL", f"{scheme}://shop%40x.example:s3cret%3Apw@127.0.0.1:{sink.port}")
        get_mail_settings.cache_clear()
        charges_checkout(client)
        send_all(client)
        (message,) = sink.wait_for(1)
    finally:
        controller.stop()
    assert message["X-Shop-Email"] == "confirmed"
    assert logins == [(b"shop@x.example", b"s3cret:pw")]


def test_python_m_shop_mail_send_delivers_what_is_due_once(client, sink: Sink, capsys) -> None:
    from shop.mail.__main__ import main

    order = charges_checkout(client)
    orders.mark_shipped(order.id)
    assert main(["send"]) == 0
    assert "sent 2, to retry 0, failed 0; outbox now: 0 queued, 2 sent, 0 failed" in capsys.readouterr().out
    assert main(["send"]) == 0
    assert "sent 0" in capsys.readouterr().out and len(sink.wait_for(2)) == 2


def test_an_email_that_cannot_be_put_together_waits_without_holding_up_the_others(client, sink, monkeypatch) -> None:
    first, second = charges_checkout(client), charges_checkout(client)
    real = compose.build

    def broken_for_first(message, *args, **kwargs):
        if message.order_id == first.id:
            raise KeyError("a template bug")
        return real(message, *args, **kwargs)

    monkeypatch.setattr(compose, "build", broken_for_first)
    send_all(client)
    (sent,) = sink.wait_for(1)
    assert sent["X-Shop-Order"] == second.id
    (waiting,) = outbox.messages(order_id=first.id, engine=get_engine())
    assert waiting.status == "queued" and "could not be put together (KeyError)" in waiting.last_error
    monkeypatch.setattr(compose, "build", real)  # the fix is deployed, and its next try comes
    with get_engine().begin() as conn:
        conn.execute(sa.update(outbox_table).values(next_attempt_at=0))
    send_all(client)
    assert [m["X-Shop-Order"] for m in sink.wait_for(2)] == [second.id, first.id]


def test_one_deferred_recipient_does_not_hold_up_the_next_messages(client, sink: Sink) -> None:
    slow = charges_checkout(client, {**CHECKOUT_DETAILS, "email": "grey@example.net"})
    fine = charges_checkout(client)
    sink.refuse["grey@example.net"] = "451 4.7.1 greylisted, try again later"
    send_all(client)
    (sent,) = sink.wait_for(1)
    assert sent["X-Shop-Order"] == fine.id
    (waiting,) = outbox.messages(order_id=slow.id, engine=get_engine())
    assert waiting.status == "queued" and "451 4.7.1" in waiting.last_error and waiting.next_attempt_at > 0


def test_every_kind_of_email_has_a_subject_a_label_for_staff_and_both_bodies() -> None:
    assert set(outbox.KINDS) == set(typing.get_args(outbox.Kind))
    assert set(outbox.KINDS) <= set(compose.SUBJECTS) and set(outbox.KINDS) == set(emails.KIND_LABELS)
    templates = files("shop.mail") / "templates"
    assert all((templates / f"{kind}.{part}").is_file() for kind in outbox.KINDS for part in ("txt", "html"))
