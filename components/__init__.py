"""Streamlit custom components of the shop."""

from __future__ import annotations

from pathlib import Path

_STRIPE_JS = Path(__file__).resolve().parent / "stripe_js.js"


def module_js(own: Path) -> str:
    """A payment component's JS module: the shared Stripe.js loading (`stripe_js.js`), then the file `own`.

    Components v2 takes a component's JS as one text, so the shared part is joined in front rather than imported.
    """
    return _STRIPE_JS.read_text(encoding="utf-8") + "\n" + own.read_text(encoding="utf-8")
