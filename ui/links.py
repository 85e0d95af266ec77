"""Links to the charge detail page, and tables whose rows open it.

The detail is `/charge?id=<ch_, pi_ or order number>`. A LinkColumn opens its link in a new browser tab, which is
a new session (signed out again without SSO), so the finance tables open the detail in the same session instead:
selecting a row (`st.dataframe` row selection) switches to the page with the id as its query parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from ui.formats import csv_download

CHARGE_PAGE = "pages/charge.py"
CHARGE_URL_PATH = "charge"
_GENERATION_KEY = "charge_links_generation"


def charge_detail_url(charge_id: str) -> str:
    """The charge detail page's address for a charge id (or pi_ id, or order number), relative to the app."""
    return f"{CHARGE_URL_PATH}?id={quote(str(charge_id), safe='')}"


def open_charge(charge_id: str) -> None:
    """Switch this session to the charge detail page of `charge_id`."""
    # A new generation of table keys: the selection that led here is not replayed when the user comes back.
    st.session_state[_GENERATION_KEY] = st.session_state.get(_GENERATION_KEY, 0) + 1
    st.switch_page(CHARGE_PAGE, query_params={"id": charge_id})


def charge_rows_table(
    frame: pd.DataFrame, charge_ids: Sequence[Any], key: str, *, csv_name: str | None = None, **column_config: Any
) -> None:
    """A full-width table (as ui.formats.table) where selecting a row opens that row's charge (`charge_ids`,
    aligned with the rows; a row without a charge opens nothing); with `csv_name`, its CSV download above it."""
    if csv_name is not None:
        csv_download(frame, column_config, csv_name)
    generation = st.session_state.get(_GENERATION_KEY, 0)
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config=column_config,
        on_select="rerun",
        selection_mode="single-row",
        key=f"{key}_{generation}",
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        charge_id = list(charge_ids)[rows[0]]
        if isinstance(charge_id, str) and charge_id:
            open_charge(charge_id)
