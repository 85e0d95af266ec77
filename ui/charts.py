"""The finance pages' charts (Altair specs), kept apart from the pages that place them."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from shop import analytics

STATUS_COLOURS = {
    analytics.SUCCEEDED: "#2e9e5b",
    analytics.PARTIALLY_REFUNDED: "#e0a030",
    analytics.REFUNDED: "#8a8f98",
    analytics.UNCAPTURED: "#5b7bd5",
    analytics.FAILED: "#d64545",
    analytics.PENDING: "#c5c9d0",
}
FAILURE_RED = "#d64545"
ATTEMPTS_GREY = "#c5c9d0"


def _bucket_format(unit: str) -> str:
    """Tooltips' dates, the month in words: "02 Dec 2026 14:00", "02 Dec 2026"."""
    return "%d %b %Y %H:%M" if unit == "hour" else "%d %b %Y"


def _time_axis(unit: str) -> alt.Axis:
    """Every chart's time axis in one format, the month in words: "02 Dec 14:00" by hour, "02 Dec" by day."""
    return alt.Axis(format="%d %b %H:%M" if unit == "hour" else "%d %b", labelAngle=0)


def volume_by_status(series: pd.DataFrame, unit: str) -> alt.Chart:
    """Stacked bars of charged amount per time bucket and status (see shop.analytics.volume_series)."""
    return (
        alt.Chart(series, title=f"Volume by {unit} and status (UTC)")
        .mark_bar()
        .transform_calculate(stack_rank=f"indexof({json.dumps(list(STATUS_COLOURS))}, datum.display_status)")
        .encode(
            order=alt.Order("stack_rank:Q"),  # succeeded at the bottom, failed on top
            x=alt.X("bucket:T", title=None, axis=_time_axis(unit)),
            y=alt.Y("sum(amount_major):Q", title="Amount ($)", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "display_status:N",
                title="Status",
                scale=alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values())),
            ),
            tooltip=[
                alt.Tooltip("bucket:T", title=unit.capitalize(), format=_bucket_format(unit)),
                alt.Tooltip("display_status:N", title="Status"),
                alt.Tooltip("amount_major:Q", title="Amount", format="$,.2f"),
                alt.Tooltip("count:Q", title="Charges"),
            ],
        )
        .properties(height=260)
    )


def failure_rate(rate: pd.DataFrame, unit: str) -> alt.LayerChart:
    """The failure rate per time bucket over the attempts it is a share of (see analytics.failure_rate_series).

    The bars give the volume, so a 100% failure rate of one attempt does not read like a hundred failures.
    """
    base = alt.Chart(rate, title=f"Failure rate and attempts by {unit} (UTC)").encode(
        x=alt.X("bucket:T", title=None, axis=_time_axis(unit)),
        tooltip=[
            alt.Tooltip("bucket:T", title=unit.capitalize(), format=_bucket_format(unit)),
            alt.Tooltip("attempts:Q", title="Attempts"),
            alt.Tooltip("failed:Q", title="Failed"),
            alt.Tooltip("rate:Q", title="Rate", format=".1%"),
        ],
    )
    attempts = base.mark_bar(color=ATTEMPTS_GREY, opacity=0.7).encode(
        y=alt.Y("attempts:Q", title="Attempts", axis=alt.Axis(orient="right", tickMinStep=1, format="d"))
    )
    line = base.mark_line(point=alt.OverlayMarkDef(color=FAILURE_RED), color=FAILURE_RED).encode(
        y=alt.Y("rate:Q", title="Failure rate", axis=alt.Axis(format="%"))
    )
    return alt.layer(attempts, line).resolve_scale(y="independent").properties(height=260)


def weekly_failure_rate(rate: pd.DataFrame) -> alt.LayerChart:
    """The failure rate per week over its attempts (see analytics.weekly_failure_rate): one tick per week, named
    by its Monday, a week cut by the period's start or end marked "(part)"."""
    labels = [analytics.week_label(week, cut) for week, cut in zip(rate["week_of"], rate["partial"], strict=True)]
    rate = rate.assign(week=labels)
    order = list(rate.sort_values("week_of")["week"])
    base = alt.Chart(rate, title="Failure rate and attempts by week (UTC)").encode(
        x=alt.X("week:O", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
        tooltip=[
            alt.Tooltip("week:O", title="Week"),
            alt.Tooltip("attempts:Q", title="Attempts"),
            alt.Tooltip("failed:Q", title="Failed"),
            alt.Tooltip("rate:Q", title="Rate", format=".1%"),
        ],
    )
    attempts = base.mark_bar(color=ATTEMPTS_GREY, opacity=0.7).encode(
        y=alt.Y("attempts:Q", title="Attempts", axis=alt.Axis(orient="right", tickMinStep=1, format="d"))
    )
    line = base.mark_line(point=alt.OverlayMarkDef(color=FAILURE_RED), color=FAILURE_RED).encode(
        y=alt.Y("rate:Q", title="Failure rate", axis=alt.Axis(format="%"))
    )
    return alt.layer(attempts, line).resolve_scale(y="independent").properties(height=260)


def failures_by_code(codes: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of failed attempts per decline or failure code (see shop.analytics.failures_by_code)."""
    return (
        alt.Chart(codes, title="Failed attempts by code")
        .mark_bar(color=FAILURE_RED)
        .encode(
            x=alt.X("count:Q", title="Failed attempts", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("code:N", title=None, sort="-x", axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            tooltip=[
                alt.Tooltip("code:N", title="Code"),
                alt.Tooltip("count:Q", title="Attempts"),
                alt.Tooltip("share:Q", title="Share", format=".0%"),
                alt.Tooltip("explanation:N", title="Meaning"),
            ],
        )
        .properties(height=alt.Step(24))  # one row per code, every label shown
    )
