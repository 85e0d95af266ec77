"""How finance tables look: one column format per kind of value, and one table call that applies them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from shop import export

# Amounts on the finance pages are in USD major units for display; times are UTC.
TIME_COLUMN = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", timezone="UTC")
DAY_COLUMN = st.column_config.DatetimeColumn(format="YYYY-MM-DD", timezone="UTC")
MONEY_COLUMN = st.column_config.NumberColumn(format="dollar")
SMALL_NUMBER_COLUMN = st.column_config.NumberColumn(width="small")
WIDE_TEXT_COLUMN = st.column_config.TextColumn(width="large")


def table(frame: pd.DataFrame, *, csv_name: str | None = None, **column_config: Any) -> None:
    """A full-width finance table without its index; `column_config` maps column names to formats.

    With `csv_name`, a "Download CSV" button above it gives exactly these rows (shop.export: formulas neutralised;
    money columns as decimals with two places, times in UTC ISO).
    """
    if csv_name is not None:
        csv_download(frame, column_config, csv_name)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config)


def csv_download(frame: pd.DataFrame, column_config: dict[str, Any], csv_name: str) -> None:
    """A "Download CSV" button for exactly the rows of `frame`, written as `csv_frame` shows them."""
    st.download_button(
        "Download CSV",
        icon=":material/download:",
        data=lambda: export.csv_bytes(csv_frame(frame, column_config)),
        file_name=f"{csv_name}.csv",
        mime="text/csv",
        on_click="ignore",
        disabled=frame.empty,
        key=f"csv_{csv_name}",
    )


def csv_frame(frame: pd.DataFrame, column_config: dict[str, Any]) -> pd.DataFrame:
    """The table as its CSV shows it: money as "23.00", times as "2026-12-02T05:40:00Z"."""
    out = frame.copy()
    for name, config in column_config.items():
        if name not in out:
            continue
        if config is MONEY_COLUMN:
            out[name] = [f"{value:.2f}" if pd.notna(value) else "" for value in out[name]]
        elif config in (TIME_COLUMN, DAY_COLUMN) and pd.api.types.is_datetime64_any_dtype(out[name]):
            out[name] = out[name].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
