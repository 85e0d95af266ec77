"""shop.decline_codes: one table serves the customer's message and the staff's explanation alike."""

from __future__ import annotations

import pytest

from shop import analytics, decline_codes
from shop.decline_codes import GENERIC_DECLINE_MESSAGE, customer_message


@pytest.mark.parametrize("reported", ["lost_card", "stolen_card", "do_not_honor", "highest_risk_level"])
def test_customers_are_not_told_why_a_card_was_flagged(reported):
    assert customer_message("card_declined", reported) == GENERIC_DECLINE_MESSAGE
    assert decline_codes.decline_code(reported).explanation != decline_codes.UNKNOWN_CODE.explanation


def test_the_decline_code_is_more_specific_than_the_error_code():
    assert customer_message("card_declined", "insufficient_funds") == (
        "Your card has insufficient funds. Try another card."
    )
    assert customer_message("expired_card", None).startswith("Your card has expired.")
    assert customer_message("no_such_code", "nor_this") == GENERIC_DECLINE_MESSAGE


def test_the_failures_table_explains_each_code_from_the_same_entry():
    import pandas as pd

    raw = {name: [None, None] for name in analytics.CHARGE_COLUMNS}
    raw.update(id=["ch_1", "ch_2"], status=["failed", "failed"], amount=[2300, 2300], created=[1, 2])
    raw.update(currency=["usd", "usd"], failure_code=["card_declined", "invalid_cvc"])
    raw.update(decline_code=["insufficient_funds", None])
    table = analytics.failures_by_code(analytics.prepare_charges(pd.DataFrame(raw))).set_index("code")
    for code in ("insufficient_funds", "invalid_cvc"):
        entry = decline_codes.decline_code(code)
        assert table.loc[code, "explanation"] == entry.explanation
        assert table.loc[code, "next_step"] == entry.next_step
        assert table.loc[code, "doc_url"] == entry.doc_url
