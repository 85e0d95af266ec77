"""The shop page's pieces: book grid, details form, order summary, duplicate prompt and confirmation, and the
handlers of the card's answers for the checkout flows (PaymentIntents, the default, and Charges), and of the
Payment Element's reports on a Checkout Session (CHECKOUT_API=checkout_sessions).

Every handler records the click's nonce before anything else, so a replayed trigger value is handled once, then
reruns the page: to the confirmation when paid, else back to the form with the message.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

import components.elements_card as card_component
from components.checkout_elements import RETURN_PARAMS, checkout_elements
from shop import catalog, covers, orders, payment_methods
from shop.checkout import charges, integrations, intents, sessions
from shop.checkout.results import ChargeResult, Prepared
from shop.config import CheckoutApi, get_settings
from shop.money import format_amount
from shop.validation import (
    DEFAULT_COUNTRY,
    FIELD_LABELS,
    countries,
    country_name,
    validate_customer,
    validate_email_only,
)
from ui import emails
from ui.messages import inert, show_line

log = logging.getLogger(__name__)
PreparedT = TypeVar("PreparedT", bound=Prepared)
COUNTRY_CODES = [code for code, _ in countries()]
DETAIL_KEYS = {name: f"checkout_{name}" for name in FIELD_LABELS}
DETAIL_ROWS = [("name", "email"), ("phone", None), ("line1", "line2"), ("city", "state"), ("postal_code", "country")]
FIELD_ORDER = [name for row in DETAIL_ROWS for name in row if name]
FIX_DETAILS = "Please correct the highlighted details, then pay again."
UNEXPECTED_FAILURE = (
    "Something went wrong on our side while paying. Any order already saved is checked against Stripe, so you "
    "are never charged twice; please try again in a moment."
)
ERROR_COLOR = "#c0123c"  # the field messages' red, dark enough for text on white (WCAG AA)
TOO_MANY = f"You can order at most {catalog.MAX_QUANTITY} copies at a time."
# createToken's billing fields, from the checkout's fields (Charges flow).
BILLING_FIELDS = {
    "name": "name",
    "address_line1": "line1",
    "address_line2": "line2",
    "address_city": "city",
    "address_state": "state",
    "address_zip": "postal_code",
    "address_country": "country",
}
SESSION_TEST_HINT = (
    "Test mode: pay with **4242 4242 4242 4242**, any future date and any CVC; **4000 0000 0000 9995** is declined. "
    "A US bank account with routing **110000000** and account **000123456789** settles after a few seconds; "
    "**000222222227** fails for insufficient funds."
)
ADDRESS_ELEMENT_NOTE = "Your name, shipping address and phone are asked next to the payment, by Stripe."
SESSION_GONE = "This checkout can no longer be found; please continue to payment again."
AMOUNT_CHANGED = "The total changed since this payment was prepared; continue to payment again."
PAYMENT_UNAVAILABLE = "The payment form could not be loaded; continue to payment again in a moment."
TEST_CARD_HINT = (
    "Test mode: pay with **4242 4242 4242 4242**, any future date and any CVC. "
    "**4000 0000 0000 9995** is declined; **4000 0027 6000 3184** asks for 3-D Secure."
)
# The integration switch's label stays readable while it is locked (Streamlit greys a disabled widget's label below
# 4.5:1). Columns stack under 640 px: there each book becomes one short row (small cover, title, price) so the first
# screen of a phone shows the books with their prices and Choose buttons instead of one full-height cover; the
# order's cover is left out there, with its own column (the innermost one holding it, not the layout's around it),
# which would otherwise leave a blank band above the title.
PAGE_CSS = """<style>
.sp-book{display:flex;flex-direction:column;gap:.6rem}
.sp-book img{width:100%;border-radius:3px;box-shadow:0 6px 16px rgba(0,0,0,.18)}
.sp-book-text{min-height:7.2rem;line-height:1.35}
.sp-summary-cover{display:block;max-width:100%;height:auto}
.sp-field-error{color:#c0123c;font-size:.85rem;margin:-.6rem 0 .5rem}
[data-testid="stHeading"],[data-testid="stHeading"] h1{scroll-margin-top:4.5rem}
.st-key-checkout_integration_select label[disabled] *{color:#5f5f5f}
@media (max-width:640px){
  .sp-book{flex-direction:row;align-items:center;gap:.8rem}
  .sp-book img{width:44px;flex:none;box-shadow:0 2px 6px rgba(0,0,0,.18)}
  .sp-book-text{min-height:0;font-size:.92rem}
  [data-testid="stColumn"]:has(.sp-summary-cover):not(:has([data-testid="stColumn"])){display:none}
}
</style>"""

# The integration this session picked (emulator mode), kept apart from its selectbox's own key: Streamlit forgets a
# widget's value on a run that does not draw it, as the confirmation's runs do not.
INTEGRATION_KEY = "checkout_integration"
INTEGRATION_WIDGET_KEY = "checkout_integration_select"
INTEGRATION_LOCKED = (
    "Locked from the first Pay (or Continue to payment) until Buy another book, so one order is never paid "
    "through two integrations."
)

state = st.session_state


def init_state() -> None:
    """Session defaults of the checkout."""
    state.setdefault("checkout_book", catalog.all_books()[0].id)
    state.setdefault("checkout_nonces", [])  # every card click already handled in this session
    state.setdefault("checkout_reset", 0)
    state.setdefault("checkout_show_errors", False)
    state.setdefault("checkout_scroll", 0)


def _clear_notice() -> None:
    state.pop("checkout_notice", None)
    state.pop("checkout_duplicate", None)


def _choose(book_id: str) -> None:
    state.checkout_book = book_id
    _clear_notice()  # a decline of another book is no longer news


def new_checkout() -> None:
    """Buy another book: forget the paid order and its messages, keep the customer's details."""
    for name in (
        "checkout_confirmation",
        "checkout_order_id",
        "checkout_notice",
        "checkout_quantity",
        "checkout_timing",
        "checkout_confirm",
        "checkout_duplicate",
        "checkout_session",
    ):
        state.pop(name, None)
    state.checkout_show_errors = False


def _cover_html(book_id: str, css_class: str = "") -> str:
    return f'<img class="{css_class}" src="{covers.cover_data_uri(book_id)}" alt="">'


def _message_id(widget_key: str) -> str:
    """The id of the message under the widget `widget_key` (its inputs' aria-describedby while it is wrong)."""
    return f"{widget_key}-message"


def _field_error(message: str | None, widget_key: str) -> None:
    if message:
        st.markdown(
            f'<div class="sp-field-error" id="{_message_id(widget_key)}">{html.escape(message)}</div>',
            unsafe_allow_html=True,
        )


def page_style() -> None:
    """The shop's CSS (book rows on a phone, field messages)."""
    st.html(PAGE_CSS)


def book_grid() -> None:
    """The books with their prices and a Choose button each."""
    st.title("Stripe Press")
    st.caption("Ideas for progress — books on technology, science and economic progress.")
    books = catalog.all_books()
    for column, book in zip(st.columns(len(books), gap="medium"), books, strict=True):
        with column:
            chosen = state.checkout_book == book.id
            st.html(
                f'<div class="sp-book">{_cover_html(book.id)}<div class="sp-book-text">'
                f"<strong>{html.escape(book.title)}</strong><br>{html.escape(book.author)}<br>"
                f"{format_amount(book.price, book.currency)}</div></div>"
            )
            st.button(
                "Chosen" if chosen else "Choose",
                icon=":material/check:" if chosen else None,
                key=f"choose_{book.id}",
                type="primary" if chosen else "secondary",
                on_click=_choose,
                args=(book.id,),
                width="stretch",
            )


def shown_errors(email_only: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """The details as typed, and the messages to show (`email_only`: the email's alone, the one field of Checkout
    Sessions): required fields wait for the first click on Pay."""
    current = {name: state.get(key, "") for name, key in DETAIL_KEYS.items()}
    checked = validate_email_only(current) if email_only else validate_customer(current)
    errors = {
        name: message for name, message in checked.errors.items() if state.checkout_show_errors or current.get(name)
    }
    return current, errors


def _highlight(errors: dict[str, str]) -> None:
    """Outline the fields that need fixing (Streamlit marks a keyed widget's container `st-key-<key>`)."""
    if errors:
        boxes = [f'.st-key-{DETAIL_KEYS[name]} [data-testid="stTextInputRootElement"]' for name in errors]
        rules = ",".join(boxes)
        # The outline replaces Streamlit's focus border, so a wrong field shows its focus with a ring around it.
        focused = ",".join(f"{box}:focus-within" for box in boxes)
        labels = ",".join(f".st-key-{DETAIL_KEYS[name]} label" for name in errors)
        st.markdown(
            f"<style>{rules}{{border-color:{ERROR_COLOR};box-shadow:0 0 0 1px {ERROR_COLOR}}}"
            f"{focused}{{outline:2px solid {ERROR_COLOR};outline-offset:2px}}"
            f"{labels}{{color:{ERROR_COLOR}}}</style>",
            unsafe_allow_html=True,
        )


def details_form(errors: dict[str, str], email_only: bool = False) -> dict[str, str]:
    """The details form, two fields a row, each with its message under it and its box outlined while wrong; a
    wrong field's input is marked invalid and described by its message, for screen readers. `email_only`: the
    email alone (Checkout Sessions: Stripe's Address Element asks the rest beside the payment)."""
    st.subheader("Your details")
    if email_only:
        st.caption(ADDRESS_ELEMENT_NOTE)
    for pair in [("email", None)] if email_only else DETAIL_ROWS:
        for column, name in zip(st.columns(2), pair, strict=True):
            if name is None:
                continue
            with column:
                if name == "country":
                    st.selectbox(
                        FIELD_LABELS[name],
                        COUNTRY_CODES,
                        index=COUNTRY_CODES.index(DEFAULT_COUNTRY),
                        format_func=country_name,
                        key=DETAIL_KEYS[name],
                        persist_state="session",  # the details survive the confirmation and other pages
                    )
                else:
                    st.text_input(
                        FIELD_LABELS[name] + (" (optional)" if name == "line2" else ""),
                        key=DETAIL_KEYS[name],
                        max_chars=200,
                        persist_state="session",
                        autocomplete={"email": "email", "phone": "tel", "name": "name"}.get(name),
                    )
                _field_error(errors.get(name), DETAIL_KEYS[name])
    # Elements that come and go go last: one above the fields would move each of them down a place on the run it
    # appears, and Streamlit keeps a moved element's old copy on the page until that run ends (two of each field).
    card_component.describe_field_errors(
        {key: _message_id(key) if name in errors else None for name, key in DETAIL_KEYS.items()},
        key="checkout_field_errors",
    )
    _highlight(errors)
    return {name: state.get(key, "") for name, key in DETAIL_KEYS.items()}


def order_summary(book: catalog.Book) -> tuple[int, int | None]:
    """The chosen book, its quantity and total; returns (quantity, total), total None above the maximum."""
    st.subheader("Your order")
    cover_column, summary_column = st.columns([1, 2])
    with cover_column:
        st.html(_cover_html(book.id, "sp-summary-cover"))
    with summary_column:
        st.markdown(f"**{book.full_title}**  \n{book.author}")
        quantity = int(
            st.number_input("Quantity", min_value=1, step=1, key="checkout_quantity", on_change=_clear_notice)
        )
        too_many = quantity > catalog.MAX_QUANTITY
        card_component.describe_field_errors(
            {"checkout_quantity": _message_id("checkout_quantity") if too_many else None},
            key="checkout_quantity_errors",
        )
        if too_many:
            _field_error(TOO_MANY, "checkout_quantity")
            return quantity, None
        total = catalog.price_for(book.id, quantity)
        st.markdown(
            f"{quantity} × {format_amount(book.price, book.currency)} — **Total {format_amount(total, book.currency)}**"
        )
    return quantity, total


def notice(errors: dict[str, str]) -> None:
    """The message of the last click; the details warning only while a detail is still wrong."""
    kept = state.get("checkout_notice")
    if not kept:
        return
    kind, text = kept
    if kind == "fields" and not errors:
        state.pop("checkout_notice", None)  # every field is fixed now
        return
    (st.error if kind == "error" else st.warning)(text)


def first_error_into_view(errors: dict[str, str]) -> None:
    """After a click on Pay with wrong details, bring the first wrong field into view."""
    first = next((name for name in FIELD_ORDER if name in errors), None)
    if first and state.get("checkout_scrolled") != state.checkout_scroll and state.checkout_scroll:
        state.checkout_scrolled = state.checkout_scroll
        label = FIELD_LABELS[first] + (" (optional)" if first == "line2" else "")
        # Focused too: a keyboard or screen reader user is taken to where the fixing starts (its message is read
        # with it), instead of staying on Pay.
        card_component.bring_into_view(
            f'input[aria-label="{label}"]',
            key="checkout_scroll_field",
            token=state.checkout_scroll,
            block="center",
            focus=True,
        )


def duplicate_prompt() -> str | None:
    """Ask before a possible second purchase; returns "yes" or "no" on the run after an answer, else None."""
    held = state.get("checkout_duplicate")
    if not held:
        return None
    minutes = max(1, round((time.time() - (held["paid_at"] or held["updated"])) / 60))
    ago = f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if held["paid_at"]:
        st.warning(f"You bought this {ago} (order {held['order_id']}). Buy it again?")
    else:  # its payment is still under way, in another tab or window perhaps
        st.warning(
            f"You started paying for this {ago} (order {held['order_id']}) and that payment may still be under "
            "way, perhaps in another tab. Buy it again?"
        )
    yes_column, no_column = st.columns(2)
    if yes_column.button("Yes, buy it again", key="checkout_duplicate_yes", type="primary", width="stretch"):
        return "yes"
    if no_column.button("No, don't buy it again", key="checkout_duplicate_no", width="stretch"):
        return "no"
    return None


def chosen_flow() -> CheckoutApi:
    """The integration this session pays through: its pick in emulator mode, else the server's CHECKOUT_API."""
    return integrations.resolve(state.get(INTEGRATION_KEY), get_settings())


def payment_under_way() -> bool:
    """Whether this session has an order started and not yet confirmed (an order written, a card confirming, a
    Checkout Session open, or a duplicate question waiting)."""
    return any(
        name in state for name in ("checkout_order_id", "checkout_confirm", "checkout_session", "checkout_duplicate")
    )


def _keep_integration() -> None:
    state[INTEGRATION_KEY] = state[INTEGRATION_WIDGET_KEY]
    _clear_notice()  # a decline in the other flow is no longer news


def integration_switch() -> None:
    """Emulator mode only: the integration this session pays through, to show each flow in a demo.

    It is locked from the moment an order is started until its confirmation is left with "Buy another book", so
    an order never has money in flight in two integrations at once. The typed details are kept when it changes.
    """
    allowed = integrations.choosable(get_settings())
    if len(allowed) < 2:
        return
    state[INTEGRATION_WIDGET_KEY] = chosen_flow()
    lines = [f"**{integrations.name_of(api)}**: {integrations.INTEGRATIONS[api].description}" for api in allowed]
    locked = payment_under_way()
    st.selectbox(
        "Integration (demo)",
        allowed,
        format_func=integrations.name_of,
        key=INTEGRATION_WIDGET_KEY,
        on_change=_keep_integration,
        disabled=locked,
        help="How this browser session pays; the server's setting stays the default for everyone else.\n\n"
        + "\n\n".join(lines)
        + "\n\n"
        + INTEGRATION_LOCKED,
    )


def card(
    total: int | None, book: catalog.Book, checked_values: dict[str, str], flow: CheckoutApi
) -> dict[str, Any] | None:
    """The Card Element for `flow` (PaymentIntents or Charges); returns its answer of this run, or None."""
    settings = get_settings()
    label = f"Pay {format_amount(total, book.currency)}" if total is not None else "Pay"
    answer = card_component.elements_card(
        settings.publishable_key,
        settings.stripe_js_url,
        amount_label=label,
        key="card",
        disabled=total is None,
        # The card's billing details for Stripe's checks; empty fields are left out (Charges flow).
        billing={field: checked_values[name] for field, name in BILLING_FIELDS.items() if checked_values[name]},
        reset_token=state.checkout_reset,
        flow=flow,
        confirm=state.get("checkout_confirm") if flow == "payment_intents" else None,
    )
    if settings.is_test:
        st.caption(TEST_CARD_HINT)
    return answer


def _seen(nonce: str) -> bool:
    """Whether this click was handled already; records it otherwise."""
    if nonce in state.checkout_nonces:
        return True
    state.checkout_nonces = [*state.checkout_nonces[-49:], nonce]
    return False


def _finish(note: tuple[str, str] | None = None, *, reset: bool = True) -> None:
    if note:
        state.checkout_notice = note
    if reset:
        state.checkout_reset += 1  # re-enables the card's Pay button
    st.rerun()


def _paid(result: ChargeResult, received: float, flow: CheckoutApi) -> None:
    state.checkout_confirmation = {
        "order_id": result.order.id,
        "charge_id": result.charge_id,
        # What Stripe says was charged, not what the browser sent.
        "brand": result.card_brand,
        "last4": result.card_last4,
        "integration": integrations.name_of(flow),
    }
    state.pop("checkout_confirm", None)
    # For `make bench`: our own time from the card's answer to confirmation is (shown - received) - stripe_seconds.
    state.checkout_timing = {"received": received, "stripe_seconds": result.stripe_seconds}


def _hold_duplicate(duplicate: orders.Order, held: dict[str, Any]) -> None:
    state.checkout_duplicate = {
        "order_id": duplicate.id,
        "paid_at": duplicate.paid_at,
        "updated": duplicate.updated,
        **held,
    }


def _wrong_details() -> None:
    state.checkout_show_errors = True
    state.checkout_scroll += 1
    _finish(("fields", FIX_DETAILS))


def _billing_details(details: dict[str, str]) -> dict[str, Any]:
    """confirmCardPayment's billing_details from the checked details; empty fields left out."""
    values = validate_customer(details).values
    address = {name: values[name] for name in ("line1", "line2", "city", "state", "postal_code", "country")}
    billing = {"name": values["name"], "email": values["email"], "phone": values["phone"]}
    return {**billing, "address": {key: value for key, value in address.items() if value}}


def _ready_or_finish(
    prepare: Callable[[], PreparedT], book_id: str, *, held: dict[str, Any], show_paid: Callable[[ChargeResult], bool]
) -> PreparedT:
    """A click on Pay in a flow the browser completes: `prepare` the order and its payment, and return what it
    prepared when the browser may go on with its client secret. Otherwise this ends the run: field errors marked, a
    possible duplicate held with `held` to ask about, the order found paid already shown (when `show_paid` says it
    showed it), or the reason the payment could not start."""
    state.pop("checkout_notice", None)  # the last click's message is stale once a new payment starts
    try:
        prepared = prepare()
    except Exception:  # e.g. the order store is unavailable: no traceback for the customer, all of it in the log
        log.exception("checkout failed for book %s", book_id)
        _finish(("error", UNEXPECTED_FAILURE))
    if prepared.order is not None:
        state.checkout_order_id = prepared.order.id
    if prepared.errors:
        _wrong_details()
    if prepared.duplicate_of is not None:
        _hold_duplicate(prepared.duplicate_of, held)
        _finish()
    if prepared.paid is not None and show_paid(prepared.paid):
        _finish()
    if not prepared.ready:
        _finish(("error", prepared.message or "The payment could not be started; try again."))
    return prepared


def handle_pay_click(nonce: str, details: dict[str, str], book_id: str, quantity: int, *, again: bool = False) -> None:
    """PaymentIntents: write the order and its intent, then hand the client secret to the card to confirm."""
    if _seen(nonce) and not again:
        return
    received = time.perf_counter()

    def show_paid(paid: ChargeResult) -> bool:
        if paid.succeeded:
            _paid(paid, received, "payment_intents")
        return paid.succeeded

    prepared = _ready_or_finish(
        lambda: intents.prepare_checkout(
            details, book_id, quantity, order_id=state.get("checkout_order_id"), allow_duplicate=again
        ),
        book_id,
        held={"nonce": nonce},
        show_paid=show_paid,
    )
    state.checkout_confirm = {
        "nonce": nonce,
        "client_secret": prepared.client_secret,
        "billing_details": _billing_details(details),
    }
    _finish(reset=False)  # the card confirms the intent and answers with its outcome


def handle_outcome(outcome: dict[str, Any]) -> None:
    """PaymentIntents: the card confirmed; record what Stripe says about the order's intent (never the browser)."""
    received = time.perf_counter()
    if _seen(f"outcome-{outcome['nonce']}"):
        return
    state.pop("checkout_confirm", None)
    order_id = state.get("checkout_order_id")
    try:
        result = intents.settle_order(order_id, nonce=str(outcome["nonce"])) if order_id else None
    except intents.IntentUnavailable as exc:
        _finish(("error", exc.message))
    except Exception:
        log.exception("settling order %s failed", order_id)
        _finish(("error", UNEXPECTED_FAILURE))
    if result is None:
        _finish(("error", "This checkout can no longer be found; please pay again."))
    if result.order.payment_intent_id != outcome.get("payment_intent"):
        log.warning("card reported intent %r for order %s", outcome.get("payment_intent"), order_id)
    if result.succeeded:
        _paid(result, received, "payment_intents")
        _finish()
    _finish(("error", result.message))


def handle_token(
    payment: dict[str, Any], details: dict[str, str], book_id: str, quantity: int, *, again: bool = False
) -> None:
    """Charges: charge once per click (the nonce is recorded before anything else)."""
    received = time.perf_counter()
    if _seen(payment["nonce"]) and not again:
        return
    state.pop("checkout_notice", None)  # the last click's message is stale once a new payment starts
    try:
        outcome = charges.checkout(
            details, book_id, quantity, payment, order_id=state.get("checkout_order_id"), allow_duplicate=again
        )
    except Exception:  # e.g. the order store is unavailable: no traceback for the customer, all of it in the log
        log.exception("checkout failed for book %s", book_id)
        _finish(("error", UNEXPECTED_FAILURE))
    if outcome.duplicate_of is not None:
        _hold_duplicate(outcome.duplicate_of, {"payment": payment})
        _finish()
    if outcome.order_id:
        state.checkout_order_id = outcome.order_id
    result = outcome.result
    if result is not None and result.succeeded:
        _paid(result, received, "charges")
        _finish()
    if outcome.errors:
        _wrong_details()
    if result is not None:
        _finish(("error", result.message))
    _finish(("error", outcome.message or "The payment could not be made; try again."))


def _return_url() -> str:
    """This page's address with the session's id for Stripe to fill in (the way back from a redirect method)."""
    return str(st.context.url or "").split("?")[0] + "?session_id={CHECKOUT_SESSION_ID}"


def session_payment(total: int | None, book: catalog.Book, quantity: int, details: dict[str, str]) -> None:
    """Checkout Sessions: "Continue to payment" until the order's session is made, then the Payment Element on it.

    The session is dropped (and "Continue to payment" shown again) when the book, quantity or details change
    since it was made, so a payment is always on the order as the customer sees it.
    """
    settings = get_settings()
    held = state.get("checkout_session")
    checked = validate_email_only(details).values
    if held and (held["book_id"], held["quantity"], held["details"]) != (book.id, quantity, checked):
        state.pop("checkout_session", None)
        held = None
    if held is None:
        if st.button(
            "Continue to payment",
            icon=":material/lock:",
            type="primary",
            disabled=total is None,
            key="checkout_session_start",
            width="stretch",
        ):
            start_session(details, book.id, quantity)
    else:
        report = checkout_elements(
            held["client_secret"],
            settings.publishable_key,
            settings.stripe_js_url,
            email=held["email"],
            expected_amount=held["amount"],
            key=f"checkout-{held['session_id']}",
            contact=held.get("contact"),
        )
        if report.get("attempt") and report["state"] in ("succeeded", "processing", "failed"):
            handle_session_report(held, report)
    if settings.is_test:
        st.caption(SESSION_TEST_HINT)


def start_session(details: dict[str, str], book_id: str, quantity: int, *, again: bool = False) -> None:
    """Checkout Sessions: write the order and find or make its session, then mount the Payment Element on it."""
    received = time.perf_counter()
    prepared = _ready_or_finish(
        lambda: sessions.prepare_session(
            details,
            book_id,
            quantity,
            return_url=_return_url(),
            order_id=state.get("checkout_order_id"),
            allow_duplicate=again,
        ),
        book_id,
        held={"session": True},
        show_paid=lambda paid: _session_done(paid, received),
    )
    state.checkout_session = {
        "session_id": prepared.session_id,
        "client_secret": prepared.client_secret,
        "order_id": prepared.order.id,
        "email": prepared.order.customer.email,
        "amount": prepared.order.amount,
        "book_id": book_id,
        "quantity": quantity,
        "details": validate_email_only(details).values,
        "contact": prepared.contact,  # the address given on this session before (back from a redirect), selected
    }
    _finish(reset=False)


def _session_done(result: ChargeResult, received: float) -> bool:
    """The order's session is paid (or its bank debit is processing): show the confirmation; False otherwise."""
    if result.succeeded:
        _paid(result, received, "checkout_sessions")
    elif result.outcome == "processing":
        state.checkout_confirmation = {"order_id": result.order.id, "charge_id": result.charge_id, "processing": True}
    else:
        return False
    state.checkout_confirmation["integration"] = integrations.name_of("checkout_sessions")
    state.pop("checkout_session", None)
    return True


def handle_session_report(held: dict[str, Any], report: dict[str, Any]) -> None:
    """Checkout Sessions: the Payment Element finished an attempt; settle from the session Stripe has, once per
    attempt. Only the shop's own messages are shown, never the browser's text."""
    if _seen(f"session-{held['session_id']}-{report['attempt']}"):
        return
    received = time.perf_counter()
    try:
        result = sessions.settle_session(held["session_id"], nonce=str(report["attempt"]))
    except intents.IntentUnavailable as exc:
        _finish(("error", exc.message), reset=False)
    except Exception:
        log.exception("settling session %s failed", held["session_id"])
        _finish(("error", UNEXPECTED_FAILURE), reset=False)
    if result is None:
        state.pop("checkout_session", None)
        _finish(("error", SESSION_GONE))
    if result.outcome in ("succeeded", "processing"):
        _session_done(result, received)
        _finish()
    code = (report.get("error") or {}).get("code")
    if code in ("amount_mismatch", "load_failed") or result.outcome in ("expired", "refunded"):
        state.pop("checkout_session", None)  # this session can take no payment: the next click makes another
        message = {"amount_mismatch": AMOUNT_CHANGED, "load_failed": PAYMENT_UNAVAILABLE}.get(code, result.message)
        _finish(("error", message))
    _finish(("error", result.message), reset=False)


def session_return() -> None:
    """Checkout Sessions: back from a redirect method (Klarna) with `session_id` and `redirect_status` in the
    address: settle from the session Stripe has, then clear those parameters."""
    session_id = st.query_params.get("session_id")
    if not session_id or not st.query_params.get("redirect_status"):
        return
    for name in RETURN_PARAMS:
        if name in st.query_params:
            del st.query_params[name]
    received = time.perf_counter()
    try:
        result = sessions.settle_session(session_id)
    except intents.IntentUnavailable as exc:
        _finish(("error", exc.message))
    except Exception:
        log.exception("settling returning session %s failed", session_id)
        _finish(("error", UNEXPECTED_FAILURE))
    if result is None:
        _finish(("error", SESSION_GONE))
    state.checkout_order_id = result.order.id
    if result.outcome in ("succeeded", "processing"):
        _session_done(result, received)
        _finish()
    _restore_details(result.order)
    _finish(("error", result.message))


def _restore_details(order: orders.Order) -> None:
    """Put the order's details back in the form: back from a redirect is a new browser session, and what the
    customer typed lived in the old one's state (the order kept it, as they typed it)."""
    for name, key in DETAIL_KEYS.items():
        if getattr(order.customer, name):  # a Checkout Sessions order knows its address only once Stripe has it
            state[key] = getattr(order.customer, name)
    state.checkout_book, state.checkout_quantity = order.book_id, order.quantity


def answer_duplicate(answer: str, details: dict[str, str], book_id: str, quantity: int) -> None:
    """Go on with the held click after "Yes, buy it again", or drop it after "No"."""
    held = state.pop("checkout_duplicate", None)
    if not held or answer == "no":
        _finish(("warning", "Nothing was charged. Your earlier order stands."))
    if held.get("session"):
        start_session(details, book_id, quantity, again=True)
    if "payment" in held:
        handle_token(held["payment"], details, book_id, quantity, again=True)
    else:
        handle_pay_click(held["nonce"], details, book_id, quantity, again=True)


@st.dialog("Your email", width="large")
def show_confirmation_email(order_id: str, kind: str = "confirmed") -> None:
    """This order's email of `kind` (its confirmation, or for a bank debit still processing the "on its way" one)
    as the customer's mail program shows it (the shop's own mailbox, demo only)."""
    kept = emails.kept_for_order(order_id, kind)
    if not kept:
        st.info("The email is on its way; open this again in a moment.", icon=":material/schedule:")
        return
    st.caption("This demo keeps emails on the shop's own mail server, so here is what the customer receives.")
    emails.show_message(kept[0], source=False)


def confirmation(done: dict[str, Any]) -> None:
    """The confirmation of a paid order: total, charge id, order number, and where to track it."""
    order = orders.get_order(done["order_id"])
    if order is None:  # the order store was reset under this session
        st.warning("This order can no longer be found. Check the Your order page, or start a new checkout.")
        st.button("Buy another book", type="primary", on_click=new_checkout)
        return
    book = catalog.get_book(order.book_id)
    st.title("Thank you for your order")
    # The form was scrolled down when Pay was clicked; the confirmation opens at its top, its heading focused (the
    # Pay button that had the focus is gone, and a screen reader then starts reading here).
    card_component.bring_into_view(
        '[data-testid="stHeading"] h1', key="checkout_scroll_top", token=order.id, focus=True
    )
    state.checkout_last_order = (order.id, order.customer.email)  # prefills the Your order page
    card_text = payment_methods.in_words(done.get("brand"), done.get("last4")) or "card"
    total = format_amount(order.amount, order.currency)
    processing = bool(done.get("processing")) and not order.paid_at
    if processing:  # a bank debit: nothing ships until it settles (the order stays unpaid until then)
        st.info(sessions.PROCESSING_MESSAGE, icon=":material/schedule:")
    elif order.awaiting_capture:  # capture at shipment: only authorized until the order ships
        st.success(f"Payment authorized: {total} is held on your {card_text} and charged when your order ships.")
    else:
        st.success(f"Payment received: {total} was charged to your {card_text}.")
    left, right = st.columns([1, 3], gap="large")
    with left:
        st.html(_cover_html(book.id, "sp-summary-cover"))
    with right:
        st.subheader(book.full_title)
        st.caption(f"by {book.author}")
        st.markdown(f"Quantity: **{order.quantity}**")
        if processing:
            st.markdown(f"### Total to be debited: {total}")
        else:
            st.markdown(f"### Total {'authorized' if order.awaiting_capture else 'charged'}: {total}")
        if done.get("charge_id"):
            st.markdown("Charge ID:")
            st.code(done["charge_id"], language=None)
        if done.get("integration"):
            st.caption(f"Paid through {done['integration']}.")
        st.markdown(f"Order number: **{order.id}** · keep it to track or cancel your order.")
        # The confirmation email was queued with the payment (shop.mail's outbox); where it goes decides the words.
        # A bank debit still processing has its "on its way" email instead (its confirmation comes once it settles).
        email_kind = "email about your bank payment" if processing else "confirmation email"
        article = "An" if processing else "A"
        if emails.mailbox_available():
            # Without SMTP_URL nothing leaves this machine: the email is in the shop's own mailbox, and this session
            # (the one that placed the order) may open it.
            show_line(
                f"Your {email_kind} to <strong>{inert(order.customer.email)}</strong> is kept in this demo "
                "shop's own mailbox (it sends nothing outside this machine)."
            )
            if st.button("See the email", icon=":material/mail:", key="checkout_see_email"):
                show_confirmation_email(order.id, "debit_processing" if processing else "confirmed")
        else:
            show_line(f"{article} {email_kind} is on its way to <strong>{inert(order.customer.email)}</strong>.")
        dashboard = get_settings().dashboard_url(done["charge_id"]) if done.get("charge_id") else None
        if dashboard:
            st.link_button("View the charge in the Stripe Dashboard", dashboard)
        st.page_link(
            "pages/your_order.py",
            label="Track or cancel this order on the Your order page",
            icon=":material/package_2:",
            query_params={"order": order.id},
        )
        st.button("Buy another book", type="primary", on_click=new_checkout)
    timing = state.get("checkout_timing")
    if timing and "shown" not in timing:
        timing["shown"] = time.perf_counter()
