"""Alembic migrations of the shop's database; `shop.db.migrate` runs them (there is no alembic.ini to keep)."""
