"""The numbers finance and analysts share: charges as a pandas frame, filters, KPIs, failures, refunds.

Pandas over the synced store (`shop.sync`), and the same numbers as SQL aggregates for the Charges page
(`in_database`, held equal to the pandas ones by its tests): the ops pages and the notebooks call these same
functions, so a number on a page and in a notebook is the same number. Money stays in integer minor units; times
are UTC.

`loading` reads the store into frames (only the rows asked for), `metrics` computes the numbers, `methods`
the payment-method mix and how bank debits ended, `failures` adds the failed payments that made no charge (a
failed 3-D Secure check) and the weekly failure rate, `tables` shapes frames for display and export, `reading` for
the notebooks (dollars, named weeks, waits in words); every public name is importable from `shop.analytics`
itself. What a failure code means comes from `shop.decline_codes`.

Definitions (the KPI help texts on the Charges page repeat them):
- gross volume: captured amount of successful charges created in the period;
- refunded: amount refunded on those captured charges (counted in the period of the charge);
- net volume: gross volume minus refunded;
- fees: Stripe's processing fees of those captured charges (their balance transactions); net after fees: net
  volume minus fees;
- refunds by issue day (an option, the Stripe Dashboard's way): refunded is every refund issued in the period of
  a selected captured charge, failed or canceled refunds left out;
- succeeded: successful charges (captured or not); success rate: succeeded / (succeeded + failed);
- average order value: gross volume / successful captured charges.
"""

from __future__ import annotations

from shop.analytics import in_database
from shop.analytics.failures import (
    WITHOUT_CHARGE_COLUMNS,
    FailureCounts,
    failed_without_charge_table,
    failure_counts,
    failure_rate_series,
    load_failed_without_charge,
    week_label,
    weekly_failure_rate,
)
from shop.analytics.loading import (
    CHARGE_COLUMNS,
    FAILED,
    PARTIALLY_REFUNDED,
    PENDING,
    REFUNDED,
    STATUSES,
    SUCCEEDED,
    UNCAPTURED,
    book_titles,
    charges_frame_of,
    count_charges,
    display_status,
    first_created,
    load_charges,
    major_units,
    prepare_charges,
    refund_history,
)
from shop.analytics.methods import MIX_COLUMNS, BankDebitOutcomes, bank_debit_outcomes, payment_method_mix
from shop.analytics.metrics import (
    HOURLY_UP_TO,
    REFUNDS_BY_CHARGE_DAY,
    REFUNDS_BY_ISSUE_DAY,
    TOTALS_INTEGER_COLUMNS,
    ChargeFilter,
    Comparison,
    Kpis,
    ParameterError,
    RecoverySummary,
    RefundTotal,
    Totals,
    bucket_size,
    change,
    comparison_window,
    date_presets,
    day_start,
    failures_by_code,
    filter_charges,
    issued_refunds,
    kpis,
    net_series,
    notebook_range,
    period_bounds,
    processing,
    recovered_orders,
    recovery_summary,
    refund_total,
    refunds_between,
    repeat_customers,
    totals,
    totals_by,
    uncaptured,
    volume_series,
    week_of,
)
from shop.analytics.tables import (
    CSV_COLUMNS,
    card_label,
    charge_amounts,
    charges_csv,
    charges_table,
    duration_text,
    failed_attempts_table,
    find_charges,
    orders_frame,
    recovered_table,
    refunds_table,
)

__all__ = [
    "CHARGE_COLUMNS",
    "CSV_COLUMNS",
    "FAILED",
    "HOURLY_UP_TO",
    "MIX_COLUMNS",
    "PARTIALLY_REFUNDED",
    "PENDING",
    "REFUNDED",
    "REFUNDS_BY_CHARGE_DAY",
    "REFUNDS_BY_ISSUE_DAY",
    "STATUSES",
    "SUCCEEDED",
    "TOTALS_INTEGER_COLUMNS",
    "UNCAPTURED",
    "WITHOUT_CHARGE_COLUMNS",
    "BankDebitOutcomes",
    "ChargeFilter",
    "Comparison",
    "FailureCounts",
    "Kpis",
    "ParameterError",
    "RecoverySummary",
    "RefundTotal",
    "Totals",
    "bank_debit_outcomes",
    "book_titles",
    "bucket_size",
    "card_label",
    "change",
    "charge_amounts",
    "charges_csv",
    "charges_frame_of",
    "charges_table",
    "comparison_window",
    "count_charges",
    "date_presets",
    "day_start",
    "display_status",
    "duration_text",
    "failed_attempts_table",
    "failed_without_charge_table",
    "failure_counts",
    "failure_rate_series",
    "failures_by_code",
    "filter_charges",
    "find_charges",
    "first_created",
    "in_database",
    "issued_refunds",
    "kpis",
    "load_charges",
    "load_failed_without_charge",
    "major_units",
    "net_series",
    "notebook_range",
    "orders_frame",
    "payment_method_mix",
    "period_bounds",
    "prepare_charges",
    "processing",
    "recovered_orders",
    "recovered_table",
    "recovery_summary",
    "refund_history",
    "refund_total",
    "refunds_between",
    "refunds_table",
    "repeat_customers",
    "totals",
    "totals_by",
    "uncaptured",
    "volume_series",
    "week_label",
    "week_of",
    "weekly_failure_rate",
]
