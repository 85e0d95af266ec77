"""Streamlit custom components of the shop."""

from __future__ import annotations

from pathlib import Path

_STRIPE_JS = Path(__file__).resolve().parent / "stripe_js.js"
_PAY_BUTTON_CSS = Path(__file__).resolve().parent / "pay_button.css"


def module_js(own: Path) -> str:
    """A payment component's JS module: the shared Stripe.js loading (`stripe_js.js`), then the file `own`.

    Components v2 takes a component's JS as one text, so the shared part is joined in front rather than imported.
    """
    return _STRIPE_JS.read_text(encoding="utf-8") + "\n" + own.read_text(encoding="utf-8")


def component_css(own: Path) -> str:
    """A payment component's CSS: the Pay button's rules (`pay_button.css`), then the file `own`."""
    return _PAY_BUTTON_CSS.read_text(encoding="utf-8") + "\n" + own.read_text(encoding="utf-8")
