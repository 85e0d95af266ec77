"""The charge detail page's sections (shop.charge_detail.ChargeDetail); customer text through tables or inert()."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st
import stripe

from shop import charge_detail, db, fulfilment, payment_methods
from shop.analytics import FAILED
from shop.config import ConfigError, get_settings, stripe_client
from shop.money import format_amount
from shop.words import code_words
from ui import emails, refund_dialog
from ui.formats import MONEY_COLUMN, TIME_COLUMN, table
from ui.messages import inert, show_line


def when(ts: int | None, *, seconds: bool = False) -> str:
    """A Unix time as "Dec 02, 2026 14:05 UTC" (with `seconds`, "14:05:09"; "–" for none)."""
    form = "%b %d, %Y %H:%M:%S UTC" if seconds else "%b %d, %Y %H:%M UTC"
    return datetime.fromtimestamp(ts, UTC).strftime(form) if ts else "–"


def _money(amount: int | None, currency: str) -> str:
    return format_amount(amount, currency) if amount is not None else "not synced yet"


def money_cards(detail: charge_detail.ChargeDetail) -> None:
    """Amount, fee, net and refunded as four metric cards (a failed charge moved no money: no fee, nothing net)."""
    failed = detail.status == FAILED
    cards = [
        ("Amount", format_amount(detail.amount, detail.currency), f"created {when(detail.created)}"),
        (
            "Stripe fee",
            "none" if failed else _money(detail.fee, detail.currency),
            "a failed charge moves no money, so Stripe takes no fee" if failed else "from the balance transaction",
        ),
        (
            "Net",
            format_amount(0, detail.currency) if failed else _money(detail.net, detail.currency),
            "amount less the fee",
        ),
        ("Refunded", format_amount(detail.amount_refunded, detail.currency), f"{len(detail.refunds)} refunds"),
    ]
    for column, (label, value, note) in zip(st.columns(4), cards, strict=True):
        column.metric(label, value, border=True, help=note)


def facts(detail: charge_detail.ChargeDetail) -> None:
    """Payment method (a card's checks), Radar's outcome, customer and shipping, side by side."""
    card_col, radar_col, customer_col = st.columns(3)
    with card_col:
        st.subheader("Payment method", divider="gray")
        st.text(payment_methods.label(detail.card_brand, detail.card_last4) or "unknown")
        checks = detail.card_checks
        if payment_methods.is_card(detail.card_brand):  # a bank account has no card checks
            st.text(
                f"cvc check: {checks['cvc_check'] or 'not checked'} · address: "
                f"{checks['address_line1_check'] or 'not checked'} · postal code: "
                f"{checks['address_postal_code_check'] or 'not checked'}"
            )
    with radar_col:
        st.subheader("Radar", divider="gray")
        outcome = detail.outcome
        st.text(f"outcome: {outcome['type'] or '–'} · risk: {outcome['risk_level'] or '–'}")
        st.text(f"reason: {code_words(outcome['reason']) or '–'}")
        st.text(outcome["seller_message"] or "")
        if detail.failure_code:
            st.text(f"failure: {detail.failure_code} — {detail.failure_message or ''}")
    with customer_col:
        st.subheader("Customer", divider="gray")
        name = f"<strong>{inert(detail.customer_name)}</strong><br>" if detail.customer_name else ""
        show_line(name + (inert(detail.email) or "no receipt email"))
        address = detail.shipping
        parts = [address.get(k, "") for k in ("line1", "line2", "city", "state", "postal_code", "country")]
        shown = ", ".join(part for part in parts if part)
        show_line("Ships to " + inert(shown) if shown else "No shipping address on the charge.", caption=True)


def order_section(detail: charge_detail.ChargeDetail) -> None:
    """The order, its fulfilment and every payment attempt."""
    order = detail.order
    if order is None:
        st.caption("This charge names no order of this shop.")
        return
    status = order.status.value if hasattr(order.status, "value") else str(order.status)
    st.markdown(
        f"Order **{order.id}** · {status} · "
        + (f"paid {when(order.paid_at)}" if order.paid_at else "not paid")
        + (f" · shipped {when(order.shipped_at)}" if order.shipped_at else " · not shipped")
        + (f" · cancelled {when(order.cancelled_at)}" if order.cancelled_at else "")
    )
    if order.carrier or order.tracking_number:
        show_line(
            f"Shipped with {inert(order.carrier or 'a carrier')} · tracking {inert(order.tracking_number or '–')}"
        )
    emails.problems([order.id])
    with st.expander("Emails to the customer", icon=":material/mail:"):
        emails.order_emails(order.id)
    attempts = pd.DataFrame(
        [
            {
                "Time": pd.Timestamp(a.created, unit="s", tz="UTC"),
                "Outcome": str(getattr(a.outcome, "value", a.outcome)),
                "Code": a.decline_code or a.code or "",
                "Payment method": payment_methods.label(a.card_brand, a.card_last4),
                "Charge": a.charge_id or "",
                "Message": a.message or "",
            }
            for a in detail.attempts
        ]
    )
    if not attempts.empty:
        table(attempts, csv_name=f"{detail.id}-attempts", Time=TIME_COLUMN)


def refunds_section(detail: charge_detail.ChargeDetail) -> None:
    """Refunds (who, when, why), refund requests and disputes."""
    if detail.refunds:
        rows = [
            {
                "Created": pd.Timestamp(r.created, unit="s", tz="UTC"),
                "Refund": r.id,
                "Amount": r.amount / 100,
                "Status": code_words(r.status),
                "Reason": code_words(r.reason),
                "By": r.by or "not recorded",
                "Note": r.note,
            }
            for r in detail.refunds
        ]
        table(pd.DataFrame(rows), csv_name=f"{detail.id}-refunds", Created=TIME_COLUMN, Amount=MONEY_COLUMN)
    else:
        st.caption("No refunds.")
    if detail.refund_requests:
        st.markdown("**Refund requests**")
        requests = [
            {"Asked": pd.Timestamp(r.created, unit="s", tz="UTC"), "Status": code_words(r.status), "Reason": r.reason}
            for r in detail.refund_requests
        ]
        table(pd.DataFrame(requests), csv_name=f"{detail.id}-refund-requests", Asked=TIME_COLUMN)
    if detail.disputes:
        st.markdown("**Disputes**")
        frame = pd.DataFrame(detail.disputes)
        for name in ("reason", "status"):
            frame[name] = frame[name].fillna("").map(code_words)
        for name in ("opened", "respond_by"):
            frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
        for name in ("amount", "net_amount"):
            frame[name] = frame[name] / 100
        table(
            frame,
            csv_name=f"{detail.id}-disputes",
            opened=TIME_COLUMN,
            respond_by=TIME_COLUMN,
            amount=MONEY_COLUMN,
            net_amount=MONEY_COLUMN,
        )
    elif detail.disputed:
        st.warning("Stripe marks this charge disputed; the disputes page has its details.")


@st.cache_data(ttl=300, show_spinner=False, max_entries=64)
def _timeline(charge_id: str, version: int) -> list[charge_detail.TimelineEntry] | str:
    del version  # the cache key: a change to the copy (a new refund) reads the events again
    detail = charge_detail.load(charge_id)
    if detail is None:
        return []
    try:
        return charge_detail.timeline(detail, stripe_client())
    except (stripe.StripeError, ConfigError):
        return "Stripe's events could not be read just now; the sections above are from the synced copy."


def timeline_section(detail: charge_detail.ChargeDetail) -> None:
    """The timeline: Stripe's events of the charge and its intent, and the shop's own actions."""
    entries = _timeline(detail.id, db.data_version())
    if isinstance(entries, str):
        st.warning(entries)
        return
    if not entries:
        st.caption("No events: Stripe keeps 30 days of them.")
        return
    for entry in entries:
        source = "Stripe" if entry.source == "stripe" else "Shop"
        delivery = {True: " · <small>webhook delivered</small>", False: " · <small>webhook pending</small>"}
        show_line(
            f"<small>{source}</small> <code>{inert(when(entry.at, seconds=True))}</code> · "
            f"<strong>{inert(entry.what)}</strong> {inert(entry.detail)}{delivery.get(entry.delivered, '')}"
        )


def dashboard_link(detail: charge_detail.ChargeDetail) -> None:
    """A link to the payment in the Stripe Dashboard, in Stripe mode only."""
    url = get_settings().dashboard_url(detail.payment_intent or detail.id)
    if url:
        st.link_button("View in the Stripe Dashboard", url)


def refund_action(detail: charge_detail.ChargeDetail) -> None:
    """The charge's Refund button, while money is left to refund: the Refunds page's form and confirmation
    (`ui.refund_dialog`) for this charge."""
    amounts = fulfilment.ChargeAmounts.of({**detail.raw, "amount_refunded": detail.amount_refunded})
    remaining = fulfilment.refundable_amount(amounts)
    if remaining <= 0:
        return
    label = f"Refund (up to {format_amount(remaining, detail.currency)})"
    with st.expander(label, icon=":material/undo:", expanded=refund_dialog.PENDING_KEY in st.session_state):
        card = payment_methods.label(detail.card_brand, detail.card_last4) or None
        refund_dialog.refund_form(amounts, customer=detail.email or detail.customer_name or "no email", card=card)


def ids_line(detail: charge_detail.ChargeDetail) -> None:
    """The charge's payment intent and balance transaction: the intent a link to Stripe's Dashboard (Stripe mode),
    the transaction a link to the Balance page, where the payouts list what each paid out."""
    intent_url = get_settings().dashboard_url(detail.payment_intent) if detail.payment_intent else None
    intent = f"[{detail.payment_intent}]({intent_url})" if intent_url else (detail.payment_intent or "–")
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.caption(f"Payment intent: {intent}")
    if detail.balance_transaction:
        right.page_link(
            "pages/balance.py",
            label=f"Balance transaction {detail.balance_transaction}",
            icon=":material/account_balance:",
        )
