"""Taking an order's money: the checkout flows."""
