"""Reuse the polyglot pair fixtures (embedded, and Cosmos API server + PostgreSQL)."""

from tests.integration.polyglot.conftest import (  # noqa: F401
    _fast_retries,
    open_polyglot,
    pair,
    poly,
    polyglot_pg_url,
)
