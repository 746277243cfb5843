"""Each store made unreachable on real servers: `status --json`, `/readyz` and `/metrics` say
which store, since when and its breaker, and the product keeps serving what it can.

Redis: a dead port (the cache falls back to memory, the service stays ready). PostgreSQL and
the Cosmos API server: a TCP fault proxy in front of the real server, cut mid-test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from mystira_data.api.app import create_app
from mystira_data.cli.app import app as cli
from mystira_data.relational.store import RelationalStore
from mystira_data.settings import Settings, load_settings
from tests.integration.api.conftest import Service, ServiceFactory, account
from tests.integration.api.test_console import open_console
from tests.integration.api.test_metrics import samples, value
from tests.integration.relational.conftest import empty_all
from tests.servers.cosmos import allow_sdk_warnings, running_cosmos_server
from tests.servers.faultproxy import FaultProxy

DEAD_REDIS = "redis://127.0.0.1:1/0"
BREAKER = {"BreakerFailureThreshold": 2, "BreakerOpenSeconds": 60}


@asynccontextmanager
async def serving(settings: Settings, *, provision: bool = True) -> AsyncIterator[Service]:
    """The service on ``settings``; a shared PostgreSQL database is emptied first (a phase
    configured for a container must meet no rows another test left)."""
    pg = settings.connection_strings.postgre_sql.get_secret_value()
    if pg:
        async with RelationalStore(pg) as store:
            await empty_all(store)
    app = create_app(settings, provision=provision, refresh_s=0)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Service(app, http)


@asynccontextmanager
async def proxy_to(host: str, port: int) -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy(host, port).start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def status_json(data: Path, env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.output)
    return body


async def readyz(service: Service) -> tuple[int, dict[str, Any]]:
    answer = await service.http.get("/readyz")
    health: dict[str, Any] = answer.json()["health"]
    return answer.status_code, health


async def test_redis_down_the_in_memory_fallback_serves_and_says_why(tmp_path: Path) -> None:
    env = {"MYSTIRA__CONNECTIONSTRINGS__REDIS": DEAD_REDIS}
    health = (await asyncio.to_thread(status_json, tmp_path / "cli", env))["health"]
    cache = health["stores"]["cache"]
    assert (cache["mode"], cache["reachable"], cache["needed"]) == ("fallback", False, False)
    assert "127.0.0.1:1" in cache["error"]
    assert cache["since"] is not None
    assert health["fallbacks"][0].startswith("cache: in-memory fallback (redis ping")
    assert health["ready"] is True  # the fallback serves: not a reason to stop traffic
    args = ["--data-dir", str(tmp_path / "cli"), "status"]
    table = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert "fallback active: cache: in-memory fallback" in table.output
    assert "cache: redis" not in table.output

    settings = load_settings(data_dir=tmp_path / "api", ConnectionStrings={"Redis": DEAD_REDIS})
    async with serving(settings) as service:
        headers = await service.key("operator")
        body = account("r1")
        assert (await service.http.post("/api/v1/accounts", json=body, headers=headers)).is_success
        assert (await service.http.get("/api/v1/accounts/r1", headers=headers)).status_code == 200
        status, health = await readyz(service)
        assert (status, health["stores"]["cache"]["mode"]) == (200, "fallback")
        metrics = (await service.http.get("/metrics")).text
        assert value(metrics, "mystira_cache_fallback_active") == 1
        assert value(metrics, "mystira_store_up", store="cache") == 0
        assert ("mystira_breaker_state", frozenset({("store", "cache")})) in samples(metrics)


async def test_postgresql_down_documents_still_serve_in_dual_write_cosmos_read(
    tmp_path: Path, polyglot_pg_url: str
) -> None:
    url = make_url(polyglot_pg_url)
    async with proxy_to(url.host or "127.0.0.1", url.port or 5432) as proxy:
        via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = load_settings(
            data_dir=tmp_path,
            ConnectionStrings={"PostgreSql": via},
            PolyglotPersistence={"Phase": "DualWriteCosmosRead", **BREAKER},
        )
        async with serving(settings) as service:
            headers = await service.key("operator")
            service.state.auth.ttl_s = 3600  # the key stays known while its store is cut off
            created = await service.http.post(
                "/api/v1/accounts", json=account("p1"), headers=headers
            )
            assert created.status_code == 201
            proxy.drop()
            for n in range(3):  # acknowledged: the secondary's failure is logged, not returned
                answer = await service.http.post(
                    "/api/v1/accounts", json=account(f"p-down-{n}"), headers=headers
                )
                assert answer.status_code == 201, answer.text
            read = await service.http.get("/api/v1/accounts/p1", headers=headers)
            assert read.status_code == 200  # from the document store, the primary
            status, health = await readyz(service)
            relational = health["stores"]["relational"]
            assert status == 503
            assert (relational["reachable"], relational["breaker"]) == (False, "open")
            assert relational["since"] is not None
            assert health["stores"]["documents"]["reachable"] is True
            metrics = (await service.http.get("/metrics")).text
            assert value(metrics, "mystira_store_up", store="relational") == 0
            assert value(metrics, "mystira_store_up", store="documents") == 1
            assert value(metrics, "mystira_breaker_state", store="relational") == 2
            assert value(metrics, "mystira_store_down_since_seconds", store="relational") > 0
            assert value(metrics, "mystira_ready") == 0
            proxy.restore()
        env = {"MYSTIRA__CONNECTIONSTRINGS__POSTGRESQL": via}
        proxy.drop()
        health = (await asyncio.to_thread(status_json, tmp_path, env))["health"]
        assert health["stores"]["relational"]["reachable"] is False
        assert health["stores"]["relational"]["since"] is not None
        assert health["ready"] is False


async def test_cosmos_down_postgresql_still_serves_in_postgres_only(
    tmp_path: Path, polyglot_pg_url: str
) -> None:
    # A private server, stopped mid-test: a proxy would not do, since the SDK learns the
    # server's own address from the account metadata (endpoint discovery, as real Cosmos).
    with contextlib.ExitStack() as private:
        server = private.enter_context(running_cosmos_server())
        settings = load_settings(
            data_dir=tmp_path,
            ConnectionStrings={
                "CosmosDb": server.connection_string + "DisableServerCertificateValidation=True;",
                "PostgreSql": polyglot_pg_url,
            },
            PolyglotPersistence={"Containers": {"Accounts": "PostgresOnly"}, **BREAKER},
        )
        async with serving(settings) as service:
            headers = await service.key("operator")
            body = account("c1")
            created = await service.http.post("/api/v1/accounts", json=body, headers=headers)
            assert created.status_code == 201, created.text
            await open_console(service)
            private.close()  # the Cosmos API server stops
            read = await service.http.get("/api/v1/accounts/c1", headers=headers)
            assert read.status_code == 200
            status, health = await readyz(service)
            documents = health["stores"]["documents"]
            assert (status, documents["reachable"]) == (503, False)
            assert documents["since"] is not None
            assert documents["error"]
            assert health["stores"]["relational"]["reachable"] is True
            metrics = (await service.http.get("/metrics")).text
            assert value(metrics, "mystira_store_up", store="documents") == 0
            assert value(metrics, "mystira_store_up", store="relational") == 1
            assert value(metrics, "mystira_phase", container="Accounts") == 3
            console = (await service.http.get("/console/live")).text
            assert '<span class="store down" data-store="documents">' in console
            assert 'data-container="Accounts"' in console  # the rest still shows


@pytest.fixture(autouse=True)
def _quiet_sdk() -> None:
    allow_sdk_warnings()


async def test_readyz_shows_the_writer_process(open_service: ServiceFactory) -> None:
    async_mode = {"SecondaryWriteMode": "async", "AsyncWriterProcess": True}
    async with open_service(PolyglotPersistence=async_mode) as service:
        secondary = service.state.poly.router.secondary
        assert await secondary.warm_up()
        _, health = await readyz(service)
        writer = health["writer"]
        assert (writer["mode"], writer["process"], writer["alive"]) == ("async", True, True)
        assert writer["pid"] == secondary.offload.pid  # type: ignore[attr-defined]
        assert writer["pid"] != os.getpid()
