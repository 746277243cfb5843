"""Polyglot fixtures on real store pairs: embedded (SQLite + SQLite) and Cosmos + PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import stamina

from mystira_data.bootstrap import open_platform
from mystira_data.polyglot.layer import Polyglot
from mystira_data.settings import Settings, load_settings
from tests.integration.relational.conftest import empty_all, run_async
from tests.servers import postgres as pg
from tests.servers.cosmos import CosmosServer, allow_sdk_warnings

PAIRS = ("embedded", "cosmos-postgres")
Factory = Callable[..., AbstractAsyncContextManager[Polyglot]]


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture(scope="session")
def polyglot_pg_url() -> Iterator[str]:
    from mystira_data.relational import migrate

    with pg.fresh_database(pg.server_url(), prefix="mystira_poly_") as url:
        run_async(migrate.upgrade(url))
        yield url


# A switch of the primary pauses writes for refresh + margin + drain (seconds by default).
# These fixtures open one instance at a time, whose own gate already waits out its writers,
# so the bounds are kept short; tests of the cross-instance fence set their own.
FAST_SWITCH = {"PhaseSwitchMarginMs": 50, "PhaseSwitchDrainMs": 100}


def pair_settings(
    pair: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: Any
) -> Settings:
    overrides["PolyglotPersistence"] = {
        **FAST_SWITCH,
        **overrides.get("PolyglotPersistence", {}),
    }
    if pair == "embedded":
        return load_settings(data_dir=tmp_path / "data", **overrides)
    if pair == "sqlite-postgres":  # the embedded document store beside PostgreSQL
        conns = {"PostgreSql": request.getfixturevalue("polyglot_pg_url")}
        return load_settings(data_dir=tmp_path / "data", ConnectionStrings=conns, **overrides)
    server: CosmosServer = request.getfixturevalue("cosmos_server")
    allow_sdk_warnings()
    conns = {
        "CosmosDb": server.connection_string + "DisableServerCertificateValidation=True;",
        "CosmosDatabase": f"poly-{uuid.uuid4().hex[:10]}",
        "PostgreSql": request.getfixturevalue("polyglot_pg_url"),
    }
    return load_settings(data_dir=tmp_path / "data", ConnectionStrings=conns, **overrides)


@pytest.fixture(params=PAIRS)
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_polyglot(pair: str, tmp_path: Path, request: pytest.FixtureRequest) -> Factory:
    """Opens the polyglot layer on this test's pair; call again for a second 'process'."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[Polyglot]:
        settings = pair_settings(pair, tmp_path, request, **overrides)
        async with open_platform(settings, refresh_s=0, provision=True) as poly:
            yield poly

    return factory


@pytest.fixture
async def poly(open_polyglot: Factory, pair: str) -> AsyncIterator[Polyglot]:
    async with open_polyglot() as opened:
        if pair in ("cosmos-postgres", "sqlite-postgres"):
            await empty_all(opened.raw_relational)
        yield opened
