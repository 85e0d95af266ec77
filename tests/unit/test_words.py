"""Counts in words: the nouns the pages count on their first run agree with inflect without importing it."""

from __future__ import annotations

import subprocess
import sys

import inflect
import pytest

from shop import words
from shop.sync_report import SyncReport
from tests.support import ROOT

NOUNS = ["charge", "refund", "event", "Stripe request", "order", "inquiry"]


@pytest.mark.parametrize("noun", NOUNS)
@pytest.mark.parametrize("number", [0, 1, 2, 1500])
def test_a_count_says_the_noun_as_inflect_does(noun: str, number: int) -> None:
    assert words.count(number, noun) == f"{number:,} {inflect.engine().plural_noun(noun, number)}"


def test_the_sync_report_counts_one_of_each_in_the_singular() -> None:
    report = SyncReport("backfill", 1, 1, 0, 1, synced_at=0.0, duration_s=0.1)
    assert report.summary() == "Backfill: 1 charge and 0 refunds updated from 1 event in 1 Stripe request (0.1 s)."


def test_a_sync_report_does_not_import_inflect() -> None:
    # inflect takes about 2 s to import here: the Charges page, which shows this line, must not pay it.
    script = (
        "import sys\nfrom shop.sync_report import SyncReport\n"
        "SyncReport('incremental', 3, 2, 1, 5, synced_at=0.0, duration_s=0.2).summary()\n"
        "assert 'inflect' not in sys.modules, 'inflect was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)
