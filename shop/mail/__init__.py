"""Emails to customers: an outbox written with each order change, a sender, and the shop's own SMTP server.

- `shop.mail.outbox`: the `outbox` table. `enqueue` is called through `shop.orders.queue_email` inside the
  transaction that changes the order, so an email exists exactly when its change committed; its unique key (order,
  kind) makes a replayed change (webhook, sync, reconciliation) find it queued already.
- `shop.mail.compose`: one plain-text and one HTML template per kind (Jinja2, HTML autoescaped) into an
  `email.message.EmailMessage`, whose headers come from `email.headerregistry.Address`, never from joined text.
- `shop.mail.transport`: SMTP_URL (smtp:// with STARTTLS when offered, smtps:// with implicit TLS) over smtplib,
  and what each SMTP answer means for the message (retry later, or give up and tell staff).
- `shop.mail.sender`: claims due messages (one sender per message at a time, across processes), sends, marks.
- `shop.mail.local_server`: without SMTP_URL, an SMTP server on loopback (aiosmtpd) that keeps every message in
  the data directory, for the Mailbox page.

`python -m shop.mail send` delivers what is due once; the app runs a sender thread from its lifespan.
"""
