"""Reuse the polyglot fixtures (PostgreSQL database, fast retries)."""

from tests.integration.polyglot.conftest import _fast_retries, polyglot_pg_url  # noqa: F401
