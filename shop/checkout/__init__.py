"""Taking an order's money: the checkout flows and what settles them.

A click on Pay goes through `opening` (validate the customer, price the line once from the catalog, ask about a
possible duplicate purchase, say what Stripe is told of the order), then through one flow module:

- `charges`: the Charges API (CHECKOUT_API=charges): a Stripe.js token charged on the server, one attempt a click;
- `intents`: PaymentIntents (the default): one intent per order, confirmed in the browser, settled from Stripe;
- `sessions`: Checkout Sessions with the Payment Element (CHECKOUT_API=checkout_sessions): one session per order,
  paid in the page, settled from the session Stripe has (also by its webhooks and reconciliation).

Every flow answers with `results` (ChargeResult, PaymentError, the customer's messages). A charge an order cannot
take (a second payment, one for other terms) is given back by `second_charges`, which the flows call while settling.
`reconcile` sits above both flows and the synced copy (`shop.sync`): it settles what a lost answer, a closed tab or
a sync left open. What follows the payment (refund, capture, ship, cancel) is `shop.fulfilment`'s.
"""
