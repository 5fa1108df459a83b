"""Alembic migrations of the central store (a package so that builds ship them)."""
