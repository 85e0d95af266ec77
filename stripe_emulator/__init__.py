"""An offline, Stripe-compatible HTTP API (charges, tokens, refunds, customers, events) and a fake Stripe.js."""
