"""Money as integer minor units, and its display.

Stripe amounts are integers in the currency's smallest unit: cents for USD, whole yen for JPY (a zero-decimal
currency). Everything in the shop keeps that form; only display and parsing of typed amounts live here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Stripe's zero-decimal currencies (docs: "Zero-decimal currencies").
ZERO_DECIMAL_CURRENCIES = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "chf": "CHF "}


def is_zero_decimal(currency: str) -> bool:
    """True when the currency has no minor unit (amounts are whole units, e.g. JPY)."""
    return currency.lower() in ZERO_DECIMAL_CURRENCIES


def minor_unit_factor(currency: str) -> int:
    """How many minor units make one major unit: 1 for zero-decimal currencies, else 100."""
    return 1 if is_zero_decimal(currency) else 100


def to_major(amount: int, currency: str = "usd") -> Decimal:
    """Minor units -> an exact Decimal in major units (2300 -> Decimal('23.00'))."""
    factor = minor_unit_factor(currency)
    return (Decimal(amount) / factor).quantize(Decimal(1) if factor == 1 else Decimal("0.01"))


def format_amount(amount: int, currency: str = "usd") -> str:
    """Display an amount in minor units: 2300 usd -> "$23.00", 500 jpy -> "¥500", -150 -> "-$1.50"."""
    code = currency.lower()
    major = to_major(abs(amount), code)
    number = f"{major:,.0f}" if is_zero_decimal(code) else f"{major:,.2f}"
    symbol = SYMBOLS.get(code)
    text = f"{symbol}{number}" if symbol else f"{number} {code.upper()}"
    return f"-{text}" if amount < 0 else text


def to_minor_units(value: str | int | float | Decimal, currency: str = "usd") -> int:
    """Parse an amount typed in major units ("5", "5.5", "$1,234.50") into minor units.

    Raises ValueError with a message saying what to type when the text is not an amount or has more decimals
    than the currency allows.
    """
    text = str(value).strip().replace(",", "")
    for symbol in {*SYMBOLS.values(), "$"}:
        text = text.replace(symbol.strip(), "")
    text = text.strip()
    try:
        major = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount: type a number such as 5.00.") from None
    if not major.is_finite():
        raise ValueError("Type a finite amount such as 5.00.")
    factor = minor_unit_factor(currency)
    minor = major * factor
    if minor != minor.to_integral_value():
        places = "no decimals" if factor == 1 else "at most 2 decimals"
        raise ValueError(f"{currency.upper()} amounts take {places}: {value!r} has more.")
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))
