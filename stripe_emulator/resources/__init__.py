"""One module per Stripe resource: its object builder, its rules and its endpoint handlers."""
