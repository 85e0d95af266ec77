"""The catalog (the only source of prices), money display and parsing, and the drawn covers."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop import catalog, covers, money


def test_the_three_books_of_the_original_shop_at_their_prices():
    books = {book.title: (book.author, book.price, book.currency) for book in catalog.all_books()}
    assert books["The Art of Doing Science and Engineering"] == ("Richard Hamming", 2300, "usd")
    assert books["The Making of Prince of Persia"] == ("Jordan Mechner", 2500, "usd")
    assert books["Working in Public"] == ("Nadia Eghbal", 2800, "usd")


def test_catalog_ids_are_unique_and_prices_positive_integers():
    books = catalog.all_books()
    assert len({book.id for book in books}) == len(books)
    assert all(isinstance(book.price, int) and book.price > 0 for book in books)


def test_price_for_quantities():
    assert catalog.price_for("art-of-doing-science", 1) == 2300
    assert catalog.price_for("working-in-public", 10) == 28000
    for quantity in (0, 11, -1, 2.0, True):
        with pytest.raises(ValueError, match="1 to 10"):
            catalog.price_for("art-of-doing-science", quantity)


def test_unknown_book():
    with pytest.raises(catalog.UnknownBookError, match="no book"):
        catalog.get_book("not-a-book")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (2300, "usd", "$23.00"),
        (5, "usd", "$0.05"),
        (123450, "eur", "€1,234.50"),
        (500, "jpy", "¥500"),
        (-150, "usd", "-$1.50"),
        (1000, "sek", "10.00 SEK"),
        (0, "usd", "$0.00"),
    ],
)
def test_format_amount(amount, currency, text):
    assert money.format_amount(amount, currency) == text


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("5", "usd", 500), ("5.5", "usd", 550), ("$1,234.50", "usd", 123450), ("500", "jpy", 500), (" 0.05 ", "usd", 5)],
)
def test_to_minor_units(text, currency, minor):
    assert money.to_minor_units(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "what_to_type"),
    [
        ("abc", "usd", "type a number such as 5.00"),
        ("1.005", "usd", "USD amounts take at most 2 decimals"),
        ("5.5", "jpy", "JPY amounts take no decimals"),
        ("inf", "usd", "Type a finite amount such as 5.00"),
    ],
)
def test_to_minor_units_refusals_say_what_to_type(text, currency, what_to_type):
    with pytest.raises(ValueError, match=what_to_type):
        money.to_minor_units(text, currency)


@given(st.integers(min_value=0, max_value=10**9))
def test_display_and_parse_round_trip(amount):
    assert money.to_minor_units(money.format_amount(amount, "usd"), "usd") == amount


def test_zero_decimal_currencies():
    assert money.is_zero_decimal("JPY")
    assert not money.is_zero_decimal("usd")
    assert (money.minor_unit_factor("jpy"), money.minor_unit_factor("usd")) == (1, 100)


@pytest.mark.parametrize("book", catalog.all_books(), ids=lambda book: book.id)
def test_every_cover_is_well_formed_svg_with_title_and_author(book):
    root = ET.fromstring(covers.cover_svg(book))
    assert root.tag.endswith("svg")
    words = " ".join(root.itertext())
    assert book.author.upper() in words
    assert book.title.split()[0] in words
    assert root.find("{http://www.w3.org/2000/svg}rect").get("fill") == book.colour


def test_cover_data_uri_decodes_to_the_svg():
    uri = covers.cover_data_uri("art-of-doing-science")
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert "RICHARD HAMMING" in svg


@pytest.mark.parametrize("book_id", ["art-of-doing-science", "making-of-prince-of-persia", "working-in-public"])
def test_long_titles_are_wrapped_not_cut_mid_word(book_id):
    book = catalog.get_book(book_id)
    title_block = ET.fromstring(covers.cover_svg(book)).find("{http://www.w3.org/2000/svg}text")
    lines = [span.text for span in title_block.iter("{http://www.w3.org/2000/svg}tspan")]
    assert len(lines) >= 2  # each of these titles is longer than a cover line
    assert " ".join(lines) == book.title  # every word kept, in order, none split across lines
