"""The shop's first view drawn with none of the shop's own work: what Streamlit alone costs for that content.

first_use_bench serves this script beside the shop and the bare page. It shows what the shop shows before Pay, in
the same layout and with the same widgets (five book cards with their Choose buttons, eight text fields and the
country list, the order's cover, quantity and total, the integration list, the Card Element component with its
Pay button, the app's frame and sidebar), but it reads no settings beyond the emulator's address, opens no store, checks
no sign-in and keeps no state. The shop's time over this page is what the shop's own code adds; this page's time
over the bare page is what Streamlit takes to draw that content.
"""

import html

import streamlit as st

from bench.floor_frame import floor_frame
from components.elements_card import elements_card
from shop import catalog, covers
from shop.config import get_settings
from shop.money import format_amount
from shop.validation import countries

FIELDS = [("Full name", "Email"), ("Phone", None), ("Address line 1", "Address line 2 (optional)")]
FIELDS += [("City", "State / Region"), ("Postal code", "Country")]
INTEGRATIONS = ["PaymentIntents with the Card Element", "Charges with the Card Element", "Checkout Sessions"]

floor_frame(staff=False)

st.title("Stripe Press")
st.caption("Ideas for progress — books on technology, science and economic progress.")
books = catalog.all_books()
for column, book in zip(st.columns(len(books), gap="medium"), books, strict=True):
    with column:
        cover = covers.cover_data_uri(book.id)
        price = format_amount(book.price, book.currency)
        st.html(
            f'<div><img src="{cover}" alt="" style="width:100%"><strong>{html.escape(book.title)}</strong><br>'
            f"{html.escape(book.author)}<br>{price}</div>"
        )
        st.button("Choose", key=book.id, width="stretch")
st.divider()
details_column, pay_column = st.columns(2, gap="large")
with details_column:
    st.subheader("Your details")
    for pair in FIELDS:
        for column, label in zip(st.columns(2), pair, strict=True):
            if label == "Country":
                column.selectbox(label, [name for _, name in countries()])
            elif label:
                column.text_input(label, max_chars=200)
with pay_column:
    book = books[0]
    st.subheader("Your order")
    cover_column, summary_column = st.columns([1, 2])
    cover_column.html(f'<img src="{covers.cover_data_uri(book.id)}" alt="" style="width:100%">')
    summary_column.markdown(f"**{book.full_title}**  \n{book.author}")
    summary_column.number_input("Quantity", min_value=1, step=1)
    summary_column.markdown(f"1 × {format_amount(book.price, book.currency)} — **Total**")
    st.selectbox("Integration (demo)", INTEGRATIONS)
    settings = get_settings()
    label = f"Pay {format_amount(book.price, book.currency)}"
    elements_card(
        settings.publishable_key, settings.stripe_js_url, amount_label=label, key="card", flow="payment_intents"
    )
    st.caption("Test mode: pay with **4242 4242 4242 4242**, any future date and any CVC.")
