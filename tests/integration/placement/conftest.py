"""Placement tests reuse the polyglot fixtures: the embedded document store beside PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.polyglot.conftest import (  # noqa: F401 (fixtures)
    _fast_retries,
    open_polyglot,
    polyglot_pg_url,
)


@pytest.fixture(params=("sqlite-postgres",))
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)
