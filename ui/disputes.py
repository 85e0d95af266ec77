"""The Disputes page's pieces, and the dispute KPIs the Charges page shows beside its own."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from shop import disputes, orders, words
from shop.analytics import disputes as dispute_numbers
from shop.analytics import in_database
from shop.money import format_amount, to_major
from ui import dialogs, gate
from ui.data import data_changed
from ui.formats import MONEY_COLUMN, TIME_COLUMN, csv_download, table
from ui.messages import flash, flash_outcome, inert

MESSAGE_KEY = "disputes_message"
ACCEPT_KEY = "disputes_accept_pending"
SUBMIT_KEY = "disputes_submit_pending"  # the evidence waiting for its confirmation: Stripe takes one submission
OVERDUE_STYLE = "color: #d62728; font-weight: 600"  # red, as the Stripe Dashboard marks a missed deadline


def _order_ids(charges: pd.DataFrame, found: list[disputes.Dispute]) -> dict[str, str]:
    """Charge id -> order number, from synced charges that include the disputed ones (see
    shop.analytics.disputes.disputed_charges); a charge made outside the shop has none."""
    wanted = charges[charges["id"].isin([dispute.charge_id for dispute in found])]
    return {row.id: row.order_id for row in wanted.itertuples() if isinstance(row.order_id, str) and row.order_id}


def disputes_frame(found: list[disputes.Dispute], charges: pd.DataFrame, *, now: float | None = None) -> pd.DataFrame:
    """One row per dispute: id, reason, amount (major units), status, deadline and time left, charge and order."""
    order_ids = _order_ids(charges, found)
    left = [disputes.time_left(dispute.due_by, now) for dispute in found]
    return pd.DataFrame(
        {
            "Dispute": [dispute.id for dispute in found],
            "Order": [order_ids.get(dispute.charge_id, "–") for dispute in found],
            "Reason": [disputes.reason_label(dispute.reason) for dispute in found],
            "Amount": [float(to_major(dispute.amount, dispute.currency)) for dispute in found],
            "Time left": [text for text, _overdue in left],
            "Respond by": pd.to_datetime([dispute.due_by for dispute in found], unit="s", utc=True),
            "Status": [disputes.status_label(dispute.status) for dispute in found],
            "Effect on net": [float(to_major(dispute.net_effect, dispute.currency)) for dispute in found],
            "Charge": [dispute.charge_id for dispute in found],
            "Opened": pd.to_datetime([dispute.created for dispute in found], unit="s", utc=True),
        }
    )


def _red_when_overdue(column: pd.Series) -> list[str]:
    return [OVERDUE_STYLE if str(value).startswith("overdue") else "" for value in column]


def show_disputes(
    found: list[disputes.Dispute], charges: pd.DataFrame, csv_name: str, *, deadline: bool = True
) -> None:
    """A table of disputes with its Download CSV (file `csv_name`.csv); with `deadline`, the countdown (overdue ones
    in red)."""
    frame = disputes_frame(found, charges)
    formats = {"Amount": MONEY_COLUMN, "Effect on net": MONEY_COLUMN, "Respond by": TIME_COLUMN, "Opened": TIME_COLUMN}
    if not deadline:
        table(frame.drop(columns=["Respond by", "Time left"]), csv_name=csv_name, **formats)
        return
    csv_download(frame, formats, csv_name)  # the rows as shown, without the colours
    table(frame.style.apply(_red_when_overdue, subset=["Time left"]), **formats)


def dispute_kpis(all_disputes: pd.DataFrame) -> None:
    """Open disputes, money at stake, dispute rate (successful charges counted in the store), and what disputes
    did to net (amounts and fees)."""
    effect = dispute_numbers.dispute_effect(all_disputes)
    rate = dispute_numbers.stored_dispute_rate(all_disputes)
    at_stake = int(all_disputes.loc[all_disputes["status"].isin(disputes.OPEN_STATUSES), "amount"].sum())
    cards = [
        ("Open disputes", f"{effect.open_count:,}", "Waiting for your response."),
        ("Amount disputed, open", format_amount(at_stake), "What the open disputes claim back."),
        (
            "Dispute rate",
            f"{rate.rate:.2%}" if rate.rate is not None else "–",
            f"{rate.disputes:,} disputes / {rate.charges:,} successful charges, all time.",
        ),
        (
            "Effect on net",
            format_amount(effect.net),
            f"Withdrawn net of reinstated {format_amount(abs(effect.amount))} and dispute fees "
            f"{format_amount(effect.fees)}; {effect.won} won, {effect.lost} lost.",
        ),
    ]
    for column, (label, value, help_text) in zip(st.columns(4), cards, strict=True):
        column.metric(label, value, help=help_text, border=True)
    st.caption(
        "All time: the dispute rate and the effect on net count every dispute synced. The Charges page shows both "
        "for the period it is set to."
    )


def held_and_disputed_kpis(summary: in_database.PeriodSummary, start: datetime, end: datetime) -> None:
    """The Charges page's row for [start, end) of `summary`: money authorized and not captured and money still
    processing (both apart from gross), the dispute rate over the period's successful charges, and the disputes'
    effect on net."""
    succeeded = summary.kpis.current.succeeded
    all_disputes = dispute_numbers.load_disputes()
    opened = all_disputes[(all_disputes["created_at"] >= start) & (all_disputes["created_at"] < end)]
    rate = dispute_numbers.DisputeRate(disputes=len(opened), charges=succeeded)
    effect = dispute_numbers.dispute_effect(all_disputes, start, end)
    # Two a row: four in one row cut these labels short ("Authorized, not capt…") at desktop width.
    held_col, processing_col = st.columns(2)
    rate_col, net_col = st.columns(2)
    held_col.metric(
        "Authorized, not captured",
        format_amount(summary.held_amount),
        help=f"{summary.held_count:,} charges authorized and waiting for capture (at shipment): not in gross volume.",
        border=True,
    )
    processing_col.metric(
        "Processing",
        format_amount(summary.processing_amount),
        help=f"{summary.processing_count:,} bank debits the bank has not settled yet (a few business days): not in "
        "gross volume until they succeed; those that fail count as failed attempts.",
        border=True,
    )
    rate_col.metric(
        "Dispute rate, this period",
        f"{rate.rate:.2%}" if rate.rate is not None else "–",
        help=f"{rate.disputes:,} disputes opened / {rate.charges:,} successful charges in the period.",
        border=True,
    )
    net_col.metric(
        "Disputes' effect on net, this period",
        format_amount(effect.net),
        help="Disputed amounts withdrawn (net of those reinstated) plus the dispute fees, for disputes opened in "
        "the period.",
        border=True,
    )


def response_form(dispute: disputes.Dispute, order: orders.Order | None) -> None:
    """The evidence form (pre-filled from the order, documents to upload) whose Submit asks for a confirmation
    first (see confirm_submit), and Accept with a confirmation."""
    prefilled = disputes.evidence_for(order, dispute)
    with st.form(f"evidence_{dispute.id}", border=True):
        st.markdown(
            f"**Respond to {dispute.id}** · {disputes.reason_label(dispute.reason)} · "
            f"{format_amount(dispute.amount, dispute.currency)} · {disputes.time_left(dispute.due_by)[0]}"
        )
        values = {}
        for name in disputes.EVIDENCE_FIELDS:
            label = disputes.EVIDENCE_LABELS[name]
            multiline = name in ("shipping_address", "product_description", "uncategorized_text")
            widget = st.text_area if multiline else st.text_input
            values[name] = widget(label, value=prefilled[name], key=f"evidence_{dispute.id}_{name}")
        uploads = evidence_uploads(dispute)
        submitted = st.form_submit_button("Submit evidence to the bank…", type="primary", icon=":material/gavel:")
    if submitted:
        ask_to_submit(dispute, values, uploads)
    if st.button("Accept the dispute…", key=f"accept_{dispute.id}"):
        st.session_state[ACCEPT_KEY] = dispute.id


def evidence_uploads(dispute: disputes.Dispute) -> dict[str, disputes.EvidenceFile | None]:
    """One upload per evidence field Stripe takes as a file (PDF, JPEG or PNG); field -> the document chosen."""
    st.markdown("**Documents** (PDF, JPEG or PNG; 4.5 MB at most in all)")
    chosen: dict[str, disputes.EvidenceFile | None] = {}
    fields = disputes.FILE_EVIDENCE_FIELDS
    columns = [column for start in range(0, len(fields), 2) for column in st.columns(2)]  # in rows of two
    for column, name in zip(columns, fields, strict=False):
        picked = column.file_uploader(
            disputes.FILE_EVIDENCE_LABELS[name],
            type=list(disputes.FILE_TYPES),
            key=f"evidence_{dispute.id}_{name}_file",
            max_upload_size=disputes.MAX_FILE_BYTES // (1024 * 1024),  # in MB: Stripe's limit for one file
        )
        chosen[name] = disputes.EvidenceFile(picked.name, picked.getvalue()) if picked is not None else None
    return chosen


def ask_to_submit(
    dispute: disputes.Dispute, values: dict[str, str], uploads: dict[str, disputes.EvidenceFile | None]
) -> None:
    """Check the evidence and keep it for the confirmation; an error is shown at once instead."""
    try:
        text, chosen = disputes.check_response(values, uploads)
    except disputes.DisputeError as exc:
        flash(MESSAGE_KEY, "error", exc.message)
        st.rerun()
    st.session_state[SUBMIT_KEY] = {"dispute": dispute.id, "text": text, "files": chosen}


def _submit(dispute: disputes.Dispute, pending: dict) -> None:
    done = f"Evidence for {dispute.id} submitted: the bank decides, and this page shows the outcome."

    def submit() -> disputes.Dispute:
        return disputes.submit_evidence(dispute.id, pending["text"], files=pending["files"], actor=gate.actor())

    if flash_outcome(MESSAGE_KEY, submit, done, errors=(disputes.DisputeError,)):
        data_changed()


def confirm_submit() -> None:
    """The confirmation of "Submit evidence to the bank", while one is asked for: what goes, and that it is final."""
    pending = st.session_state.get(SUBMIT_KEY)
    dispute = disputes.get_dispute(pending["dispute"]) if pending else None
    if dispute is None or not dispute.is_open:
        st.session_state.pop(SUBMIT_KEY, None)
        if dispute is not None:
            flash(MESSAGE_KEY, "error", f"Dispute {dispute.id} is {disputes.status_label(dispute.status)} already.")
        return
    files = pending["files"]
    names = ", ".join(f"<strong>{inert(found.name)}</strong>" for found in files.values())
    sending = words.count(len(pending["text"]), "text field") + " and " + words.count(len(files), "document")
    dialogs.confirm(
        "Submit the evidence",
        key=SUBMIT_KEY,
        body=f"Submit {sending} for <strong>{dispute.id}</strong> to the bank? "
        + (f"Documents: {names}. " if files else "")
        + "Stripe takes one submission: after it, nothing can be added or changed.",
        caption="The bank usually decides within weeks; this page shows the outcome when it arrives.",
        yes_label="Submit to the bank",
        no_label="Keep editing",
        on_yes=lambda: _submit(dispute, pending),
    )


def _accept(dispute: disputes.Dispute) -> None:
    done = f"Dispute {dispute.id} accepted: {format_amount(dispute.amount, dispute.currency)} stays with the customer."

    def accept() -> disputes.Dispute:
        return disputes.accept(dispute.id, actor=gate.actor())

    if flash_outcome(MESSAGE_KEY, accept, done, errors=(disputes.DisputeError,)):
        data_changed()


def confirm_accept() -> None:
    """The confirmation of "Accept the dispute", while one is asked for."""
    pending = st.session_state.get(ACCEPT_KEY)
    dispute = disputes.get_dispute(pending) if pending else None
    if dispute is None:
        st.session_state.pop(ACCEPT_KEY, None)
        return
    if not dispute.is_open:
        st.session_state.pop(ACCEPT_KEY, None)
        flash(MESSAGE_KEY, "error", f"Dispute {dispute.id} is {disputes.status_label(dispute.status)} already.")
        return
    amount = format_amount(dispute.amount, dispute.currency)
    dialogs.confirm(
        "Accept the dispute",
        key=ACCEPT_KEY,
        body=f"Accept <strong>{dispute.id}</strong>? The customer keeps <strong>{amount}</strong> and the "
        "dispute fee is not returned. This cannot be undone.",
        yes_label=f"Accept and lose {amount}",
        no_label="Keep it open",
        on_yes=lambda: _accept(dispute),
    )
