"""Which checkout integration a shop session pays through: the server's CHECKOUT_API, or in emulator mode the one a
visitor picked on the shop page to see another flow.

The choice only changes how this session's next order is paid. Webhooks and reconciliation settle an order by the
Stripe objects it has (its intent, its attempts' charges, its Checkout Session), never by a setting, so an order paid
through a picked integration settles like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.config import CHECKOUT_APIS, CheckoutApi, Settings


@dataclass(frozen=True)
class Integration:
    """One checkout integration: its CHECKOUT_API value, its name on the page and one line on what it does."""

    api: CheckoutApi
    name: str
    description: str


INTEGRATIONS: dict[CheckoutApi, Integration] = {
    "payment_intents": Integration(
        "payment_intents",
        "PaymentIntents with the Card Element",
        "The server creates a PaymentIntent; the card confirms it in the browser, with 3-D Secure when asked.",
    ),
    "charges": Integration(
        "charges",
        "Charges with a card token (legacy)",
        "The card becomes a token in the browser; the server charges it with the older Charges API.",
    ),
    "checkout_sessions": Integration(
        "checkout_sessions",
        "Checkout Sessions with the Payment Element",
        "The server creates a Checkout Session; the Payment Element pays it by card or bank debit.",
    ),
}
assert tuple(INTEGRATIONS) == CHECKOUT_APIS  # one entry for every value CHECKOUT_API accepts


def choosable(settings: Settings) -> tuple[CheckoutApi, ...]:
    """The integrations a shop session may pay through, the server's CHECKOUT_API first.

    All of them in emulator mode, where no money moves and a demo shows each flow. With Stripe keys only the
    server's CHECKOUT_API: a switch meant for demos must not change how real customers' money is taken (which
    API, which payment methods, what Stripe's Dashboard and the webhook endpoint see), so it is the operator's
    setting alone.
    """
    if settings.mode != "emulator":
        return (settings.checkout_api,)
    return (settings.checkout_api, *(api for api in CHECKOUT_APIS if api != settings.checkout_api))


def resolve(choice: str | None, settings: Settings) -> CheckoutApi:
    """The integration this session pays through: `choice` when it may be chosen, else the server's CHECKOUT_API
    (no choice, an unknown one, or any choice with Stripe keys)."""
    allowed = choosable(settings)
    return next((api for api in allowed if api == choice), settings.checkout_api)


def name_of(api: CheckoutApi) -> str:
    """The integration's name as the page and the confirmation show it."""
    return INTEGRATIONS[api].name
