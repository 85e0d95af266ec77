"""Book covers drawn as SVG from a book's title, subtitle, author and colours (no image downloads).

The layout follows the spare style of Stripe Press covers: a solid background, a thin accent frame, the title in
a large serif set in wrapped lines, the subtitle smaller beneath it, and the author at the foot.
"""

from __future__ import annotations

import base64
import functools
import textwrap
from xml.sax.saxutils import escape

from shop.catalog import Book, get_book

WIDTH = 240
HEIGHT = 360


def _lines(text: str, width: int, max_lines: int) -> list[str]:
    """Wrap `text` to at most `max_lines` lines of about `width` characters, ending with … when cut."""
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ,.:;") + "…"
    return lines


def _text_block(lines: list[str], x: int, y: int, size: int, leading: float, **attrs: str) -> str:
    extra = " ".join(f'{name.replace("_", "-")}="{value}"' for name, value in attrs.items())
    spans = "".join(
        f'<tspan x="{x}" dy="{0 if i == 0 else round(size * leading)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{x}" y="{y}" font-size="{size}" {extra}>{spans}</text>'


def cover_svg(book: Book) -> str:
    """An SVG document (WIDTH × HEIGHT) of the cover of `book`."""
    title_size = 26 if len(book.title) <= 24 else 22
    title_lines = _lines(book.title, 14 if title_size == 26 else 17, 5)
    subtitle_lines = _lines(book.subtitle, 28, 3) if book.subtitle else []
    title_y = 78
    subtitle_y = title_y + round(title_size * 1.15) * len(title_lines) + 14
    serif = "Georgia, 'Times New Roman', serif"
    sans = "'Helvetica Neue', Arial, sans-serif"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(book.full_title)} by {escape(book.author)}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{book.colour}"/>',
        f'<rect x="12" y="12" width="{WIDTH - 24}" height="{HEIGHT - 24}" fill="none" '
        f'stroke="{book.accent}" stroke-width="1.5" opacity="0.8"/>',
        f'<line x1="28" y1="52" x2="72" y2="52" stroke="{book.accent}" stroke-width="3"/>',
        _text_block(
            title_lines, 28, title_y, title_size, 1.15, fill=book.accent, font_family=serif, font_weight="bold"
        ),
    ]
    if subtitle_lines:
        parts.append(
            _text_block(subtitle_lines, 28, subtitle_y, 12, 1.35, fill=book.accent, font_family=sans, opacity="0.85")
        )
    parts += [
        _text_block(
            [book.author.upper()], 28, HEIGHT - 52, 12, 1.2, fill=book.accent, font_family=sans, letter_spacing="1.5"
        ),
        _text_block(
            ["STRIPE PRESS"],
            28,
            HEIGHT - 30,
            9,
            1.2,
            fill=book.accent,
            font_family=sans,
            letter_spacing="2",
            opacity="0.7",
        ),
        "</svg>",
    ]
    return "".join(parts)


@functools.cache
def cover_data_uri(book_id: str) -> str:
    """The cover of a catalog book as a `data:image/svg+xml;base64,…` URI (for st.image or an <img>)."""
    svg = cover_svg(get_book(book_id))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
