"""An offline, Stripe-compatible HTTP API and a fake Stripe.js, for running the shop without accounts.

`python -m stripe_emulator [--host 127.0.0.1] [--port 12111] [--data-dir data/emulator]` serves:

- `/v1/tokens`, `/v1/charges` (+ `/capture`), `/v1/refunds`, `/v1/customers`, `/v1/events` in Stripe's shapes,
  with Stripe's test cards and test tokens, errors, idempotency and cursor pagination;
- `/v3/` (the fake Stripe.js and its card iframe) and `/receipts/<charge id>`;
- `/_emulator/health`, and with a secret key `/_emulator/clock` (freeze "now" to seed history) and
  `/_emulator/reset` (wipe everything).

Any `sk_test_…` key works (one shared account); `pk_test_…` keys only create tokens. Data lives in one SQLite
file (WAL) under the data directory; every write is committed before the response is sent.
"""
