"""The Charges page's KPI cards: each figure of the period beside its change from the period before."""

from __future__ import annotations

import streamlit as st

from shop import analytics
from shop.money import format_amount


def _money_delta(current: int | None, previous: int | None) -> str | None:
    if current is None or previous is None:
        return None
    diff = current - previous
    text = ("+" if diff >= 0 else "-") + format_amount(abs(diff))
    change = analytics.change(current, previous)
    return text + (f" ({change:+.1%})" if change is not None else "")


def kpi_cards(kpis: analytics.Kpis) -> None:
    """Six metric cards in two rows for `kpis`; no change is shown when there is no earlier data to compare."""
    versus = kpis.comparison.label
    comparable = kpis.comparison.kind != "none"

    now, before = kpis.current, kpis.previous
    rate = f"{now.success_rate:.1%}" if now.success_rate is not None else "–"
    rate_delta = (
        f"{(now.success_rate - before.success_rate) * 100:+.1f} pp"
        if now.success_rate is not None and before.success_rate is not None
        else None
    )
    metrics = [
        (
            "Gross volume",
            format_amount(now.gross),
            _money_delta(now.gross, before.gross),
            "normal",
            "Captured amount of successful charges created in the period.",
        ),
        (
            "Refunded",
            format_amount(now.refunded),
            _money_delta(now.refunded, before.refunded),
            "inverse",
            "Refunded on the captured charges of the period (counted in the period of the charge).",
        ),
        (
            "Net volume",
            format_amount(now.net),
            _money_delta(now.net, before.net),
            "normal",
            "Gross volume minus refunded.",
        ),
        (
            "Succeeded",
            f"{now.succeeded:,}",
            f"{now.succeeded - before.succeeded:+,}",
            "normal",
            "Successful charges (captured or authorized only).",
        ),
        ("Success rate", rate, rate_delta, "normal", "Succeeded / (succeeded + failed) charges."),
        (
            "Average order value",
            format_amount(now.average_order_value) if now.average_order_value is not None else "–",
            _money_delta(now.average_order_value, before.average_order_value),
            "normal",
            "Gross volume / successful captured charges.",
        ),
    ]
    columns = [*st.columns(3), *st.columns(3)]  # two rows: six metrics in one row truncate the amounts
    for column, (label, value, delta, colour, help_text) in zip(columns, metrics, strict=True):
        # Without a comparison neither the change nor its "vs …" text: the caption below says it once.
        shown, description = (delta, versus) if comparable else (None, None)
        column.metric(
            label, value, shown, delta_color=colour, help=help_text, delta_description=description, border=True
        )
    if kpis.comparison.kind in ("none", "partial"):
        st.caption(versus[0].upper() + versus[1:])
