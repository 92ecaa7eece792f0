"""Alembic migration environment (see db/migrate.py for how it is run)."""
