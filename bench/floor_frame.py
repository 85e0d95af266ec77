"""What ui.app draws around every page, as the floor pages draw it: the same elements, with nothing behind them.

The app sets its page (wide, its title and icon) and its style block, and draws its menu in the sidebar: page
links (one per page the visitor may open, under a caption per section), a divider, the mode's caption and, for
staff, the sign-out form. A floor page draws the same elements, linking nowhere: it has no other pages, and the
links only have to cost the browser what the app's cost it.
"""

import streamlit as st

from ui.app import APP_CSS, FAVICON, FINANCE_PAGES, FINANCE_URL_PATHS, HIDDEN_URL_PATHS, SHOP_PAGES, SIGN_IN_PAGE

SIGN_OUT_FORM = '<form method="post" action="/floor/sign-out"><button type="submit">Sign out</button></form>'


def floor_frame(*, staff: bool) -> None:
    """Set the page as the app does and draw the sidebar it shows a visitor (`staff=False`) or staff (`staff=True`)."""
    st.set_page_config(page_title="Stripe Press Shop", page_icon=str(FAVICON), layout="wide")
    st.html(APP_CSS)
    finance = [
        spec
        for url_path, spec in zip(FINANCE_URL_PATHS, FINANCE_PAGES, strict=True)
        if url_path not in HIDDEN_URL_PATHS
    ]
    sections = {"Shop": SHOP_PAGES, **({"Finance": finance} if staff else {"Staff": (SIGN_IN_PAGE,)})}
    with st.sidebar:
        for section, pages in sections.items():
            st.caption(section)
            for path, title, icon in pages:
                st.page_link(f"https://example.com/{path}", label=title, icon=icon)
        st.divider()
        st.caption(":material/science: **Emulator mode** — offline Stripe; test cards only, no real money.")
        if staff:
            st.html(SIGN_OUT_FORM)
