"""Demo controls (emulator mode only): arm a fault in the emulator for the next payment, so a stakeholder can show
what the customer and the order see when Stripe is slow, an answer is lost, Stripe fails or rate-limits — and that
an order is charged once whatever happens.

The faults are the emulator's (`/_emulator/faults`, see stripe_emulator/faults.py); each applies once, to the request
that moves the money in the integration it is armed for (the server's CHECKOUT_API unless the stakeholder picks
another, as the shop page's Integration switch lets each browser session do): the card's confirmation of the order's
PaymentIntent (from the browser), the server's `POST /v1/charges`, or the Payment Element's confirmation of the
Checkout Session (from the browser).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from shop.checkout import integrations
from shop.config import CheckoutApi, Settings, get_settings

SLOW_S = 10


class DemoControlError(RuntimeError):
    """The emulator did not take the demo control; the message is a plain sentence."""


@dataclass(frozen=True)
class DemoFault:
    """One demo control: what it arms, and what the customer and the order will show."""

    key: str
    label: str
    action: str | dict[str, Any]
    outcome: str  # a plain sentence for the stakeholder


FAULTS = (
    DemoFault(
        "slow",
        f"Stripe is slow ({SLOW_S} s)",
        {"delay_s": SLOW_S},
        f"The next payment waits {SLOW_S} seconds at Stripe: the customer sees Pay working, then the confirmation. "
        "The order is paid once.",
    ),
    DemoFault(
        "lost",
        "The answer is lost",
        "drop_after_commit",
        "Stripe takes the next payment but its answer never arrives. The shop asks Stripe what happened, so the "
        "customer still sees the confirmation and the order is paid once: nothing is charged twice.",
    ),
    DemoFault(
        "error",
        "Stripe fails (500)",
        {"status": 500},
        "Stripe answers the next payment with an error and takes nothing: the customer reads that the card was not "
        "charged and can press Pay again, which then pays. The order is paid once.",
    ),
    DemoFault(
        "rate_limited",
        "Rate limited (429)",
        {"status": 429},
        "Stripe refuses the next payment as too many requests and takes nothing: the customer reads that the card "
        "was not charged and can press Pay again, which then pays. The order is paid once.",
    ),
)
BY_KEY = {fault.key: fault for fault in FAULTS}


# The request that moves the money, per integration: method and path (a glob).
PAYMENT_REQUESTS: dict[CheckoutApi, tuple[str, str]] = {
    "payment_intents": ("POST", "/v1/payment_intents/*/confirm"),
    "charges": ("POST", "/v1/charges"),
    "checkout_sessions": ("POST", "/v1/payment_pages/*/confirm"),
}


def _call(settings: Settings, method: str, body: dict[str, Any] | None = None) -> Any:
    if settings.mode != "emulator":
        raise DemoControlError("Demo controls work with the local emulator only, not with Stripe.")
    request = urllib.request.Request(
        f"{settings.emulator_url}/_emulator/faults",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {settings.secret_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise DemoControlError("The emulator did not answer: reload the page and try again.") from exc


def arm(key: str, api: CheckoutApi | None = None, settings: Settings | None = None) -> DemoFault:
    """Arm the demo fault `key` (one of FAULTS) for the next payment through `api` (the server's CHECKOUT_API by
    default); returns it."""
    settings = settings or get_settings()
    fault = BY_KEY[key]
    method, path = PAYMENT_REQUESTS[api or settings.checkout_api]
    _call(settings, "POST", {"method": method, "path": path, "action": fault.action, "times": 1})
    return fault


def armed(settings: Settings | None = None) -> list[str]:
    """What is armed now, in words: each demo fault still waiting for its request and the integration whose
    payment it waits for ("Stripe fails (500), for PaymentIntents with the Card Element")."""
    settings = settings or get_settings()
    by_request = {request: api for api, request in PAYMENT_REQUESTS.items()}
    labels = []
    for item in _call(settings, "GET")["data"]:
        known = next((fault for fault in FAULTS if fault.action == item["action"]), None)
        api = by_request.get((item["method"], item["path"]))
        if known and api:
            labels.append(f"{known.label}, for {integrations.name_of(api)}")
        else:
            labels.append(f"{item['method']} {item['path']}: {item['action']}")
    return labels


def disarm_all(settings: Settings | None = None) -> int:
    """Clear every armed fault; how many there were."""
    return int(_call(settings or get_settings(), "DELETE")["deleted"])
