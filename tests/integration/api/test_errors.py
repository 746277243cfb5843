"""Every error mapping, provoked: a store cut off (503), its breaker open (503 + its time),
throttling (429), a bug (500 without a trace), FastAPI's own validation (422)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from mystira_data.api.app import create_app
from mystira_data.errors import Throttled
from mystira_data.settings import load_settings
from tests.integration.api.conftest import Service, ServiceFactory, account
from tests.integration.relational.conftest import empty_all
from tests.servers.faultproxy import FaultProxy

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


@pytest.fixture
async def behind_proxy(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Service, FaultProxy]]:
    """The service with PostgreSQL reached through a fault proxy; Accounts read from it."""
    url = make_url(request.getfixturevalue("polyglot_pg_url"))
    proxy = await FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = load_settings(
        data_dir=tmp_path,
        ConnectionStrings={"PostgreSql": via},
        PolyglotPersistence={
            "Containers": {"Accounts": "PostgresOnly"},
            "BreakerFailureThreshold": 2,
            "BreakerOpenSeconds": 30,
        },
        Caching={"Enabled": False},  # every read must reach the store that is cut off
    )
    app = create_app(settings, provision=True, refresh_s=0)
    try:
        async with app.router.lifespan_context(app):
            await empty_all(app.state.api.poly.raw_relational)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                yield Service(app, http), proxy
    finally:
        await proxy.stop()


async def test_a_store_cut_off_is_503_with_retry_after_then_the_breaker_opens(
    behind_proxy: tuple[Service, FaultProxy],
) -> None:
    service, proxy = behind_proxy
    headers = await service.key("operator")
    assert (
        await service.http.post("/api/v1/accounts", json=account("a1"), headers=headers)
    ).status_code == 201
    service.state.auth.ttl_s = 3600  # the key stays known while its store is cut off
    proxy.drop()
    answers = [await service.http.get("/api/v1/accounts/a1", headers=headers) for _ in range(4)]
    assert {a.status_code for a in answers} == {503}
    for a in answers:
        assert set(a.json()) >= PROBLEM_FIELDS
        assert "127.0.0.1" not in a.text
        assert int(a.headers["retry-after"]) >= 1
    assert answers[-1].headers["retry-after"] == "30"  # the breaker is open: its own time
    ready = await service.http.get("/readyz")
    assert ready.status_code == 503
    relational = ready.json()["health"]["stores"]["relational"]
    assert (relational["reachable"], relational["breaker"]) == (False, "open")
    assert relational["since"] is not None
    proxy.restore()


async def test_readyz_is_ready_on_reachable_stores(service: Service) -> None:
    ready = await service.http.get("/readyz")
    assert ready.status_code == 200
    health = ready.json()["health"]
    assert health["stores"]["cache"]["mode"] == "memory"
    assert set(health["stores"]) == {"documents", "relational", "cache", "blobs"}
    assert health["ready"]
    assert health["phasesLoaded"]
    assert health["fallbacks"] == []
    assert (await service.http.get("/healthz")).json() == {"status": "ok"}


async def test_readyz_shows_the_cache_mode(open_service: ServiceFactory, redis_url: str) -> None:
    conns = {"Redis": redis_url}
    async with open_service(ConnectionStrings=conns, Caching={"KeyPrefix": "mystira-api:"}) as s:
        ready = await s.http.get("/readyz")
        cache = ready.json()["health"]["stores"]["cache"]
        assert (ready.status_code, cache["mode"], cache["reachable"]) == (200, "redis", True)


async def test_an_unexpected_error_is_a_bare_500_logged_on_the_server(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service.state.poly.repository, "read", broken)
    headers = await service.key("operator")
    with caplog.at_level(logging.ERROR):
        answer = await service.http.get("/api/v1/accounts/a1", headers=headers)
    assert answer.status_code == 500
    assert answer.json() == {
        "type": "urn:mystira:problem:internal-server-error",
        "title": "Internal Server Error",
        "status": 500,
        "detail": None,
        "instance": "/api/v1/accounts/a1",
    }
    assert "secret internals" in caplog.text  # the server log has it, the caller does not
    assert "Bearer" not in caplog.text


async def test_throttling_is_429_with_the_stores_hint(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def throttled(*args: Any, **kwargs: Any) -> Any:
        raise Throttled("429 from Cosmos DB", retry_after=2.5)

    monkeypatch.setattr(service.state.poly.repository, "read", throttled)
    headers = await service.key("operator")
    answer = await service.http.get("/api/v1/accounts/a1", headers=headers)
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "3")


async def test_framework_errors_take_the_problem_shape(service: Service) -> None:
    headers = await service.key("operator")
    not_json = await service.http.post(
        "/api/v1/accounts", content=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.headers["content-type"] == "application/problem+json"
    bad_size = await service.http.get("/api/v1/accounts?pageSize=0", headers=headers)
    assert (bad_size.status_code, bad_size.json()["errors"][0]["path"]) == (422, "query.pageSize")
    nowhere = await service.http.get("/api/v1/nothing", headers=headers)
    assert (nowhere.status_code, set(nowhere.json())) == (404, PROBLEM_FIELDS)
    wrong_verb = await service.http.patch("/api/v1/accounts/a1", headers=headers)
    assert wrong_verb.status_code == 405
    assert wrong_verb.headers["content-type"] == "application/problem+json"
