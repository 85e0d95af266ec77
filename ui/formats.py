"""How finance tables look: one column format per kind of value, and one table call that applies them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

# Amounts on the finance pages are in USD major units for display; times are UTC.
TIME_COLUMN = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", timezone="UTC")
DAY_COLUMN = st.column_config.DatetimeColumn(format="YYYY-MM-DD", timezone="UTC")
MONEY_COLUMN = st.column_config.NumberColumn(format="dollar")
SMALL_NUMBER_COLUMN = st.column_config.NumberColumn(width="small")
WIDE_TEXT_COLUMN = st.column_config.TextColumn(width="large")


def table(frame: pd.DataFrame, **column_config: Any) -> None:
    """A full-width finance table without its index; `column_config` maps column names to formats."""
    st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config)
