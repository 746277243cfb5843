"""The split tests reuse the relational and polyglot fixtures, on the embedded pair and on
the embedded document store beside PostgreSQL (the Cosmos server pair is left to the
whole-document tests: these stay fast)."""

from __future__ import annotations

import pytest

from tests.integration.polyglot.conftest import (  # noqa: F401
    _fast_retries,
    open_polyglot,
    poly,
    polyglot_pg_url,
)
from tests.integration.relational.conftest import pg_url, sqlite_template, store  # noqa: F401

SPLIT_PAIRS = ("embedded", "sqlite-postgres")


@pytest.fixture(params=SPLIT_PAIRS)
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)
