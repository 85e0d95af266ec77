"""Stripe's error shape: one exception type that renders as Stripe's `{"error": {...}}` body."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An API error with Stripe's HTTP status and body fields."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        charge: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.charge = charge
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Stripe sends for this error."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        if self.charge:
            error["charge"] = self.charge
        error.update(self.extra)
        return {"error": error}


def request_log_url(request_id: str) -> str:
    """The `request_log_url` every Stripe error body carries (docs.stripe.com/api/errors: "A URL to the request
    log entry in your dashboard"), in Stripe's test-mode form; the emulator has no dashboard behind it."""
    return f"https://dashboard.stripe.com/test/logs/{request_id}"


def invalid(message: str, param: str | None = None, code: str | None = None, status: int = 400) -> StripeError:
    """A 400 invalid_request_error."""
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    """Stripe's resource_missing error for an unknown id."""
    return StripeError(
        404 if param == "id" else 400,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )
