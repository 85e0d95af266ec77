"""An offline, Stripe-compatible HTTP API and a fake Stripe.js, for running the shop without accounts.

`python -m stripe_emulator [--host 127.0.0.1] [--port 12111] [--data-dir data/emulator]` serves:

- `/v1/tokens`, `/v1/charges` (+ `/capture`), `/v1/refunds`, `/v1/customers`, `/v1/payment_methods`,
  `/v1/payment_intents` (+ `/confirm`, `/capture`, `/cancel`), `/v1/events` in Stripe's shapes, with Stripe's test
  cards, test tokens and test PaymentMethods, 3-D Secure, errors, idempotency and cursor pagination;
- `/v3/` (the fake Stripe.js and its card iframe) and `/receipts/<charge id>`;
- `/_emulator/health`, and with a secret key `/_emulator/clock` (freeze "now" to seed history),
  `/_emulator/reset` (wipe everything) and `/_emulator/faults` (fault injection); `/_emulator/3ds/<id>/authenticate`
  answers the 3-D Secure test challenge.

Any `sk_test_…` key works (one shared account); `pk_test_…` keys only create tokens and PaymentMethods, and
retrieve or confirm a PaymentIntent with its client_secret. Only loopback Host names are answered (see guards.py).
Data lives in one SQLite file (WAL) under the data directory; every write is committed before the response is sent.
"""
