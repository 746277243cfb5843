"""schemathesis against the app (ASGI, embedded stores, demo data plus the test world), once
per role: no request may get a server error, and every response the schema documents must
conform to it. Examples are bounded so the suite stays short (``MYSTIRA_SCHEMA_EXAMPLES``
raises the bound for a deeper run)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from mystira_data.api.app import create_app
from mystira_data.seed.demo import seed_demo
from mystira_data.settings import load_settings
from tests.integration.api.world import World, build_world

ROLES = ("player", "operator", "admin")
MAX_EXAMPLES = int(os.environ.get("MYSTIRA_SCHEMA_EXAMPLES", "4"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _schema_source() -> dict[str, Any]:
    # The routes do not depend on the settings: any settings give the served schema.
    return create_app(load_settings(data_dir=Path("unused"))).openapi()


schema = schemathesis.openapi.from_dict(_schema_source())
# The coverage phase sends every boundary case of every field whatever the example bound
# (minutes for the nested content models); fuzzing within the bound is what runs here.
schema.config.phases.coverage.enabled = False


@dataclass
class Served:
    """The app's lifespan and a client, running on an event loop in a thread of their own
    (hypothesis drives the test synchronously)."""

    portal: BlockingPortal
    client: httpx.AsyncClient
    world: World


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("schema") / "data"
    app = create_app(load_settings(data_dir=data), provision=True, refresh_s=0)

    async def seed() -> World:
        poly = app.state.api.poly
        await seed_demo(poly.stores.documents, accounts=3)
        return await build_world(poly)

    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        try:
            yield Served(portal, client, portal.call(seed))
        finally:
            portal.call(client.aclose)


def send(served: Served, case: Any, role: str) -> Any:
    headers = {"Authorization": f"Bearer {served.world.keys[role]}"}
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    body = kwargs.pop("data", None)
    if body is not None and "json" not in kwargs:
        kwargs["content"] = body if isinstance(body, bytes | str) else None
        if kwargs["content"] is None:
            kwargs["data"] = body
    for unused in ("auth", "timeout", "allow_redirects", "verify", "files", "cookies"):
        kwargs.pop(unused, None)
    request = functools.partial(served.client.request, follow_redirects=False, **kwargs)
    return served.portal.call(request)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_route_answers_within_its_schema(case: Any, role: str, served: Served) -> None:
    response = send(served, case, role)
    case.validate_response(response, checks=CHECKS)
