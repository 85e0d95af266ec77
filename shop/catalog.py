"""The books on sale and their prices: the only source of prices in the shop.

Prices are integer minor units in the catalog's currency, read from `catalog.json` beside this file. Nothing that
comes from a browser ever sets an amount; a checkout prices its line once (`priced_line`) and passes it on.
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


@dataclass(frozen=True)
class PricedLine:
    """One order line as the catalog prices it: made once per click on Pay (`priced_line`) and handed to the
    duplicate check, the order's creation or revision and Stripe, so none of them prices the book again."""

    book: Book
    quantity: int
    unit_amount: int  # minor units of `currency`, for one copy
    total: int  # minor units of `currency`, for `quantity` copies
    currency: str


def priced_line(book_id: str, quantity: int) -> PricedLine:
    """`quantity` copies of a book at the catalog's price; ValueError (quantity outside 1..10) or UnknownBookError
    saying what to fix."""
    total = price_for(book_id, quantity)
    book = get_book(book_id)
    return PricedLine(book=book, quantity=quantity, unit_amount=book.price, total=total, currency=book.currency)


def price_for(book_id: str, quantity: int) -> int:
    """Total in minor units for `quantity` copies (1..10) of a book; ValueError outside that range."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
    return get_book(book_id).price * quantity
