"""The analyst notebooks' tables as people read them: money in dollars, periods named and marked when cut short,
durations in words, times without "+00:00".

The notebooks' code cells call these, so the shaping is tested here and not retyped in a cell. Numbers are the
ones `metrics` computes (minor units in the headline dicts the notebook tests compare); only units and labels
change on the way to the reader.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

import pandas as pd

from shop.analytics.disputes import DisputeEffect
from shop.analytics.failures import FailureCounts, week_label
from shop.analytics.loading import major_units
from shop.analytics.methods import BankDebitOutcomes, payment_method_mix
from shop.analytics.metrics import Kpis, RecoverySummary, Totals, change, totals_by, week_of
from shop.analytics.tables import duration_text
from shop.decline_codes import BANK_DEBIT_MARK
from shop.money import format_amount, minor_unit_factor

# Columns of a `totals_by` table that hold money in minor units, shown in dollars.
MONEY_COLUMNS = ("gross", "refunded", "net", "fees", "net_after_fees", "average_order_value")
FEES_MISSING = "charges without a fee yet"  # `fees_unknown`, when there are any


def stamp(times: pd.Series) -> pd.Series:
    """UTC times as "2026-11-16 12:05 UTC" (no "+00:00"); missing times as an empty string."""
    return times.dt.strftime("%Y-%m-%d %H:%M UTC").fillna("")


def in_dollars(table: pd.DataFrame, currency: str = "usd") -> pd.DataFrame:
    """A `totals_by` table with net after fees beside net, every money column in dollars (float), the success rate
    kept as a fraction; `fees_unknown` only when some charge has no fee yet (then named FEES_MISSING)."""
    shown = table.copy()
    if {"net", "fees"} <= set(shown.columns):
        shown.insert(shown.columns.get_loc("fees") + 1, "net_after_fees", shown["net"] - shown["fees"])
    for column in MONEY_COLUMNS:
        if column in shown:
            shown[column] = shown[column].astype("float64") / minor_unit_factor(currency)  # a missing AOV: NaN
    if "fees_unknown" in shown:
        unknown = shown.pop("fees_unknown")
        if unknown.any():
            shown[FEES_MISSING] = unknown
    return shown


def _period_name(first: pd.Timestamp, days: int, start: datetime, end: datetime) -> str:
    """ "2026-11-09" for a whole period, "2026-11-09 (part: 14–15 Nov)" for one cut by [start, end)."""
    period_end = first + pd.Timedelta(days=days)
    shown_from, shown_to = max(first, pd.Timestamp(start)), min(period_end, pd.Timestamp(end))
    name = f"{first:%Y-%m-%d}"
    if shown_from == first and shown_to == period_end:
        return name
    last_day = shown_to - pd.Timedelta(days=1)
    return f"{name} (part: {shown_from:%d %b}–{last_day:%d %b})"


def weekly_totals(frame: pd.DataFrame, start: datetime, end: datetime, currency: str = "usd") -> pd.DataFrame:
    """`totals_by` week (Monday 00:00 UTC) in dollars (`in_dollars`), indexed by "week of" names: a week that
    [start, end) cuts short is marked "(part: first–last day)", so its smaller sums do not read as a bad week."""
    weekly = in_dollars(totals_by(frame, week_of(frame["created_at"])), currency)
    weekly.index = pd.Index([_period_name(week, 7, start, end) for week in weekly.index], name="week of")
    return weekly


def daily_totals(frame: pd.DataFrame, currency: str = "usd") -> pd.DataFrame:
    """`totals_by` day (UTC) in dollars (`in_dollars`), indexed by the day's date."""
    daily = in_dollars(totals_by(frame, frame["created_at"].dt.floor("D").rename("day")), currency)
    daily.index = pd.Index([day.date() for day in daily.index], name="day")
    return daily


def money_flows(daily: pd.DataFrame) -> pd.DataFrame:
    """A `daily_totals` table as rows for a chart of money in and out: day, measure (gross, refunded drawn below
    zero), usd; net is drawn as a line from `daily_totals` itself."""
    days = pd.to_datetime(pd.Series(daily.index, name="day"))
    return pd.concat(
        [
            pd.DataFrame({"day": days, "measure": "gross", "usd": daily["gross"].to_numpy()}),
            pd.DataFrame({"day": days, "measure": "refunded", "usd": -daily["refunded"].to_numpy()}),
        ],
        ignore_index=True,
    )


def weekly_points(weekly: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row a week for a chart with one tick a week: week (its name), and `column`."""
    return pd.DataFrame({"week": weekly.index, column: weekly[column].to_numpy()})


def revenue_headline(
    kpis: Kpis, in_range: pd.DataFrame, effect: DisputeEffect, repeat: pd.DataFrame, first_day: date, last_day: date
) -> dict:
    """The revenue notebook's numbers (money in minor units), as its tests compare them with the Charges page."""
    now = kpis.current
    paying = in_range.loc[(in_range["status"] == "succeeded") & in_range["captured"], "receipt_email"]
    return {
        "start_date": first_day.isoformat(),
        "end_date": last_day.isoformat(),
        "gross": now.gross,
        "refunded": now.refunded,
        "net": now.net,
        "fees": now.fees,
        "net_after_fees": now.net_after_fees,
        "disputes": effect.open_count + effect.won + effect.lost,
        "disputes_effect_on_net": effect.net,
        "succeeded": now.succeeded,
        "failed": now.failed,
        "success_rate": now.success_rate,
        "average_order_value": now.average_order_value,
        "customers": int(paying.dropna().nunique()),
        "repeat_customers": len(repeat),
        "payments_by_method": {row.method: int(row.payments) for row in payment_method_mix(in_range).itertuples()},
    }


_SUMMARY_ROWS = {
    "Gross volume": "gross",
    "Refunded": "refunded",
    "Net volume": "net",
    "Stripe fees": "fees",
    "Net after fees": "net_after_fees",
    "Average order value": "average_order_value",
}


def revenue_summary(kpis: Kpis) -> pd.DataFrame:
    """This range beside the previous one: money in dollars, successful charges as a count, the change in words."""

    def values(totals: Totals) -> dict:
        return {**asdict(totals), "net_after_fees": totals.net_after_fees}

    now, before = values(kpis.current), values(kpis.previous)
    rows = {
        label: (format_amount(now[key] or 0), format_amount(before[key] or 0), key)
        for label, key in _SUMMARY_ROWS.items()
    }
    rows["Successful charges"] = (f"{now['succeeded']:,}", f"{before['succeeded']:,}", "succeeded")
    return pd.DataFrame(
        {
            "this range": [shown for shown, _, _ in rows.values()],
            "previous range": [shown for _, shown, _ in rows.values()],
            "change": [_change_text(change(now[key], before[key])) for _, _, key in rows.values()],
        },
        index=list(rows),
    )


def _change_text(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:+.1%}"


def failures_headline(
    counts: FailureCounts,
    codes: pd.DataFrame,
    recovery: RecoverySummary,
    recovered: pd.DataFrame,
    first_day: date,
    last_day: date,
    debits: BankDebitOutcomes | None = None,
) -> dict:
    """The failures notebook's numbers, as its tests compare them with the Failures page: `failed` counts failed
    charges and failed attempts without a charge (`failed_without_charge`), as the page does; with `debits`, how
    the range's bank debits ended (`debits_headline`)."""
    minutes = recovered["time_to_recover"].dt.total_seconds() / 60 if len(recovered) else pd.Series(dtype=float)
    return {
        "start_date": first_day.isoformat(),
        "end_date": last_day.isoformat(),
        "failed": counts.failed,
        "failed_without_charge": counts.failed_without_charge,
        "succeeded": counts.succeeded,
        "failure_rate": counts.rate,
        "top_code": codes["code"].iloc[0] if len(codes) else None,
        "failed_orders": recovery.failed_orders,
        "recovered_orders": recovery.recovered,
        "recovery_rate": recovery.rate,
        "recovered_amount": recovery.recovered_amount,
        "median_minutes_to_recover": float(minutes.median()) if len(minutes) else None,
        **(debits_headline(debits) if debits is not None else {}),
    }


def debits_headline(debits: BankDebitOutcomes) -> dict:
    """How the range's bank debits ended, for the failures headline: decided, returned and their share."""
    return {
        "debits_decided": debits.decided,
        "debits_returned": debits.returned,
        "debit_return_share": debits.returned_share,
        "debits_processing": debits.processing,
    }


def debits_summary(debits: BankDebitOutcomes) -> pd.DataFrame:
    """The bank debits' outcome as the failures notebook prints it: counts, the returned share, money in dollars."""
    share = debits.returned_share
    return pd.DataFrame(
        {
            "value": [
                f"{debits.decided:,}",
                f"{debits.returned:,}" + ("" if share is None else f" ({share:.0%})"),
                format_amount(debits.returned_amount),
                f"{debits.processing:,}",
            ]
        },
        index=["Debits the bank answered", "Returned by the bank", "Returned volume", "Still processing"],
    )


def debit_returns(codes: pd.DataFrame) -> pd.DataFrame:
    """The bank debits' return codes among `failures_by_code`'s (marked `BANK_DEBIT_MARK`), most frequent first."""
    return codes[codes["code"].str.endswith(BANK_DEBIT_MARK)]


def mix_for_reading(mix: pd.DataFrame, currency: str = "usd") -> pd.DataFrame:
    """`payment_method_mix` with the amount in dollars, for the revenue notebook's table."""
    return mix.assign(amount=major_units(mix["amount"], currency)).set_index("method")


def failures_summary(headline: dict, recovered: pd.DataFrame) -> pd.DataFrame:
    """The failures headline as sentences' values: counts, the rate, money in dollars, the median wait in words."""
    rate, recovery_rate = headline["failure_rate"], headline["recovery_rate"]
    return pd.DataFrame(
        {
            "value": [
                f"{headline['failed']:,} ({headline['failed_without_charge']:,} before a charge was made)",
                "–" if rate is None else f"{rate:.1%}",
                headline["top_code"] or "–",
                f"{headline['recovered_orders']:,} of {headline['failed_orders']:,}"
                + ("" if recovery_rate is None else f" ({recovery_rate:.0%})"),
                format_amount(headline["recovered_amount"]),
                "–" if recovered.empty else duration_text(recovered["time_to_recover"].median()),
            ]
        },
        index=[
            "Failed attempts",
            "Failure rate",
            "Most frequent code",
            "Failed orders recovered",
            "Recovered volume",
            "Median time to recover",
        ],
    )


def recovered_for_reading(recovered: pd.DataFrame, currency: str = "usd") -> pd.DataFrame:
    """`recovered_orders` with times as "2026-11-16 12:05 UTC", the wait in words, the amount in dollars."""
    return recovered.assign(
        first_failed_at=stamp(recovered["first_failed_at"]),
        succeeded_at=stamp(recovered["succeeded_at"]),
        time_to_recover=recovered["time_to_recover"].map(duration_text),
        amount=major_units(recovered["amount"], currency),
    )


def codes_for_reading(codes: pd.DataFrame, currency: str = "usd") -> pd.DataFrame:
    """`failures_by_code` with the amount in dollars and without the docs link column."""
    return codes.assign(amount=major_units(codes["amount"], currency))[
        ["code", "count", "share", "amount", "explanation", "next_step"]
    ]


def weekly_failure_points(weekly: pd.DataFrame) -> pd.DataFrame:
    """`weekly_failure_rate` with each week named ("week of 16 Nov (part)"), for a chart with one tick a week."""
    names = [week_label(week, cut) for week, cut in zip(weekly["week_of"], weekly["partial"], strict=True)]
    return weekly.assign(week=names)


def disputes_summary(effect: DisputeEffect, net_after_fees: int) -> pd.DataFrame:
    """Disputes opened in the range and what they did to net (withdrawn minus reinstated, plus the fees kept)."""
    return pd.DataFrame(
        {
            "value": [
                f"{effect.open_count:,} open, {effect.won:,} won, {effect.lost:,} lost",
                format_amount(effect.disputed),
                format_amount(effect.net),
                format_amount(net_after_fees + effect.net),
            ]
        },
        index=["Disputes", "Amount disputed", "Effect on net", "Net after fees and disputes"],
    )
