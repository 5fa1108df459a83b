"""Revisions of the central store schema."""
