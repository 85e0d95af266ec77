"""Counts in words for pages and command lines: "1 order", "1,204 orders", "2 inquiries" (plurals by inflect)."""

from __future__ import annotations

import inflect

_ENGINE = inflect.engine()


def count(number: int, noun: str) -> str:
    """`number` with thousands separators and `noun` in the singular for one, the plural otherwise."""
    return f"{number:,} {_ENGINE.plural_noun(noun, number)}"
