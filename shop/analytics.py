"""The numbers finance and analysts share: charges as a pandas frame, filters, KPIs, failures, refunds.

Pure pandas over the synced store (`shop.sync`): the ops pages and the notebooks call these same functions, so a
number on a page and in a notebook is the same number. Money stays in integer minor units; times are UTC.

Definitions (the KPI help texts on the Charges page repeat them):
- gross volume: captured amount of successful charges created in the period;
- refunded: amount refunded on those captured charges (counted in the period of the charge);
- net volume: gross volume minus refunded;
- succeeded: successful charges (captured or not); success rate: succeeded / (succeeded + failed);
- average order value: gross volume / successful captured charges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa

from shop import catalog, orders, payments, sync
from shop.db import get_engine
from shop.money import minor_unit_factor, to_major
from shop.sync import charges, refunds

# Display statuses of a charge, the values of the Charges page's status filter.
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUNDED = "refunded"
PARTIALLY_REFUNDED = "partially refunded"
UNCAPTURED = "uncaptured"
PENDING = "pending"
STATUSES = (SUCCEEDED, FAILED, REFUNDED, PARTIALLY_REFUNDED, UNCAPTURED, PENDING)

CHARGE_COLUMNS = (
    "id",
    "created",
    "amount",
    "amount_captured",
    "amount_refunded",
    "currency",
    "status",
    "captured",
    "refunded",
    "failure_code",
    "failure_message",
    "decline_code",
    "card_brand",
    "card_last4",
    "receipt_email",
    "customer_name",
    "order_id",
    "book_id",
    "quantity",
)

# Short ranges are charted by hour, longer ones by day.
HOURLY_UP_TO = timedelta(days=2)

DECLINES_DOC = "https://docs.stripe.com/declines/codes"
ERRORS_DOC = "https://docs.stripe.com/error-codes"


@dataclass(frozen=True)
class CodeAdvice:
    """What a failure code means and what to do about it (facts from Stripe's decline and error code docs)."""

    explanation: str
    next_step: str
    doc_url: str


FAILURE_CODES: dict[str, CodeAdvice] = {
    "insufficient_funds": CodeAdvice(
        "The card does not have enough funds for the purchase.",
        "Ask the customer to use another card or another payment method.",
        f"{DECLINES_DOC}#insufficient_funds",
    ),
    "generic_decline": CodeAdvice(
        "The issuer declined the card without saying why.",
        "Ask the customer to call their bank, or to pay with another card.",
        f"{DECLINES_DOC}#generic_decline",
    ),
    "lost_card": CodeAdvice(
        "The card was reported lost.",
        "Do not retry. Tell the customer only that the card was declined (not why).",
        f"{DECLINES_DOC}#lost_card",
    ),
    "stolen_card": CodeAdvice(
        "The card was reported stolen.",
        "Do not retry. Tell the customer only that the card was declined (not why).",
        f"{DECLINES_DOC}#stolen_card",
    ),
    "card_velocity_exceeded": CodeAdvice(
        "The customer went over the balance, credit limit or transaction count allowed on the card.",
        "Ask the customer to contact their bank, or to use another card.",
        f"{DECLINES_DOC}#card_velocity_exceeded",
    ),
    "do_not_honor": CodeAdvice(
        "The issuer declined the card without saying why.",
        "Ask the customer to call their bank, or to pay with another card.",
        f"{DECLINES_DOC}#do_not_honor",
    ),
    "fraudulent": CodeAdvice(
        "Stripe suspects fraud (Radar blocked the payment or the issuer flagged it).",
        "Do not retry. Review the payment in Radar; tell the customer only that the card was declined.",
        f"{DECLINES_DOC}#fraudulent",
    ),
    "expired_card": CodeAdvice(
        "The card has expired.",
        "Ask the customer to use another card.",
        f"{DECLINES_DOC}#expired_card",
    ),
    "incorrect_cvc": CodeAdvice(
        "The security code (CVC) does not match the card.",
        "Ask the customer to try again with the correct CVC.",
        f"{DECLINES_DOC}#incorrect_cvc",
    ),
    "incorrect_number": CodeAdvice(
        "The card number is incorrect.",
        "Ask the customer to check the number and try again.",
        f"{DECLINES_DOC}#incorrect_number",
    ),
    "processing_error": CodeAdvice(
        "An error occurred while the card was processed.",
        "Let the customer try again; if it keeps failing, try later or use another card.",
        f"{DECLINES_DOC}#processing_error",
    ),
    "highest_risk_level": CodeAdvice(
        "Radar blocked the payment: Stripe rated its fraud risk highest.",
        "Do not retry. Review the payment in Radar; tell the customer only that the card was declined.",
        "https://docs.stripe.com/radar/risk-evaluation",
    ),
    "elevated_risk_level": CodeAdvice(
        "Radar rated the payment's fraud risk elevated and a rule blocked it.",
        "Review the payment in Radar before asking the customer to try again.",
        "https://docs.stripe.com/radar/risk-evaluation",
    ),
    "card_declined": CodeAdvice(
        "The card was declined (no finer reason given).",
        "Ask the customer to contact their bank, or to use another card.",
        f"{ERRORS_DOC}#card-declined",
    ),
    "card_not_supported": CodeAdvice(
        "The card does not support this kind of purchase.",
        "Ask the customer to contact their bank, or to use another card.",
        f"{DECLINES_DOC}#card_not_supported",
    ),
}
UNKNOWN_CODE = CodeAdvice(
    "Stripe gave no code this shop knows.", "Look the charge up in the Stripe Dashboard.", DECLINES_DOC
)


def advice_for(code: str | None) -> CodeAdvice:
    """Explanation, suggested next step and documentation link for a decline or failure code."""
    return FAILURE_CODES.get(code or "", UNKNOWN_CODE)


# ---------------------------------------------------------------------------------------------- loading


def _book_titles() -> dict[str, str]:
    return {book.id: book.title for book in catalog.all_books()}


def load_charges(engine: sa.Engine | None = None, *, since_seq: int | None = None) -> pd.DataFrame:
    """Every synced charge as a frame (one query, only the columns the pages use), newest first.

    With `since_seq`, only the charges stored by syncs after that data version (see `sync.data_version`).
    Adds `created_at` (UTC datetime), `display_status` (see STATUSES), `book` (title) and `code` (decline code,
    else failure code). Money columns stay integer minor units.
    """
    engine = engine or get_engine()
    sync.ensure_schema(engine)
    statement = sa.select(*(charges.c[name] for name in CHARGE_COLUMNS))
    if since_seq is not None:
        # No ORDER BY: SQLite then reads the few changed rows through the sync_seq index (merge_charges sorts).
        statement = statement.where(charges.c.sync_seq > since_seq)
    else:
        statement = statement.order_by(charges.c.created.desc())
    with engine.connect() as conn:
        rows = conn.execute(statement).fetchall()
    # Column lists, not DataFrame.from_records: records of SQLAlchemy rows take a slow per-row path (7x here).
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in CHARGE_COLUMNS]
    frame = pd.DataFrame({name: list(values) for name, values in zip(CHARGE_COLUMNS, columns, strict=True)})
    return prepare_charges(frame)


def merge_charges(base: pd.DataFrame, changed: pd.DataFrame) -> pd.DataFrame:
    """`base` with the charges of `changed` added or replaced (same id), newest first."""
    if changed.empty:
        return base
    kept = base[~base["id"].isin(changed["id"])]
    merged = pd.concat([changed, kept], ignore_index=True)
    return merged.sort_values("created", ascending=False, kind="stable", ignore_index=True)


class ChargesCopy:
    """The synced charges held in memory, reloading only the rows that later syncs stored.

    A page server keeps one per database: the first call loads every charge; after a sync that changed 3 charges,
    the next call reads those 3 rows, not 100,000. Thread-safe; callers must not modify the returned frame.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.version: int | None = None
        self.frame: pd.DataFrame | None = None
        self._lock = threading.Lock()

    def current(self) -> pd.DataFrame:
        """The charges as of the store's current data version."""
        version = sync.data_version(self.engine)  # read first: rows stored meanwhile are picked up next time
        with self._lock:
            if self.frame is None or self.version is None or version < self.version:
                self.frame = load_charges(self.engine)
            elif version != self.version:
                self.frame = merge_charges(self.frame, load_charges(self.engine, since_seq=self.version))
            self.version = version
            return self.frame


def prepare_charges(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed columns and the derived ones (`created_at`, `display_status`, `book`, `code`) for a raw frame."""
    frame = frame.copy()
    for name in ("amount", "amount_captured", "amount_refunded", "created"):
        frame[name] = frame[name].fillna(0).astype("int64")
    for name in ("captured", "refunded"):
        frame[name] = frame[name].fillna(False).astype(bool)
    frame["quantity"] = pd.array(frame["quantity"], dtype="Int64")
    frame["created_at"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    frame["display_status"] = display_status(frame)
    titles = _book_titles()
    frame["book"] = frame["book_id"].map(titles).fillna(frame["book_id"]).fillna("")
    frame["code"] = frame["decline_code"].where(frame["decline_code"].notna(), frame["failure_code"])
    frame["receipt_email"] = frame["receipt_email"].fillna("")
    frame["customer_name"] = frame["customer_name"].fillna("")
    return frame


def display_status(frame: pd.DataFrame) -> pd.Series:
    """One status per charge as finance reads it: failed, refunded, partially refunded, uncaptured, succeeded."""
    status = pd.Series(PENDING, index=frame.index, dtype="object")
    succeeded = frame["status"] == "succeeded"
    status[succeeded] = SUCCEEDED
    status[succeeded & ~frame["captured"]] = UNCAPTURED
    status[succeeded & frame["captured"] & (frame["amount_refunded"] > 0)] = PARTIALLY_REFUNDED
    status[
        frame["refunded"]
        | (
            succeeded
            & (frame["amount_refunded"] >= frame["amount_captured"])
            & frame["captured"]
            & (frame["amount_refunded"] > 0)
        )
    ] = REFUNDED
    status[frame["status"] == "failed"] = FAILED
    return status


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


@dataclass(frozen=True)
class Kpis:
    """Totals for the chosen period and for the previous period of the same length."""

    current: Totals
    previous: Totals
    start: datetime
    end: datetime


def totals(frame: pd.DataFrame) -> Totals:
    """Gross, refunded, net, succeeded/failed counts, success rate and average order value of `frame`."""
    succeeded = frame["status"] == "succeeded"
    captured = succeeded & frame["captured"]
    gross = int(frame.loc[captured, "amount_captured"].sum())
    refunded = int(frame.loc[captured, "amount_refunded"].sum())
    succeeded_count = int(succeeded.sum())
    failed_count = int((frame["status"] == "failed").sum())
    attempts = succeeded_count + failed_count
    captured_count = int(captured.sum())
    return Totals(
        gross=gross,
        refunded=refunded,
        net=gross - refunded,
        succeeded=succeeded_count,
        failed=failed_count,
        success_rate=succeeded_count / attempts if attempts else None,
        average_order_value=round(gross / captured_count) if captured_count else None,
    )


def kpis(frame: pd.DataFrame, start: datetime, end: datetime) -> Kpis:
    """Totals of charges created in [start, end) and in the period of the same length just before it.

    `frame` should already carry the non-date filters (use `filter_charges(..., with_dates=False)`).
    """
    length = end - start
    created = frame["created_at"]
    now_rows = frame[(created >= pd.Timestamp(start)) & (created < pd.Timestamp(end))]
    before_rows = frame[(created >= pd.Timestamp(start - length)) & (created < pd.Timestamp(start))]
    return Kpis(totals(now_rows), totals(before_rows), start, end)


TOTALS_INTEGER_COLUMNS = ["gross", "refunded", "net", "succeeded", "failed"]


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
    """Customers (by receipt email) with two or more successful charges: receipt_email, orders, gross.

    Most orders first, then most gross volume.
    """
    paying = frame[frame["status"] == SUCCEEDED]
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
    out["amount_major"] = _major(out["amount"])
    return out.sort_values(["bucket", "display_status"], ignore_index=True)


def failure_rate_series(frame: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Attempts, failures and failure rate per bucket (hour or day). Columns: bucket, attempts, failed, rate."""
    unit = "h" if bucket_size(start, end) == "hour" else "D"
    decided = frame[frame["status"].isin(["succeeded", "failed"])]
    if decided.empty:
        return pd.DataFrame({"bucket": [], "attempts": [], "failed": [], "rate": []})
    buckets = decided["created_at"].dt.floor(unit).rename("bucket")
    grouped = (decided["status"] == "failed").groupby(buckets)
    out = pd.DataFrame({"attempts": grouped.size(), "failed": grouped.sum().astype("int64")}).reset_index()
    out["rate"] = out["failed"] / out["attempts"]
    return out


def failures_by_code(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed charges per code (decline code, else failure code), most frequent first, with Stripe's advice.

    Columns: code, count, share (of failures), amount, explanation, next_step, doc_url.
    """
    failed = frame[frame["status"] == "failed"]
    columns = ["code", "count", "share", "amount", "explanation", "next_step", "doc_url"]
    if failed.empty:
        return pd.DataFrame({name: [] for name in columns})
    codes = failed["code"].fillna("unknown")
    out = failed.groupby(codes.rename("code"))["amount"].agg(count="size", amount="sum").reset_index()
    out["share"] = out["count"] / len(failed)
    out["explanation"] = [advice_for(code).explanation for code in out["code"]]
    out["next_step"] = [advice_for(code).next_step for code in out["code"]]
    out["doc_url"] = [advice_for(code).doc_url for code in out["code"]]
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
    with_order = frame[frame["order_id"].notna() & (frame["order_id"] != "")]
    with_order = with_order.assign(
        card=with_order["card_brand"].fillna("?") + " " + with_order["card_last4"].fillna("????")
    )
    failed = with_order[with_order["status"] == "failed"]
    won = with_order[with_order["status"] == "succeeded"]
    if failed.empty or won.empty:
        return pd.DataFrame({name: [] for name in columns})
    first_win = won.sort_values("created").groupby("order_id", as_index=False).first()
    fails = failed.merge(
        first_win[["order_id", "created_at", "card", "amount_captured"]], on="order_id", suffixes=("", "_won")
    )
    fails = fails[fails["created_at"] < fails["created_at_won"]]
    if fails.empty:
        return pd.DataFrame({name: [] for name in columns})
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


# ---------------------------------------------------------------------------------------------- refunds


def refund_history(engine: sa.Engine | None = None, *, charge_id: str | None = None) -> pd.DataFrame:
    """Synced refunds, newest first, with the charge's email, order and book.

    Columns: id, created_at, amount, currency, reason, status, charge_id, receipt_email, order_id, book.
    """
    engine = engine or get_engine()
    statement = (
        sa.select(
            refunds.c.id,
            refunds.c.created,
            refunds.c.amount,
            refunds.c.currency,
            refunds.c.reason,
            refunds.c.status,
            refunds.c.charge_id,
            charges.c.receipt_email,
            charges.c.order_id,
            charges.c.book_id,
        )
        .select_from(refunds.outerjoin(charges, charges.c.id == refunds.c.charge_id))
        .order_by(refunds.c.created.desc())
    )
    if charge_id:
        statement = statement.where(refunds.c.charge_id == charge_id)
    with engine.connect() as conn:
        rows = conn.execute(statement).fetchall()
    names = [
        "id",
        "created",
        "amount",
        "currency",
        "reason",
        "status",
        "charge_id",
        "receipt_email",
        "order_id",
        "book_id",
    ]
    frame = pd.DataFrame.from_records(rows, columns=names)
    frame["created_at"] = pd.to_datetime(frame["created"].astype("int64"), unit="s", utc=True)
    frame["book"] = frame["book_id"].map(_book_titles()).fillna(frame["book_id"])
    return frame[
        ["id", "created_at", "amount", "currency", "reason", "status", "charge_id", "receipt_email", "order_id", "book"]
    ]


def charge_amounts(frame: pd.DataFrame, charge_id: str) -> payments.ChargeAmounts:
    """The refund-relevant facts of one charge of a charges frame, as plain Python values for shop.payments."""
    row = frame[frame["id"] == charge_id].iloc[0]
    return payments.ChargeAmounts(
        id=str(row["id"]),
        status=str(row["status"]),
        currency=str(row["currency"]),
        amount=int(row["amount"]),
        amount_captured=int(row["amount_captured"]),
        amount_refunded=int(row["amount_refunded"]),
        captured=bool(row["captured"]),
        refunded=bool(row["refunded"]),
    )


def find_charges(frame: pd.DataFrame, query: str, limit: int = 50) -> pd.DataFrame:
    """Charges whose ID, order number or receipt email matches `query` (exact ID/order, else email part)."""
    needle = query.strip()
    if not needle:
        return frame.head(0)
    exact = frame[(frame["id"] == needle) | (frame["order_id"].fillna("").str.upper() == needle.upper())]
    if not exact.empty:
        return exact.head(limit)
    return frame[frame["receipt_email"].str.lower().str.contains(needle.lower(), regex=False)].head(limit)


# ---------------------------------------------------------------------------------------------- tables


def _major(amounts: pd.Series, currency: str = "usd") -> pd.Series:
    """Minor units as major-unit floats, for display columns only (sums are done on the integers)."""
    return amounts.astype("int64") / minor_unit_factor(currency)


def charges_table(frame: pd.DataFrame, dashboard_url: Callable[[str], str | None] | None = None) -> pd.DataFrame:
    """The Charges page's table: one row per charge, money in dollars for display, card as "visa •••• 4242"."""
    table = pd.DataFrame(
        {
            "Created": frame["created_at"],
            "Charge": frame["id"],
            "Status": frame["display_status"],
            "Amount": _major(frame["amount"]),
            "Refunded": _major(frame["amount_refunded"]),
            "Customer": frame["customer_name"],
            "Email": frame["receipt_email"],
            "Book": frame["book"],
            "Qty": frame["quantity"],
            "Order": frame["order_id"],
            "Card": card_label(frame),
            "Code": frame["code"],
        }
    )
    if dashboard_url is not None:
        table["Stripe"] = [dashboard_url(charge_id) for charge_id in frame["id"]]
    return table.reset_index(drop=True)


def card_label(frame: pd.DataFrame) -> pd.Series:
    """ "visa •••• 4242" per row ("" when the charge has no card details)."""
    brand = frame["card_brand"].fillna("")
    last4 = frame["card_last4"].fillna("")
    return (brand + " •••• " + last4).where(last4 != "", brand)


CSV_COLUMNS = (
    "id",
    "created_utc",
    "display_status",
    "amount",
    "amount_captured",
    "amount_refunded",
    "currency",
    "customer_name",
    "receipt_email",
    "book",
    "quantity",
    "order_id",
    "card_brand",
    "card_last4",
    "failure_code",
    "decline_code",
    "failure_message",
)


def charges_csv(frame: pd.DataFrame) -> bytes:
    """CSV of exactly the rows of `frame`; amounts as decimals in major units ("23.00"), times in UTC ISO."""
    out = frame.assign(created_utc=frame["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for name in ("amount", "amount_captured", "amount_refunded"):
        out[name] = [
            str(to_major(int(value), currency)) for value, currency in zip(out[name], out["currency"], strict=True)
        ]
    return out[list(CSV_COLUMNS)].to_csv(index=False).encode("utf-8")


def orders_frame(order_list: list[orders.Order]) -> pd.DataFrame:
    """Orders as a table for the Orders page: money in dollars for display, times in UTC."""
    titles = _book_titles()

    def when(seconds: int | None) -> pd.Timestamp | None:
        return pd.Timestamp(seconds, unit="s", tz="UTC") if seconds else None

    return pd.DataFrame(
        {
            "Created": [when(order.created) for order in order_list],
            "Order": [order.id for order in order_list],
            "Status": [orders.status_label(order.status) for order in order_list],
            "Customer": [order.customer.name for order in order_list],
            "Email": [order.customer.email for order in order_list],
            "Book": [titles.get(order.book_id, order.book_id) for order in order_list],
            "Qty": [order.quantity for order in order_list],
            "Amount": [order.amount / minor_unit_factor(order.currency) for order in order_list],
            "Refunded": [order.amount_refunded / minor_unit_factor(order.currency) for order in order_list],
            "Charge": [order.charge_id or "" for order in order_list],
            "Shipped": [when(order.shipped_at) for order in order_list],
        },
        columns=[
            "Created",
            "Order",
            "Status",
            "Customer",
            "Email",
            "Book",
            "Qty",
            "Amount",
            "Refunded",
            "Charge",
            "Shipped",
        ],
    )


def failed_attempts_table(failed: pd.DataFrame) -> pd.DataFrame:
    """The Failures page's table of failed charges: time, customer, book, amount, card, code, message."""
    return pd.DataFrame(
        {
            "Time": failed["created_at"],
            "Customer": failed["customer_name"],
            "Email": failed["receipt_email"],
            "Book": failed["book"],
            "Amount": _major(failed["amount"]),
            "Card": card_label(failed),
            "Code": failed["code"],
            "Message": failed["failure_message"],
            "Order": failed["order_id"],
            "Charge": failed["id"],
        }
    ).reset_index(drop=True)


def recovered_table(recovered: pd.DataFrame) -> pd.DataFrame:
    """The Failures page's table of recovered orders, with the time to recover in minutes."""
    return pd.DataFrame(
        {
            "Order": recovered["order_id"],
            "First failure": recovered["first_failed_at"],
            "Succeeded": recovered["succeeded_at"],
            "Minutes to recover": (recovered["time_to_recover"].dt.total_seconds() / 60).round(1),
            "Failed attempts": recovered["failed_attempts"],
            "Failed card": recovered["failed_card"],
            "Paid with": recovered["succeeded_card"],
            "Amount": _major(recovered["amount"]),
        }
    )


def refunds_table(history: pd.DataFrame) -> pd.DataFrame:
    """The Refunds page's history table (money in dollars for display)."""
    return pd.DataFrame(
        {
            "Created": history["created_at"],
            "Refund": history["id"],
            "Amount": _major(history["amount"]),
            "Reason": history["reason"].fillna("").str.replace("_", " "),
            "Status": history["status"],
            "Charge": history["charge_id"],
            "Email": history["receipt_email"],
            "Order": history["order_id"],
            "Book": history["book"],
        }
    )
