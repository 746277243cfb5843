"""The console when a store is unreachable: it says which (and since when) and keeps
showing what it can. Redis: a dead port. PostgreSQL (where sessions live): a TCP fault proxy
in front of the real server, cut mid-test."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from mystira_data.settings import load_settings
from tests.integration.api.conftest import ServiceFactory
from tests.integration.api.test_console import open_console
from tests.integration.api.test_health_outages import BREAKER, DEAD_REDIS, proxy_to, serving


async def test_redis_down_the_console_shows_the_cache_fallback(
    open_service: ServiceFactory,
) -> None:
    async with open_service(ConnectionStrings={"Redis": DEAD_REDIS}) as service:
        await open_console(service)
        html = (await service.http.get("/console/live")).text
        assert '<span class="store down" data-store="cache">' in html
        assert "fallback active: cache: in-memory fallback" in html
        assert "127.0.0.1:1" in html  # the reason, as /readyz gives it
        assert 'data-container="Accounts"' in html  # everything else still shows


async def test_postgresql_down_the_console_shows_health_only_until_it_is_back(
    tmp_path: Path, polyglot_pg_url: str
) -> None:
    url = make_url(polyglot_pg_url)
    async with proxy_to(url.host or "127.0.0.1", url.port or 5432) as proxy:
        via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = load_settings(
            data_dir=tmp_path, ConnectionStrings={"PostgreSql": via}, PolyglotPersistence=BREAKER
        )
        async with serving(settings) as service:
            await open_console(service)
            proxy.drop()
            fragment = await service.http.get("/console/live")
            assert fragment.status_code == 200
            assert "session cannot be checked" in fragment.text
            assert '<span class="store down" data-store="relational">' in fragment.text
            assert "since 20" in fragment.text  # the outage's first failure, ISO time
            assert 'data-container="Accounts"' not in fragment.text  # nothing unchecked
            full = await service.http.get("/console")
            assert full.status_code == 503
            assert "UNREACHABLE" in full.text
            phases = await service.http.get("/admin/v1/phases")
            assert phases.status_code == 503
            proxy.restore()
            service.state.poly.breakers["relational"].record_success()  # not 60 s
            back = await service.http.get("/console/live")
            assert back.status_code == 200
            assert 'data-container="Accounts"' in back.text
