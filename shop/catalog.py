"""The books on sale and their prices: the only source of prices in the shop.

Prices are integer minor units in the catalog's currency, read from `catalog.json` beside this file. Nothing that
comes from a browser ever sets an amount; checkout and reconciliation both ask `price_for`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

CATALOG_FILE = Path(__file__).with_name("catalog.json")
MAX_QUANTITY = 10


class UnknownBookError(LookupError):
    """The book id is not in the catalog."""


@dataclass(frozen=True)
class Book:
    """A book on sale. `price` is in minor units of `currency`."""

    id: str
    title: str
    subtitle: str
    author: str
    price: int
    currency: str
    year: int
    description: str
    colour: str
    accent: str

    @property
    def full_title(self) -> str:
        """Title and subtitle as printed on the cover ("Title: Subtitle")."""
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title


@functools.cache
def _load() -> tuple[Book, ...]:
    raw = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    currency = raw["currency"]
    books = tuple(Book(currency=currency, **entry) for entry in raw["books"])
    for book in books:
        if not isinstance(book.price, int) or book.price <= 0:
            raise ValueError(f"catalog.json: {book.id} needs a positive integer price in minor units")
    return books


def all_books() -> list[Book]:
    """Every book on sale, in catalog order."""
    return list(_load())


def get_book(book_id: str) -> Book:
    """The book with this id; raises UnknownBookError for an id not in the catalog."""
    for book in _load():
        if book.id == book_id:
            return book
    raise UnknownBookError(f"There is no book {book_id!r} in the catalog.")


def price_for(book_id: str, quantity: int) -> int:
    """Total in minor units for `quantity` copies (1..10) of a book; ValueError outside that range."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
    return get_book(book_id).price * quantity
