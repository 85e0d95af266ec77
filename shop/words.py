"""Words for pages and command lines: counts ("1 order", "2 inquiries", plurals by inflect), codes in words."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _plurals() -> Any:
    """inflect's engine, made on first use. Importing inflect takes about 2 s on this project's 2-core machine
    (inflect 7 wraps its methods in typeguard's `typechecked`, which re-parses its source for each at import): the
    shop page and the Charges page never count, so they no longer pay it on a fresh server's first run."""
    import inflect

    return inflect.engine()


# Nouns counted on the Charges page's first run (the sync's line), whose plural only adds an "s": spelled here, so
# that counting them does not import inflect (see `_plurals`). A test checks each against inflect.
_PLURAL_ADDS_S = frozenset({"charge", "refund", "event", "Stripe request"})


def count(number: int, noun: str) -> str:
    """`number` with thousands separators and `noun` in the singular for one, the plural otherwise."""
    if noun in _PLURAL_ADDS_S:
        return f"{number:,} {noun if number == 1 else noun + 's'}"
    return f"{number:,} {_plurals().plural_noun(noun, number)}"


# Stripe's codes whose words are not just the code's with spaces (docs.stripe.com/api/disputes/object#dispute_object-
# status, #dispute_object-reason; docs.stripe.com/api/refunds/object#refund_object-reason).
_CODE_WORDS = {
    "warning_needs_response": "inquiry: needs a response",
    "warning_under_review": "inquiry: under review",
    "warning_closed": "inquiry closed",
    "needs_response": "needs a response",
    "requires_action": "waiting for the customer",
    "requires_payment_method": "waiting for a card",
    "expired_uncaptured_charge": "authorization expired uncaptured",
    "elevated_risk_level": "elevated risk",
    "highest_risk_level": "highest risk",
}


def code_words(code: str | None) -> str:
    """One of Stripe's (or the store's) codes as people read it: "requested_by_customer" -> "requested by customer",
    "warning_needs_response" -> "inquiry: needs a response"; None or "" -> ""."""
    if not code:
        return ""
    return _CODE_WORDS.get(code, code.replace("_", " "))
