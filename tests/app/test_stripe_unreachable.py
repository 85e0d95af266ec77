"""Stripe keys set and no route to Stripe: staff read what happened and what to do, never the SDK's own text."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe
from streamlit.testing.v1 import AppTest

from shop import stripe_io
from tests.support import ROOT
from tests.support_app import sign_in_as_staff

DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture
def stripe_mode_without_a_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stripe test mode whose every request meets a closed port (a proxy nobody listens on)."""
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_unreachable")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_unreachable")
    monkeypatch.setenv("OPS_PASSWORD", "a-staff-password")
    monkeypatch.setenv("SHOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_unused")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_the_charges_page_says_stripe_could_not_be_reached_and_what_to_check(stripe_mode_without_a_route):
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    sign_in_as_staff(at)
    at.run()
    at.switch_page("pages/charges.py")
    at.run()
    assert not at.exception, at.exception
    errors = [element.value for element in at.error]
    assert any(stripe_io.UNREACHABLE_WORDS in text for text in errors), errors
    page_text = " ".join(errors + [element.value for element in at.markdown])
    assert "support@stripe.com" not in page_text
    assert "api.stripe.com" not in page_text


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (stripe.APIConnectionError("Unexpected error communicating with Stripe"), stripe_io.UNREACHABLE_WORDS),
        (stripe.RateLimitError("Too many requests"), stripe_io.RATE_LIMITED_WORDS),
        (stripe.AuthenticationError("Invalid API Key provided: sk_test_****"), stripe_io.KEY_REFUSED_WORDS),
        (stripe.PermissionError("The provided key does not have access"), stripe_io.NOT_PERMITTED_WORDS),
        (stripe.APIError("Something went wrong on Stripe's end"), stripe_io.STRIPE_FAILED_WORDS),
        (stripe.InvalidRequestError("No such charge: 'ch_x'", "id"), "No such charge: 'ch_x'"),
    ],
)
def test_each_kind_of_failure_has_its_words(error: stripe.StripeError, words: str):
    assert stripe_io.staff_words(error) == words
