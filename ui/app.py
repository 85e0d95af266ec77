"""The app's entry: page settings, the emulator kept alive in emulator mode, and the navigation.

The shop and "Your order" are public; the finance pages are listed in the sidebar only for signed-in staff. Their
URLs are always in the navigation, so a reload or a link reaches them: signed out, each shows the sign-in form
instead (ui.gate.staff_page), which leads back to it. The navigation is drawn by `st.page_link`s in the sidebar
rather than Streamlit's own menu, which `.streamlit/config.toml` hides (`client.showSidebarNavigation = false`):
that setting also hides the listing of the `pages/` folder that a fresh server would otherwise show its first
visitor (see ui.gate).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from shop.config import ConfigError, get_settings
from shop.emulator_process import ensure_running
from ui import gate

# The tab's icon, served by the app itself: a `:material/…` page icon makes the browser fetch its image from
# fonts.gstatic.com on every visit (Streamlit's frontend builds that URL), which fails offline.
FAVICON = Path(__file__).parent / "assets" / "favicon.png"
SHOP_PAGES = (
    ("pages/store.py", "Shop", ":material/menu_book:"),
    ("pages/your_order.py", "Your order", ":material/package_2:"),
)
FINANCE_PAGES = (
    ("pages/charges.py", "Charges", ":material/credit_card:"),
    ("pages/failures.py", "Failures", ":material/warning:"),
    ("pages/refunds.py", "Refunds", ":material/undo:"),
    ("pages/orders.py", "Orders", ":material/receipt_long:"),
    ("pages/disputes.py", "Disputes", ":material/gavel:"),
    ("pages/balance.py", "Balance and payouts", ":material/account_balance:"),
    ("pages/developers.py", "Developers", ":material/terminal:"),
    ("pages/mailbox.py", "Mailbox", ":material/mail:"),
    ("pages/charge.py", "Charge", ":material/search:"),
)
# The charge detail is in the navigation (so links and switch_page reach it) but not in the sidebar
# (HIDDEN_URL_PATHS): a charge is opened from a table or the search on Charges.
SIGN_IN_PAGE = ("pages/sign_in.py", "Sign in", ":material/lock:")
# The URL paths of the finance pages (Streamlit's, from the file names): where a sign-in may lead back to.
FINANCE_TITLES = {path.removeprefix("pages/").removesuffix(".py"): title for path, title, _ in FINANCE_PAGES}
FINANCE_URL_PATHS = tuple(FINANCE_TITLES)


HIDDEN_URL_PATHS = ("charge",)


# Streamlit draws captions as the text colour at 60% opacity, #828180 on white: a contrast of 3.9:1, where text
# needs 4.5:1 (WCAG 2.1 AA, 1.4.3). Opaque and darker they read 6.5:1.
# It draws the chosen option of a segmented control (Failures' Day / Week) in the primary colour on a 10% tint of
# it: 4.1:1 for our #635bff on #efefff. A darker shade of the same violet reads 5.4:1.
APP_CSS = (
    "<style>[data-testid='stCaptionContainer'],[data-testid='stCaptionContainer'] p{color:#5f5e5b;opacity:1}"
    "[data-testid='stButtonGroup'] button[data-selected='true'],"
    "[data-testid='stButtonGroup'] button[data-selected='true'] p{color:#5147e6}</style>"
)


def _page(path: str, title: str, icon: str, default: bool = False) -> st.Page:
    # The store page keeps the /shop address it had before its file was renamed (pages/shop.py shadowed the shop
    # package); the others keep the URL paths Streamlit derives from their file names.
    url_path = {"pages/store.py": "shop", "pages/charge.py": "charge"}.get(path)
    return st.Page(path, title=title, icon=icon, default=default, url_path=url_path)


def _sidebar(sections: dict[str, list[st.Page]], *, staff: bool) -> None:
    settings = get_settings()
    with st.sidebar:
        for section, pages in sections.items():
            st.caption(section)
            for page in pages:
                if page.url_path not in HIDDEN_URL_PATHS:
                    st.page_link(page)
        st.divider()
        if settings.mode == "emulator":
            st.caption(":material/science: **Emulator mode** — offline Stripe; test cards only, no real money.")
        elif settings.is_live:
            st.caption(":material/warning: **Stripe LIVE mode** — real cards are charged.")
        else:
            st.caption(":material/experiment: **Stripe test mode** — use Stripe's test cards.")
        if staff:
            gate.sign_out_button()


def main() -> None:
    """Run the app: settings, the emulator in emulator mode, the navigation, and the page the visitor asked for."""
    st.set_page_config(page_title="Stripe Press Shop", page_icon=str(FAVICON), layout="wide")
    st.html(APP_CSS)  # style only: Streamlit draws no element for it
    try:
        settings = get_settings()
    except ConfigError as exc:
        # A configuration mistake is the operator's: the sentence names the setting to fix, never a secret.
        st.error(f"**The shop cannot start:** {exc}")
        st.stop()
    # Every page load, so an emulator that died is started again (emulator mode only; a cheap check otherwise).
    emulator = ensure_running(settings)
    if not emulator.ok:
        st.error(emulator.message)  # a plain sentence; the details are in the log

    shop_pages = [_page(*SHOP_PAGES[0], default=True), *(_page(*spec) for spec in SHOP_PAGES[1:])]
    finance_pages = [_page(*spec) for spec in FINANCE_PAGES]
    sign_in_page = _page(*SIGN_IN_PAGE)
    staff = gate.signed_in()  # once a run: without a secrets file, each asking reads the disk for one
    menu = {"Shop": shop_pages, **({"Finance": finance_pages} if staff else {"Staff": [sign_in_page]})}
    # Every page is in the navigation (a finance URL signed out shows the sign-in form); the sidebar lists `menu`.
    every_page = {"Shop": shop_pages, "Finance": finance_pages, "Staff": [sign_in_page]}
    navigation = st.navigation(every_page, position="hidden")
    _sidebar(menu, staff=staff)
    with gate.through_navigation(navigation.url_path):
        navigation.run()
