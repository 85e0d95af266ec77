"""Currencies Stripe accepts here, their minor units and minimum charge amounts."""

from __future__ import annotations

# Currencies with no minor unit: amounts are whole units.
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip

# Minimum charge per currency in its minor unit (Stripe's documented minimums).
MINIMUM: dict[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500, "dkk": 250,
    "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300,
    "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip

SUPPORTED = set(MINIMUM) | ZERO_DECIMAL | {"zar", "ils", "twd", "php", "idr", "cny", "isk", "try", "kes"}

SYMBOL = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "$", "aud": "$", "nzd": "$", "sgd": "$"}

MAXIMUM = 99_999_999  # eight digits in the minor unit


def display(amount: int, currency: str) -> str:
    """`$0.50`, `¥50`, `15.00 czk`-style text for error messages and receipts."""
    symbol = SYMBOL.get(currency, "")
    text = f"{amount:,}" if currency in ZERO_DECIMAL else f"{amount // 100:,}.{amount % 100:02d}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
