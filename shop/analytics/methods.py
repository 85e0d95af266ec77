"""Which payment methods customers paid with, and how their bank debits ended.

A card's payment is decided at once; a bank debit's days later, when the bank settles or returns it
(docs.stripe.com/payments/ach-direct-debit). The mix counts payments that succeeded; the debits' outcome counts
the debits the bank has decided, the ones still processing apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from shop import payment_methods
from shop.analytics.loading import FAILED, PENDING

MIX_COLUMNS = ["method", "payments", "amount", "share_of_payments", "share_of_amount"]


def payment_method_mix(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful charges of `frame` (`load_charges`) per kind of method (`payment_methods.kind`: "Card", "US bank
    account", "Klarna"), most paid first. Columns: method, payments, amount (minor units, as charged), and each
    method's share of the payments and of the amount. Charges still processing or failed are not payments yet."""
    paid = frame.loc[frame["status"] == "succeeded", ["card_brand", "amount"]]
    if paid.empty:
        empty = {name: pd.Series(dtype="object" if name == "method" else "float64") for name in MIX_COLUMNS}
        return pd.DataFrame(empty)
    kinds = paid["card_brand"].map(lambda brand: payment_methods.kind(brand if isinstance(brand, str) else None))
    out = paid.groupby(kinds.rename("method"))["amount"].agg(payments="size", amount="sum").reset_index()
    out["share_of_payments"] = out["payments"] / out["payments"].sum()
    out["share_of_amount"] = out["amount"] / out["amount"].sum()
    return out.sort_values(["amount", "method"], ascending=[False, True], ignore_index=True)[MIX_COLUMNS]


@dataclass(frozen=True)
class BankDebitOutcomes:
    """The bank debits of a range: decided (settled or returned by the bank) and still processing."""

    settled: int
    returned: int
    returned_amount: int  # minor units
    processing: int

    @property
    def decided(self) -> int:
        """Debits the bank has settled or returned."""
        return self.settled + self.returned

    @property
    def returned_share(self) -> float | None:
        """The share of decided debits the bank returned; None when none is decided yet."""
        return self.returned / self.decided if self.decided else None


def bank_debit_outcomes(frame: pd.DataFrame) -> BankDebitOutcomes:
    """How the bank debits of `frame` (`load_charges`) ended: settled (the charge succeeded, refunded or not),
    returned (failed: the bank's return, with its code on Failures) and still processing."""
    debits = frame[frame["card_brand"].isin(payment_methods.BANK_DEBITS)]
    returned = debits["display_status"] == FAILED
    processing = debits["display_status"] == PENDING
    return BankDebitOutcomes(
        settled=int((~returned & ~processing).sum()),
        returned=int(returned.sum()),
        returned_amount=int(debits.loc[returned, "amount"].sum()),
        processing=int(processing.sum()),
    )
