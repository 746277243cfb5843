"""The split tests reuse the relational and polyglot fixtures."""

from tests.integration.polyglot.conftest import (  # noqa: F401
    _fast_retries,
    open_polyglot,
    pair,
    poly,
    polyglot_pg_url,
)
from tests.integration.relational.conftest import pg_url, sqlite_template, store  # noqa: F401
