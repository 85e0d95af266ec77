"""The one CSV writer for every download: a spreadsheet must never run a customer's text as a formula.

OWASP's CSV injection rule: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
Excel, LibreOffice and Sheets as a formula (`=HYPERLINK(…)` can send the row to another site), so such a cell is
written with a leading single quote, which makes the spreadsheet show it as text.
(https://owasp.org/www-community/attacks/CSV_Injection)
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number ("-5.00") is data a spreadsheet should keep as a number; it cannot call anything.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(value: object) -> object:
    """`value`, with a leading quote when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV (RFC 4180: CRLF line ends) without its index, every text cell neutralised."""
    # CRLF as the line end also makes the writer quote a cell holding a lone carriage return, which it leaves bare
    # with "\n" (a spreadsheet would then split the row in two).
    return frame.map(neutralise).to_csv(index=False, lineterminator="\r\n").encode("utf-8")
