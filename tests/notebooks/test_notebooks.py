"""The analyst notebooks, executed top to bottom against a freshly seeded emulator, give finance's numbers.

Each notebook's `headline` dict must equal shop.analytics for the same range, the totals recomputed here from the
emulator's own charges, and the KPIs the Charges and Failures pages show.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import nbformat
import papermill
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from streamlit.testing.v1 import AppTest

from shop import analytics, seed
from shop.money import format_amount
from tests.support import ROOT, Emulator, use_emulator
from tests.support_app import sign_in_as_staff, staff_cookie_from_state

NOTEBOOKS = ROOT / "notebooks"
SEED_ORDERS = 60
SEED_DAYS = 30


@pytest.fixture(scope="module")
def seeded(private_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """An emulator of its own with 60 seeded orders, and the environment the notebooks' kernels inherit."""
    data_dir = tmp_path_factory.mktemp("notebook-shop")
    with pytest.MonkeyPatch.context() as patch:
        use_emulator(patch, private_emulator, data_dir)
        report = seed.seed(orders_count=SEED_ORDERS, days=SEED_DAYS, seed_value=21, client=private_emulator.client())
        yield SimpleNamespace(emulator=private_emulator, report=report)


def run_notebook(name: str, **parameters: object) -> dict:
    """Execute a notebook (parameters injected after the "parameters" cell, as papermill does); its headline."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    tagged = [i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert tagged, f"{name} has no cell tagged 'parameters'"
    if parameters:
        injected = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
        notebook.cells.insert(tagged[0] + 1, new_code_cell(injected))
    notebook.cells.append(new_code_cell("import json\nprint(json.dumps(headline))"))
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    drawn = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{name}: {output.get('ename')}: {output.get('evalue')}"
            data = output.get("data", {})
            # A Vega-Lite bundle or HTML would fetch vega from a CDN in the browser: blank charts offline.
            assert not any(kind.startswith("application/vnd.vegalite") for kind in data), f"{name}: CDN chart"
            assert "cdn." not in str(data.get("text/html", "")), f"{name}: output loads a script from a CDN"
            drawn += "image/svg+xml" in data
    charts = sum("alt.Chart(" in cell.source or "alt.layer(" in cell.source for cell in notebook.cells)
    assert drawn >= charts > 0, f"{name}: {charts} chart cells but {drawn} drawn charts"
    return json.loads(notebook.cells[-1].outputs[-1]["text"])


def period(headline: dict) -> tuple:
    return analytics.period_bounds(date.fromisoformat(headline["start_date"]), date.fromisoformat(headline["end_date"]))


def emulator_charges(seeded: SimpleNamespace, start, end) -> list:
    """Charges created in [start, end), listed from the emulator itself (not from the synced store)."""
    params = {"limit": 100, "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())}}
    return list(seeded.emulator.client().v1.charges.list(params=params).auto_paging_iter())


def page_metrics(page: str) -> dict[str, str]:
    """The KPI metrics of an ops page, rendered by the app signed in (default period: last 30 days)."""
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    with staff_cookie_from_state():
        sign_in_as_staff(app)
        app.run()
        app.switch_page(page)
        app.run()
    assert not app.exception, app.exception
    return {metric.label: metric.value for metric in app.metric}


def test_revenue_headline_equals_analytics_the_emulator_and_the_charges_page(seeded: SimpleNamespace) -> None:
    headline = run_notebook("revenue.ipynb")
    first, last = analytics.date_presets()["Last 30 days"]
    assert (headline["start_date"], headline["end_date"]) == (first.isoformat(), last.isoformat())
    start, end = period(headline)

    expected = analytics.kpis(analytics.load_charges(), start, end).current
    assert headline["gross"] == expected.gross
    assert headline["refunded"] == expected.refunded
    assert headline["net"] == expected.net
    assert headline["succeeded"] == expected.succeeded and headline["failed"] == expected.failed
    assert headline["average_order_value"] == expected.average_order_value

    # The same totals straight from the emulator's charges: sync and analytics lost nothing.
    listed = emulator_charges(seeded, start, end)
    captured = [c for c in listed if c.status == "succeeded" and c.captured]
    assert headline["gross"] == sum(c.amount_captured for c in captured) > 0
    assert headline["refunded"] == sum(c.amount_refunded for c in captured) > 0
    assert headline["failed"] == sum(c.status == "failed" for c in listed) > 0
    # Fees from the emulator's own balance transactions of those charges.
    client = seeded.emulator.client()
    fees = sum(client.v1.balance_transactions.retrieve(c.balance_transaction).fee for c in captured)
    assert headline["fees"] == fees > 0
    assert headline["net_after_fees"] == headline["net"] - fees
    # The payment-method mix from the emulator's successful charges: cards and settled bank debits.
    kinds = Counter(c.payment_method_details.type for c in listed if c.status == "succeeded")
    assert headline["payments_by_method"] == {"Card": kinds["card"], "US bank account": kinds["us_bank_account"]}
    assert kinds["us_bank_account"] > 0
    # A customer is a receipt email, else (a Checkout Session's payment) the email the payment method was billed to.
    emails = [c.receipt_email or c.billing_details.email for c in captured]
    assert headline["customers"] == len(set(emails))
    assert headline["repeat_customers"] == sum(emails.count(email) >= 2 for email in set(emails)) > 0

    metrics = page_metrics("pages/charges.py")
    assert metrics["Gross volume"] == format_amount(headline["gross"])
    assert metrics["Refunded"] == format_amount(headline["refunded"])
    assert metrics["Net volume"] == format_amount(headline["net"])
    assert metrics["Succeeded"] == f"{headline['succeeded']:,}"
    assert metrics["Success rate"] == f"{headline['success_rate']:.1%}"
    assert metrics["Average order value"] == format_amount(headline["average_order_value"])
    assert metrics["Fees"] == format_amount(headline["fees"])
    assert metrics["Net after fees"] == format_amount(headline["net_after_fees"])


def test_revenue_for_a_chosen_range(seeded: SimpleNamespace) -> None:
    last = datetime.now(UTC).date() - timedelta(days=3)
    first = last - timedelta(days=6)
    headline = run_notebook("revenue.ipynb", start_date=first.isoformat(), end_date=last.isoformat(), sync_first=False)
    assert (headline["start_date"], headline["end_date"]) == (first.isoformat(), last.isoformat())
    start, end = analytics.period_bounds(first, last)
    listed = emulator_charges(seeded, start, end)
    captured = [c for c in listed if c.status == "succeeded" and c.captured]
    assert headline["gross"] == sum(c.amount_captured for c in captured)
    assert headline["succeeded"] == sum(c.status == "succeeded" for c in listed)
    month = analytics.period_bounds(*analytics.date_presets()["Last 30 days"])
    assert headline["gross"] < analytics.kpis(analytics.load_charges(), *month).current.gross


def test_papermill_runs_the_revenue_notebook_with_its_parameters(seeded: SimpleNamespace, tmp_path: Path) -> None:
    last = datetime.now(UTC).date() - timedelta(days=2)
    first = last - timedelta(days=9)
    # The notebook as committed, plus one cell that prints its headline numbers for this test to read.
    given = nbformat.read(NOTEBOOKS / "revenue.ipynb", as_version=4)
    given.cells.append(new_code_cell("import json\nprint(json.dumps(headline))"))
    source, out = tmp_path / "revenue.ipynb", tmp_path / "revenue-out.ipynb"
    nbformat.write(given, source)
    papermill.execute_notebook(
        str(source),
        str(out),
        parameters={"start_date": first.isoformat(), "end_date": last.isoformat(), "sync_first": False},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    ran = nbformat.read(out, as_version=4)
    headline = json.loads(ran.cells[-1].outputs[-1]["text"])
    assert (headline["start_date"], headline["end_date"]) == (first.isoformat(), last.isoformat())
    start, end = analytics.period_bounds(first, last)
    captured = [c for c in emulator_charges(seeded, start, end) if c.status == "succeeded" and c.captured]
    assert headline["gross"] == sum(c.amount_captured for c in captured)


@pytest.mark.parametrize("name", ["revenue.ipynb", "failures.ipynb"])
def test_a_bad_date_parameter_is_answered_with_a_sentence_not_a_traceback(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as failed:
        papermill.execute_notebook(
            str(NOTEBOOKS / name),
            str(out),
            parameters={"start_date": "2026-02-31", "data_source": f"sqlite:///{tmp_path / 'empty.db'}"},
            cwd=str(NOTEBOOKS),
            kernel_name="python3",
            progress_bar=False,
        )
    assert "start_date = '2026-02-31' is not a date" in failed.value.evalue
    shown = [
        line
        for cell in nbformat.read(out, as_version=4).cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
        for line in output["traceback"]
    ]
    assert shown == [
        'start_date = \'2026-02-31\' is not a date: write it as "YYYY-MM-DD", for example "2026-01-31", '
        "or None for the default."
    ]


def test_failures_headline_equals_analytics_the_emulator_and_the_failures_page(seeded: SimpleNamespace) -> None:
    headline = run_notebook("failures.ipynb")
    start, end = period(headline)
    frame = analytics.load_charges()
    rows = analytics.filter_charges(frame, analytics.ChargeFilter(start=start, end=end))
    without_charge = analytics.load_failed_without_charge(start=start, end=end)
    counts = analytics.failure_counts(rows, without_charge)
    recovery = analytics.recovery_summary(rows)
    assert headline["failed"] == counts.failed and headline["succeeded"] == counts.succeeded
    assert headline["failed_without_charge"] == counts.failed_without_charge
    assert headline["failure_rate"] == pytest.approx(counts.rate)
    assert headline["top_code"] == analytics.failures_by_code(rows, without_charge)["code"].iloc[0]
    assert headline["failed_orders"] == recovery.failed_orders
    assert headline["recovered_orders"] == recovery.recovered
    assert headline["recovered_amount"] == recovery.recovered_amount

    listed = emulator_charges(seeded, start, end)
    failed = [c for c in listed if c.status == "failed"]
    assert headline["failed"] - headline["failed_without_charge"] == len(failed) > 0
    failed_orders = {c.metadata.to_dict().get("order_id") for c in failed}
    paid_later = [
        c for c in listed if c.status == "succeeded" and c.metadata.to_dict().get("order_id") in failed_orders
    ]
    assert headline["recovered_orders"] == len(paid_later) > 0
    assert headline["recovered_amount"] == sum(c.amount_captured for c in paid_later)
    assert headline["median_minutes_to_recover"] > 0
    # Bank debits the bank answered, and the share it returned, from the emulator's own charges.
    debits = [c for c in listed if c.payment_method_details.type == "us_bank_account"]
    decided = [c for c in debits if c.status != "pending"]
    returned = [c for c in decided if c.status == "failed"]
    assert headline["debits_decided"] == len(decided) > headline["debits_returned"] == len(returned) > 0
    assert headline["debit_return_share"] == pytest.approx(len(returned) / len(decided))

    metrics = page_metrics("pages/failures.py")
    assert metrics["Failed attempts"] == f"{headline['failed']:,}"
    assert metrics["Failure rate"] == f"{headline['failure_rate']:.1%}"
    assert metrics["Failed orders recovered"] == f"{headline['recovered_orders']} of {headline['failed_orders']}"
    assert metrics["Recovered volume"] == format_amount(headline["recovered_amount"])


def strip_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "strip_notebooks.py"), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_notebooks_are_committed_without_outputs() -> None:
    result = strip_tool("--check", str(NOTEBOOKS))
    assert result.returncode == 0, result.stdout


def test_strip_tool_finds_and_removes_outputs(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOKS / "failures.ipynb", as_version=4)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="jane@example.com paid\n")]
    notebook.cells[1].execution_count = 3
    path = tmp_path / "dirty.ipynb"
    nbformat.write(notebook, path)
    checked = strip_tool("--check", str(path))
    assert checked.returncode == 1 and "dirty.ipynb" in checked.stdout
    assert strip_tool(str(path)).returncode == 0
    assert strip_tool("--check", str(path)).returncode == 0
    cleaned = nbformat.read(path, as_version=4)
    assert cleaned.cells[1].outputs == [] and cleaned.cells[1].source == notebook.cells[1].source
    assert "parameters" in cleaned.cells[1].metadata["tags"]
