"""The words and numbers demo history is made of: test cards, the mix of outcomes, names, places, reasons."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400
HOUR = 3_600
MINUTE = 60
DEFAULT_DAYS = 30
DEFAULT_ORDERS = 400
DEFAULT_SEED = 5

# Reusable test tokens that succeed, with the brand and last four digits of the card each stands for, and how
# often customers pay with it.
SUCCESS_CARDS: dict[str, tuple[str, str, int]] = {
    "tok_visa": ("visa", "4242", 40),
    "tok_mastercard": ("mastercard", "4444", 22),
    "tok_amex": ("amex", "0005", 12),
    "tok_visa_debit": ("visa", "5556", 10),
    "tok_discover": ("discover", "1117", 6),
    "tok_mastercard_debit": ("mastercard", "8210", 5),
    "tok_mastercard_prepaid": ("mastercard", "5100", 2),
    "tok_jcb": ("jcb", "0505", 1),
    "tok_diners": ("diners", "0004", 1),
    "tok_unionpay": ("unionpay", "0005", 1),
}
# Reusable test tokens that are declined at charge time (the decline codes of the facts page), and how often.
DECLINE_CARDS: dict[str, tuple[str, str, int]] = {
    "tok_chargeDeclinedInsufficientFunds": ("visa", "9995", 34),
    "tok_chargeDeclined": ("visa", "0002", 18),
    "tok_chargeDeclinedExpiredCard": ("visa", "0069", 10),
    "tok_chargeDeclinedIncorrectCvc": ("visa", "0127", 10),
    "tok_chargeDeclinedProcessingError": ("visa", "0119", 8),
    "tok_chargeDeclinedLostCard": ("visa", "9987", 5),
    "tok_chargeDeclinedStolenCard": ("visa", "9979", 4),
    "tok_chargeDeclinedVelocityLimitExceeded": ("visa", "6975", 4),
    "tok_radarBlock": ("visa", "0019", 4),
}
# Reusable test tokens whose charges succeed and then something happens later (docs.stripe.com/testing#disputes,
# #refunds): a chargeback for fraud, one for a parcel not received, a fraud inquiry, and a card whose refunds fail
# some time after they were made.
DISPUTE_TOKENS = ("tok_createDispute", "tok_createDisputeProductNotReceived")
INQUIRY_TOKEN = "tok_createDisputeInquiry"
REFUND_FAIL_TOKEN = "tok_refundFail"
LATER_CARDS: dict[str, tuple[str, str, int]] = {
    "tok_createDispute": ("visa", "0259", 0),
    "tok_createDisputeProductNotReceived": ("visa", "2685", 0),
    INQUIRY_TOKEN: ("visa", "1976", 0),
    REFUND_FAIL_TOKEN: ("visa", "5126", 0),
}
CARDS = {**SUCCESS_CARDS, **DECLINE_CARDS, **LATER_CARDS}
# Stripe's test US bank accounts (docs.stripe.com/payments/ach-direct-debit/accept-a-payment, "Test your
# integration"): account number -> (the bank's return code, None when the debit settles; how often).
BANK_ROUTING_NUMBER = "110000000"
BANK_ACCOUNTS: dict[str, tuple[str | None, int]] = {
    "000123456789": (None, 80),
    "000222222227": ("insufficient_funds", 14),
    "000111111113": ("account_closed", 6),
}
SETTLED_BANK_ACCOUNT, RETURNED_BANK_ACCOUNT = "000123456789", "000222222227"
# Confirm -> the bank's answer: an ACH debit settles in about four business days (docs.stripe.com/payments/
# ach-direct-debit#timing).
BANK_SETTLES_AFTER = (2 * DAY, 4 * DAY)
# Evidence text that decides a test-mode dispute (docs.stripe.com/testing#evidence).
WINNING_EVIDENCE, LOSING_EVIDENCE = "winning_evidence", "losing_evidence"
# Steps that call Stripe (the emulator's clock is set for these; the others only touch the order store).
STRIPE_STEPS = frozenset(
    {"pay", "pay_debit", "debit_settles", "cancel", "refund", "approve", "ship_capture", "evidence"}
)


@dataclass(frozen=True)
class Mix:
    """The shape of the demo history, as probabilities per order (the seeder's stated bounds are around these)."""

    first_decline: float = 0.14  # first payment attempt declined
    retry_after_decline: float = 0.6  # a declined customer pays with another card
    returning_customer: float = 0.25  # the order comes from someone who ordered before
    cancel: float = 0.04  # a paid order cancelled before shipping (full refund)
    refund_fraudulent: float = 0.008  # finance refunds a paid order as fraudulent, before shipping
    refund_duplicate: float = 0.01  # finance refunds an accidental second order in full, before shipping
    refund_goodwill: float = 0.01  # finance refunds part of a shipped order (late delivery)
    request_full: float = 0.025  # after delivery the customer asks for a refund; approved in full
    request_partial: float = 0.015  # ... asks for part of it back (a damaged copy); approved for that part
    request_rejected: float = 0.008  # ... asks, and finance rejects it
    ship_after_h: tuple[float, float] = (4, 72)  # paid -> shipped
    weekend_weight: float = 0.55  # orders per weekend day relative to a weekday
    # Rarer stories, as shares of all orders but at least one of each per run (`special_count`):
    dispute_won: float = 0.004  # a chargeback answered with evidence that wins
    dispute_lost: float = 0.004  # ... with evidence that loses
    dispute_open: float = 0.004  # a recent chargeback still waiting for an answer (its deadline ahead)
    inquiry: float = 0.002  # a recent fraud inquiry, not answered yet
    refund_fails: float = 0.003  # a shipped order refunded in part; the refund fails later
    at_shipment: float = 0.012  # authorized at checkout, captured when shipped
    shipped_at_shipment: int = 1  # on top: one of them old enough to have shipped by the run, whatever its hour
    expired_authorizations: int = 1  # authorized, never shipped, released by Stripe after 7 days
    recovered_decline: int = 1  # declined, then paid with another card within "Last 30 days", whatever the hour
    bank_debit: float = 0.06  # paid through Checkout Sessions from a US bank account; a few the bank returns
    settled_debit: int = 1  # on top: one debit the bank settled within "Last 30 days", whatever the hour
    returned_debit: int = 1  # ... and one it returned

    def special_count(self, share: float, orders_count: int) -> int:
        """How many orders of a run of `orders_count` get a story of this share (one at least, none of none)."""
        return max(1, round(share * orders_count)) if orders_count else 0


MIX = Mix()

# Relative order volume by hour of day (UTC): quiet at night, busy late morning and evening.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 9, 9, 9, 8, 8, 9, 10, 9, 7, 4, 2)
QUANTITY_WEIGHTS = {1: 78, 2: 14, 3: 5, 4: 2, 5: 1}
BOOK_WEIGHTS = {
    "art-of-doing-science": 30,
    "working-in-public": 22,
    "high-growth-handbook": 20,
    "dream-machine": 16,
    "making-of-prince-of-persia": 12,
}

REQUEST_REASONS_FULL = (
    "The book arrived with a torn cover and bent pages.",
    "I ordered the wrong title by mistake.",
    "It was a gift and the person already had it.",
    "The parcel arrived soaked through.",
    "Pages 120 to 152 are printed twice and 153 to 184 are missing.",
)
REQUEST_REASONS_PARTIAL = (
    "One of the copies arrived with a crushed corner.",
    "The dust jacket was torn; the book itself is fine.",
    "Delivery took three weeks; can you refund part of it?",
)
REQUEST_REASONS_REJECTED = (
    "I read it and did not enjoy it.",
    "Found it cheaper somewhere else.",
)
REJECT_NOTES = ("Read and returned outside the policy.", "Price matching is not offered.")

FIRST_NAMES = (
    "Ada Alan Amara Ana Anders Anika Ben Bianca Carlos Chen Chloe Dana David Diego Elena Emeka Emma Farah Felix "
    "Grace Hana Hugo Ines Isaac Jamal Jane Jonas Julia Kai Kenji Laila Leo Lucia Maya Mateo Mei Mira Nadia Noah "
    "Nora Omar Oscar Priya Rafael Rosa Ruth Sam Sara Sofia Tariq Theo Uma Victor Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Abbott Adeyemi Alvarez Bauer Becker Brooks Castillo Chang Cohen Da_Silva Dubois Evans Fischer Garcia Gupta "
    "Hansen Haddad Ito Jensen Johnson Kim Kowalski Larsen Lee Lopez Martin Meyer Morales Nakamura Nguyen Novak "
    "Okafor Olsen Patel Perez Quinn Reyes Rossi Sato Schmidt Singh Smith Sullivan Tanaka Taylor Torres Walsh "
    "Weber Williams Wong Young Zhang"
).split()
STREET_NAMES = (
    "Oak Maple Cedar Pine Elm Lake Hill Park Washington Lincoln Market Mission Church River Sunset Highland "
    "Forest Spring Valley Meadow Harbor Orchard Willow Chestnut Franklin"
).split()
STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct")
# (city, state, ZIP prefix) for US addresses; ZIPs get two random digits after the prefix.
US_CITIES = (
    ("San Francisco", "CA", "941"),
    ("Oakland", "CA", "946"),
    ("Los Angeles", "CA", "900"),
    ("Seattle", "WA", "981"),
    ("Portland", "OR", "972"),
    ("Denver", "CO", "802"),
    ("Austin", "TX", "787"),
    ("Chicago", "IL", "606"),
    ("Minneapolis", "MN", "554"),
    ("Boston", "MA", "021"),
    ("Brooklyn", "NY", "112"),
    ("New York", "NY", "100"),
    ("Philadelphia", "PA", "191"),
    ("Atlanta", "GA", "303"),
    ("Miami", "FL", "331"),
    ("Madison", "WI", "537"),
    ("Ann Arbor", "MI", "481"),
    ("Raleigh", "NC", "276"),
)
# Addresses abroad: (country, city, state, postal code).
ABROAD = (
    ("CA", "Toronto", "ON", "M5V 2T6"),
    ("CA", "Vancouver", "BC", "V6B 1A1"),
    ("GB", "London", "", "EC1V 9HX"),
    ("GB", "Manchester", "", "M1 1AE"),
    ("DE", "Berlin", "", "10115"),
    ("IE", "Dublin", "", "D02 X285"),
    ("AU", "Melbourne", "VIC", "3000"),
    ("NL", "Amsterdam", "", "1012 AB"),
    ("SG", "Singapore", "", "049315"),
)
ABROAD_SHARE = 0.15
