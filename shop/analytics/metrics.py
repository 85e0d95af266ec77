"""The numbers over a charges frame: filters and periods, totals and KPIs, chart series, failures, recovery."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from shop import payment_methods
from shop.analytics.loading import PENDING, SUCCEEDED, UNCAPTURED, major_units
from shop.decline_codes import BANK_DEBIT_MARK, advice_for

# Short ranges are charted by hour, longer ones by day.
HOURLY_UP_TO = timedelta(days=2)

# ---------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class ChargeFilter:
    """What the Charges page's filters select. `start` inclusive, `end` exclusive (UTC); None = unbounded.

    Amounts are minor units; `email` matches part of the receipt email or customer name, case-insensitive.
    """

    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()
    email: str = ""
    book_ids: tuple[str, ...] = ()
    min_amount: int | None = None
    max_amount: int | None = None
    codes: tuple[str, ...] = field(default=())


def filter_charges(frame: pd.DataFrame, chosen: ChargeFilter, *, with_dates: bool = True) -> pd.DataFrame:
    """The rows of `frame` that `chosen` selects (dates only when `with_dates`, so KPIs can compare periods)."""
    mask = pd.Series(True, index=frame.index)
    if with_dates and chosen.start is not None:
        mask &= frame["created_at"] >= pd.Timestamp(chosen.start)
    if with_dates and chosen.end is not None:
        mask &= frame["created_at"] < pd.Timestamp(chosen.end)
    if chosen.statuses:
        mask &= frame["display_status"].isin(chosen.statuses)
    if chosen.email.strip():
        needle = chosen.email.strip().lower()
        mask &= frame["receipt_email"].str.lower().str.contains(needle, regex=False) | frame[
            "customer_name"
        ].str.lower().str.contains(needle, regex=False)
    if chosen.book_ids:
        mask &= frame["book_id"].isin(chosen.book_ids)
    if chosen.min_amount is not None:
        mask &= frame["amount"] >= chosen.min_amount
    if chosen.max_amount is not None:
        mask &= frame["amount"] <= chosen.max_amount
    if chosen.codes:
        mask &= frame["code"].isin(chosen.codes)
    return frame if mask.all() else frame[mask]  # no copy of a large frame when nothing is filtered out


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def date_presets(now: datetime | None = None) -> dict[str, tuple[date, date]]:
    """Named date ranges (first day, last day, both inclusive) for the date filter, ending today (UTC)."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return {
        "Today": (today, today),
        "Last 7 days": (today - timedelta(days=6), today),
        "Last 30 days": (today - timedelta(days=29), today),
        "Last 90 days": (today - timedelta(days=89), today),
        "Month to date": (today.replace(day=1), today),
        "Last 12 months": (today - timedelta(days=364), today),
    }


class ParameterError(ValueError):
    """A notebook parameter that cannot be used; its message says what to write instead.

    Jupyter and papermill show only that sentence (IPython's `_render_traceback_`), not a traceback.
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def _parse_day(name: str, value: object) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ParameterError(
            f'{name} = {value!r} is not a date: write it as "YYYY-MM-DD", for example "2026-01-31", '
            "or None for the default."
        ) from None


def notebook_range(start_date: object, end_date: object, now: datetime | None = None) -> tuple[date, date]:
    """The first and last day (inclusive) a notebook's `start_date` / `end_date` parameters name.

    None (or empty) means the Charges page's default: the last 30 days ending `end_date` (default today, UTC).
    Raises ParameterError with a sentence for a value that is not a YYYY-MM-DD date or a range that ends first.
    """
    default_first, default_last = date_presets(now)["Last 30 days"]
    last_day = _parse_day("end_date", end_date) or default_last
    first_day = _parse_day("start_date", start_date) or last_day - (default_last - default_first)
    if first_day > last_day:
        raise ParameterError(
            f"start_date ({first_day}) is after end_date ({last_day}): the range must start on or before its last day."
        )
    return first_day, last_day


def period_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC for a range of whole days, both days included."""
    return day_start(first_day), day_start(last_day) + timedelta(days=1)


# ---------------------------------------------------------------------------------------------- KPIs


@dataclass(frozen=True)
class Totals:
    """The headline numbers for one period (money in minor units, rate in 0..1 or None without attempts)."""

    gross: int
    refunded: int
    net: int
    succeeded: int
    failed: int
    success_rate: float | None
    average_order_value: int | None
    # Stripe's processing fees on the captured charges (from their balance transactions), and how many captured
    # charges have no fee in the copy yet (synced before their transaction): the fees are then a lower bound.
    fees: int = 0
    fees_unknown: int = 0

    @property
    def net_after_fees(self) -> int:
        """Net volume less Stripe's fees: what reaches the balance."""
        return self.net - self.fees


# How refunds are dated in the totals: on the day of the charge they refund (the default: a period's refunded is
# what was refunded of its charges), or on the day each refund was issued (the Stripe Dashboard's way).
REFUNDS_BY_CHARGE_DAY = "charge"
REFUNDS_BY_ISSUE_DAY = "issued"
# Refunds that did not give money back (docs.stripe.com/api/refunds/object#refund_object-status).
REFUND_UNDONE = ("failed", "canceled")


@dataclass(frozen=True)
class Comparison:
    """What the previous period of a KPI comparison covers, in words for the cards.

    kind: "full" (a whole period of the same length), "so_far" (the period is still running: the same stretch of
    the one before), "partial" (the store's charges begin inside the previous period) or "none" (no charge before
    the period: nothing to compare with, so no change is shown).
    """

    kind: str
    label: str


@dataclass(frozen=True)
class Kpis:
    """Totals for the chosen period and for the previous period of the same length (see `comparison`)."""

    current: Totals
    previous: Totals
    start: datetime
    end: datetime
    comparison: Comparison


def totals(frame: pd.DataFrame) -> Totals:
    """Gross, refunded, net, succeeded/failed counts, success rate and average order value of `frame`."""
    succeeded = frame["status"] == "succeeded"
    captured = succeeded & frame["captured"]
    fee = frame.loc[captured, "fee"] if "fee" in frame else pd.Series(dtype="Int64")
    return totals_of(
        gross=int(frame.loc[captured, "amount_captured"].sum()),
        refunded=int(frame.loc[captured, "amount_refunded"].sum()),
        captured=int(captured.sum()),
        succeeded=int(succeeded.sum()),
        failed=int((frame["status"] == "failed").sum()),
        fees=int(fee.sum()) if len(fee) else 0,
        fees_unknown=int(fee.isna().sum()),
    )


def totals_of(
    *, gross: int, refunded: int, captured: int, succeeded: int, failed: int, fees: int, fees_unknown: int
) -> Totals:
    """`Totals` from the sums it is made of (`captured`: how many captured charges gross counts), wherever they
    were summed: pandas here, the database in `in_database`. Net, success rate and average order value follow."""
    attempts = succeeded + failed
    return Totals(
        gross=gross,
        refunded=refunded,
        net=gross - refunded,
        succeeded=succeeded,
        failed=failed,
        success_rate=succeeded / attempts if attempts else None,
        average_order_value=round(gross / captured) if captured else None,
        fees=fees,
        fees_unknown=fees_unknown,
    )


def _days(length: timedelta) -> str:
    days = round(length / timedelta(days=1))
    return f"{days} day{'s' if days != 1 else ''}"


def comparison_window(
    frame: pd.DataFrame,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    earliest: datetime | None = None,
) -> tuple[datetime, datetime, Comparison]:
    """The previous period [from, to) that [start, end) is compared with, and what it covers (see
    `comparison_since`): the oldest charge is `earliest` when given (the store's first charge, see
    `first_created`, for a frame of only the two periods), else `frame`'s."""
    if earliest is None:
        earliest = frame["created_at"].min() if len(frame) else None
    return comparison_since(earliest, start, end, now)


def comparison_since(
    earliest: datetime | None, start: datetime, end: datetime, now: datetime | None = None
) -> tuple[datetime, datetime, Comparison]:
    """The previous period [from, to) that [start, end) is compared with, given the oldest selected charge.

    A period still running (Today, Month to date) is compared with the same stretch of the period before it, not
    with all of it; a previous period before the first charge (`earliest`) is said to be empty or partial.
    """
    now = now or datetime.now(UTC)
    length = end - start
    before_start, before_end = start - length, start
    label = f"vs the previous {_days(length)}"
    kind = "full"
    if start < now < end:
        elapsed = now - start
        before_end = before_start + elapsed
        kind = "so_far"
        if length == timedelta(days=1):
            label = "vs yesterday until the same time"
        else:
            label = f"vs the previous {_days(length)} until the same point"
    if earliest is None or pd.Timestamp(earliest) >= pd.Timestamp(before_end):
        return before_start, before_end, Comparison("none", "No earlier charges to compare with.")
    if pd.Timestamp(earliest) > pd.Timestamp(before_start):
        label += f" (charges only since {earliest:%d %b %Y})"
        kind = "partial"
    return before_start, before_end, Comparison(kind, label)


def issued_refunds(frame: pd.DataFrame, refunds: pd.DataFrame) -> pd.DataFrame:
    """The refunds (see `refund_history`) that gave back money of the captured charges in `frame`: every refund
    except failed or canceled ones."""
    captured_ids = frame.loc[(frame["status"] == "succeeded") & frame["captured"], "id"]
    kept = refunds["charge_id"].isin(captured_ids) & ~refunds["status"].isin(REFUND_UNDONE)
    return refunds[kept]


def _refunds_in(refunds: pd.DataFrame, start: datetime, end: datetime) -> int:
    created = refunds["created_at"]
    return int(refunds.loc[(created >= pd.Timestamp(start)) & (created < pd.Timestamp(end)), "amount"].sum())


def kpis(
    frame: pd.DataFrame,
    start: datetime,
    end: datetime,
    refunds: pd.DataFrame | None = None,
    *,
    now: datetime | None = None,
    earliest: datetime | None = None,
) -> Kpis:
    """Totals of charges created in [start, end) and in the previous period (see `comparison_window`).

    `frame` should already carry the non-date filters (use `filter_charges(..., with_dates=False)`). With
    `refunds` (a `refund_history` frame), refunds count on the day they were issued (REFUNDS_BY_ISSUE_DAY): a
    period's refunded is every refund issued in it of a charge that `frame` selects, whenever it was created.
    `earliest`: see `comparison_window`.
    """
    created = frame["created_at"]
    now_rows = frame[(created >= pd.Timestamp(start)) & (created < pd.Timestamp(end))]
    before_start, before_end, comparison = comparison_window(frame, start, end, now, earliest=earliest)
    before_rows = frame[(created >= pd.Timestamp(before_start)) & (created < pd.Timestamp(before_end))]
    current, before = totals(now_rows), totals(before_rows)
    if refunds is not None:
        issued = issued_refunds(frame, refunds)
        current = _with_refunded(current, _refunds_in(issued, start, end))
        before = _with_refunded(before, _refunds_in(issued, before_start, before_end))
    return Kpis(current, before, start, end, comparison)


def _with_refunded(period: Totals, refunded: int) -> Totals:
    return replace(period, refunded=refunded, net=period.gross - refunded)


TOTALS_INTEGER_COLUMNS = ["gross", "refunded", "net", "succeeded", "failed", "fees", "fees_unknown"]


def totals_by(frame: pd.DataFrame, key: str | pd.Series) -> pd.DataFrame:
    """`totals` for each group of rows, one row a group, sorted by the key.

    `key` is a column name or a Series aligned with `frame` (a day, a week, a book): the same definitions as
    the KPIs, so a per-day sum of `net` equals the period's net volume.
    """
    columns = [f.name for f in fields(Totals)]
    keys = frame[key] if isinstance(key, str) else key
    rows = {group: asdict(totals(part)) for group, part in frame.groupby(keys, sort=True)}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = keys.name
    return table.astype(
        {**dict.fromkeys(TOTALS_INTEGER_COLUMNS, "int64"), "success_rate": "float64", "average_order_value": "Int64"}
    )


def week_of(created_at: pd.Series) -> pd.Series:
    """The Monday (00:00 UTC) of the week of each time: the key for weekly totals."""
    day = created_at.dt.floor("D")
    return (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).rename("week_of")


def repeat_customers(frame: pd.DataFrame) -> pd.DataFrame:
    """Customers (by receipt email) with two or more paid charges: receipt_email, orders, gross.

    Paid means captured, as gross volume counts it: an authorization never captured took no money. Most orders
    first, then most gross volume.
    """
    paying = frame[(frame["status"] == SUCCEEDED) & frame["captured"]]
    per_email = totals_by(paying, "receipt_email")
    repeat = per_email[per_email["succeeded"] >= 2].reset_index()
    table = repeat[["receipt_email", "succeeded", "gross"]].rename(columns={"succeeded": "orders"})
    return table.sort_values(["orders", "gross"], ascending=False, ignore_index=True)


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change from `previous` to `current` (0.25 = +25 %), None when there is nothing to compare."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


# ---------------------------------------------------------------------------------------------- charts


def bucket_size(start: datetime, end: datetime) -> str:
    """ "hour" for ranges up to two days, else "day"."""
    return "hour" if end - start <= HOURLY_UP_TO else "day"


def volume_series(frame: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Charge amount and count per bucket (hour or day) and display status, for a stacked chart.

    Columns: bucket (UTC datetime), display_status, amount (minor units), count, amount_major (for charts).
    """
    unit = "h" if bucket_size(start, end) == "hour" else "D"
    if frame.empty:
        return pd.DataFrame({"bucket": [], "display_status": [], "amount": [], "count": [], "amount_major": []})
    buckets = frame["created_at"].dt.floor(unit)
    grouped = frame.groupby([buckets.rename("bucket"), frame["display_status"]], observed=True)
    out = grouped["amount"].agg(amount="sum", count="size").reset_index()
    out["amount_major"] = major_units(out["amount"])
    return out.sort_values(["bucket", "display_status"], ignore_index=True)


def net_series(
    frame: pd.DataFrame, start: datetime, end: datetime, refunds: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Gross, refunded, fees and net after fees per bucket (hour or day) of [start, end), for the net line.

    The same definitions as `kpis` (with `refunds`, refunds on the day issued), so the buckets add up to the KPIs.
    Columns: bucket, gross, refunded, fees, net_after_fees (minor units), net_major (for charts).
    """
    unit = "h" if bucket_size(start, end) == "hour" else "D"
    created = frame["created_at"]
    rows = frame[(created >= pd.Timestamp(start)) & (created < pd.Timestamp(end))]
    captured = rows[(rows["status"] == "succeeded") & rows["captured"]]
    buckets = captured["created_at"].dt.floor(unit).rename("bucket")
    grouped = captured.groupby(buckets)
    out = pd.DataFrame(
        {
            "gross": grouped["amount_captured"].sum(),
            "refunded": grouped["amount_refunded"].sum(),
            "fees": grouped["fee"].sum().astype("int64"),
        }
    )
    if refunds is not None:
        issued = issued_refunds(frame, refunds)
        issued = issued[(issued["created_at"] >= pd.Timestamp(start)) & (issued["created_at"] < pd.Timestamp(end))]
        by_issue = issued.groupby(issued["created_at"].dt.floor(unit).rename("bucket"))["amount"].sum()
        out = out.reindex(out.index.union(by_issue.index), fill_value=0)
        out["refunded"] = by_issue.reindex(out.index, fill_value=0)
    out = out.astype("int64").reset_index()
    if out.empty:
        out = pd.DataFrame({"bucket": pd.Series(dtype="datetime64[ns, UTC]"), "gross": [], "refunded": [], "fees": []})
    out["net_after_fees"] = (out["gross"] - out["refunded"] - out["fees"]).astype("int64")
    out["net_major"] = major_units(out["net_after_fees"])
    return out.sort_values("bucket", ignore_index=True)


def failures_by_code(frame: pd.DataFrame, without_charge: pd.DataFrame | None = None) -> pd.DataFrame:
    """Failed charges per code (decline code, else failure code), most frequent first, with Stripe's advice.

    `without_charge` (`shop.analytics.failures.load_failed_without_charge`) adds the failed attempts that made no
    charge (a failed 3-D Secure check), by their error's code. A failed bank debit's code is marked as one
    ("insufficient_funds (bank debit)", `decline_codes.BANK_DEBIT_MARK`): a bank's return is not a card's decline.
    Columns: code, count, share (of failures), amount, explanation, next_step, doc_url.
    """
    failed = frame.loc[frame["status"] == "failed", ["code", "amount"]]
    bank_debit = frame.loc[failed.index, "card_brand"].isin(payment_methods.BANK_DEBITS)
    codes = failed["code"].fillna("unknown")
    failed["code"] = codes.mask(bank_debit, codes + BANK_DEBIT_MARK)
    if without_charge is not None and len(without_charge):
        failed = pd.concat([failed, without_charge[["code", "amount"]]], ignore_index=True)
    columns = ["code", "count", "share", "amount", "explanation", "next_step", "doc_url"]
    if failed.empty:
        return pd.DataFrame({name: [] for name in columns})
    codes = failed["code"].fillna("unknown")
    out = failed.groupby(codes.rename("code"))["amount"].agg(count="size", amount="sum").reset_index()
    out["share"] = out["count"] / len(failed)
    advice = [advice_for(code) for code in out["code"]]
    out["explanation"] = [entry.explanation for entry in advice]
    out["next_step"] = [entry.next_step for entry in advice]
    out["doc_url"] = [entry.doc_url for entry in advice]
    return out.sort_values(["count", "code"], ascending=[False, True], ignore_index=True)[columns]


# ---------------------------------------------------------------------------------------------- recovery


def recovered_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """Orders that failed and later succeeded with another card (brand or last 4 digits differ).

    Columns: order_id, first_failed_at, succeeded_at, time_to_recover, failed_attempts, amount (captured),
    failed_card, succeeded_card.
    """
    columns = [
        "order_id",
        "first_failed_at",
        "succeeded_at",
        "time_to_recover",
        "failed_attempts",
        "amount",
        "failed_card",
        "succeeded_card",
    ]
    # No recovery keeps the columns' types, so a chart or `.dt` on such a range reads as nothing, not an error.
    moment, wait = frame["created_at"].dtype, "timedelta64[us]"
    kinds = ("str", moment, moment, wait, "int64", "int64", "str", "str")
    empty = pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in zip(columns, kinds, strict=True)})
    with_order = frame[frame["order_id"].notna() & (frame["order_id"] != "")]
    with_order = with_order.assign(
        card=with_order["card_brand"].fillna("?") + " " + with_order["card_last4"].fillna("????")
    )
    failed = with_order[with_order["status"] == "failed"]
    won = with_order[with_order["status"] == "succeeded"]
    if failed.empty or won.empty:
        return empty
    first_win = won.sort_values("created").groupby("order_id", as_index=False).first()
    fails = failed.merge(
        first_win[["order_id", "created_at", "card", "amount_captured"]], on="order_id", suffixes=("", "_won")
    )
    fails = fails[fails["created_at"] < fails["created_at_won"]]
    if fails.empty:
        return empty
    fails = fails.sort_values("created")
    grouped = fails.groupby("order_id")
    out = pd.DataFrame(
        {
            "first_failed_at": grouped["created_at"].min(),
            "succeeded_at": grouped["created_at_won"].first(),
            "failed_attempts": grouped.size(),
            "amount": grouped["amount_captured_won"].first().astype("int64"),
            "failed_card": grouped["card"].last(),
            "succeeded_card": grouped["card_won"].first(),
            "cards_differ": grouped.apply(lambda rows: bool((rows["card"] != rows["card_won"]).any())),
        }
    ).reset_index()
    out = out[out["cards_differ"]].drop(columns="cards_differ")
    if out.empty:
        return empty
    out["time_to_recover"] = out["succeeded_at"] - out["first_failed_at"]
    return out.sort_values("succeeded_at", ascending=False, ignore_index=True)[columns]


@dataclass(frozen=True)
class RecoverySummary:
    """How many orders had a failed payment, how many of them later succeeded with another card, and worth."""

    failed_orders: int
    recovered: int
    recovered_amount: int

    @property
    def rate(self) -> float | None:
        """Share of failed orders recovered (None when no order failed)."""
        return self.recovered / self.failed_orders if self.failed_orders else None


def recovery_summary(frame: pd.DataFrame) -> RecoverySummary:
    """Counts for the Failures page: orders with a failed charge, those recovered with another card, amount."""
    failed_orders = frame.loc[(frame["status"] == "failed") & frame["order_id"].notna(), "order_id"]
    recovered = recovered_orders(frame)
    return RecoverySummary(int(failed_orders.nunique()), len(recovered), int(recovered["amount"].sum()))


def uncaptured(frame: pd.DataFrame) -> tuple[int, int]:
    """How many charges of `frame` are authorized and not captured yet, and their amount in minor units.

    Money held on cards, not taken: `totals` leaves it out of gross and net, and the Charges page shows it apart.
    """
    held = frame["display_status"] == UNCAPTURED
    return int(held.sum()), int(frame.loc[held, "amount"].sum() - frame.loc[held, "amount_refunded"].sum())


def processing(frame: pd.DataFrame) -> tuple[int, int]:
    """How many charges of `frame` are still processing (a bank debit's charge is `pending` for days until the
    bank settles it, docs.stripe.com/payments/ach-direct-debit/accept-a-payment), and their amount in minor units.

    Money not settled yet: in no total until the debit succeeds (then gross) or fails (then a failed attempt).
    """
    pending = frame["display_status"] == PENDING
    return int(pending.sum()), int(frame.loc[pending, "amount"].sum())


# ---------------------------------------------------------------------------------------------- refund history


@dataclass(frozen=True)
class RefundTotal:
    """Refunds issued in a period that gave money back (failed and canceled ones left out): how many, how much."""

    count: int
    amount: int  # minor units


def refunds_between(history: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """The refunds of `history` (`refund_history`) issued in [start, end), newest first."""
    issued = history["created_at"]
    return history[(issued >= pd.Timestamp(start)) & (issued < pd.Timestamp(end))]


def refund_total(history: pd.DataFrame) -> RefundTotal:
    """`RefundTotal` of a refund history: every refund but the failed and canceled ones (REFUND_UNDONE)."""
    given = history[~history["status"].isin(REFUND_UNDONE)]
    return RefundTotal(len(given), int(given["amount"].sum()))
