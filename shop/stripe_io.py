"""Talking to Stripe, the parts every module shares: what a failed call means, in words for the shop's staff.

The SDK's own text ("Unexpected error communicating with Stripe. If this problem persists, let us know at
support@stripe.com. (Network error: …api.stripe.com…") names hosts and asks people to write to Stripe; staff need
what happened and what to do, and the SDK's text goes to the log.
"""

from __future__ import annotations

import stripe

UNREACHABLE_WORDS = "Stripe could not be reached from this server: check its network connection or proxy."
RATE_LIMITED_WORDS = "Stripe is receiving too many requests from this shop just now: try again in a minute."
KEY_REFUSED_WORDS = "Stripe refused this server's API key: check STRIPE_SECRET_KEY (a secret key of this account)."
NOT_PERMITTED_WORDS = (
    "This server's API key may not do that: give the restricted key the permission, or use a secret key."
)
STRIPE_FAILED_WORDS = "Stripe had a problem answering: try again in a minute."


def staff_words(exc: stripe.StripeError) -> str:
    """What a failed Stripe call means and what to do, as a sentence for staff (never the SDK's own text, which
    names hosts and support addresses; log that). A refusal meant for people (a card or request error) keeps
    Stripe's message."""
    if isinstance(exc, stripe.APIConnectionError):
        return UNREACHABLE_WORDS
    if isinstance(exc, stripe.RateLimitError):
        return RATE_LIMITED_WORDS
    if isinstance(exc, stripe.AuthenticationError):
        return KEY_REFUSED_WORDS
    if isinstance(exc, stripe.PermissionError):
        return NOT_PERMITTED_WORDS
    if isinstance(exc, (stripe.CardError, stripe.InvalidRequestError, stripe.IdempotencyError)) and exc.user_message:
        return exc.user_message
    return STRIPE_FAILED_WORDS
