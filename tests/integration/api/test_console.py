"""The operator console over HTTP: sign-in, its cookie, CSRF on cookie calls, sign-out,
revocation, and what the page shows (in-process; the browser test is `test_console_browser`)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from mystira_data import catalog
from mystira_data.api.console.routes import CONTROLS_ROUTE
from mystira_data.api.console.sessions import COOKIE
from tests.integration.api.conftest import Service, ServiceFactory

PHASE_URL = "/admin/v1/phases/Accounts"


async def make_key(service: Service, role: str, account: str | None = None) -> str:
    headers = await service.key(role, account)
    return headers["Authorization"].removeprefix("Bearer ")


async def sign_in(http: httpx.AsyncClient, key: str) -> httpx.Response:
    return await http.post("/console/login", data={"key": key})


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found is not None, "the page carries its CSRF token"
    return found.group(1)


async def open_console(service: Service, role: str = "operator") -> tuple[str, str]:
    """Signs ``service.http`` in with a new key of ``role``: (key, CSRF token)."""
    key = await make_key(service, role)
    assert (await sign_in(service.http, key)).status_code == 303
    page = await service.http.get("/console")
    assert page.status_code == 200
    return key, csrf_of(page.text)


async def test_sign_in_sets_a_strict_http_only_cookie_and_the_key_shows_nowhere(
    service: Service,
) -> None:
    form = await service.http.get("/console/login")
    assert 'type="password"' in form.text
    assert 'method="post" action="/console/login"' in form.text
    key = await make_key(service, "operator")
    answer = await sign_in(service.http, key)
    assert (answer.status_code, answer.headers["location"]) == (303, "/console")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http here; over https it is Secure (below)
    page = await service.http.get("/console")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for name in (c.name for c in catalog.CONTAINERS):
        assert f'data-container="{name}"' in page.text
    secret = key.split("_", 2)[2]
    for text in (answer.headers["location"], cookie, page.text, (await live(service)).text):
        assert secret not in text
    assert key.split("_")[1] in page.text  # the key id (not secret) says who is signed in


async def live(service: Service) -> httpx.Response:
    return await service.http.get("/console/live")


async def test_over_https_the_cookie_is_secure(service: Service) -> None:
    key = await make_key(service, "admin")
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://api") as https:
        answer = await sign_in(https, key)
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()
        assert (await https.get("/console")).status_code == 200


async def test_a_player_key_a_bad_key_and_a_non_key_cannot_sign_in(service: Service) -> None:
    player = await make_key(service, "player", "acc-1")
    refused = await sign_in(service.http, player)
    assert refused.status_code == 403
    assert "player key cannot use the console" in refused.text
    assert "set-cookie" not in refused.headers
    unknown = "myk_" + "0" * 12 + "_not-a-real-secret"
    assert (await sign_in(service.http, unknown)).status_code == 401
    assert (await sign_in(service.http, "letmein")).status_code == 401
    assert (await sign_in(service.http, "")).status_code == 401
    # Without a session the page sends the browser to the form; the fragment says 401.
    page = await service.http.get("/console")
    assert (page.status_code, page.headers["location"]) == (303, "/console/login")
    assert (await live(service)).status_code == 401
    assert (await service.http.get("/admin/v1/phases")).status_code == 401


async def test_cookie_calls_to_the_admin_api_need_the_csrf_token(service: Service) -> None:
    _, csrf = await open_console(service)
    assert (await service.http.get("/admin/v1/phases")).status_code == 200  # safe: no token
    body = {"phase": "DualWriteCosmosRead", "reason": "console test"}
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": "é".encode("latin-1")}):
        refused = await service.http.put(PHASE_URL, json=body, headers=headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "X-CSRF-Token" in refused.json()["detail"]
    assert (await service.http.get("/admin/v1/phases")).json()["phases"]["Accounts"][
        "phase"
    ] == "CosmosOnly"  # nothing moved
    moved = await service.http.put(PHASE_URL, json=body, headers={"X-CSRF-Token": csrf})
    assert moved.status_code == 200
    audit = (await service.http.get("/admin/v1/audit?container=Accounts")).json()["items"]
    assert audit[0]["reason"].startswith("console test")
    # The game data API stays bearer-only; a bearer caller needs no CSRF token.
    assert (await service.http.get("/api/v1/accounts")).status_code == 401
    bearer = await service.key("operator")
    back = {"phase": "CosmosOnly", "reason": "undo"}
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as bare:
        assert (await bare.put(PHASE_URL, json=back, headers=bearer)).status_code == 200


async def test_the_console_session_keeps_the_keys_role(service: Service) -> None:
    _, csrf = await open_console(service, "operator")
    assert (await service.http.get("/admin/v1/keys")).status_code == 403  # admin only
    made = await service.http.post(
        "/admin/v1/keys", json={"role": "admin"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 403


async def test_sign_out_needs_the_token_and_ends_the_session(service: Service) -> None:
    _, csrf = await open_console(service)
    cookie = service.http.cookies[COOKIE]
    assert (await service.http.post("/console/logout", data={})).status_code == 403
    many = {f"f{n}": "x" for n in range(10)}
    assert (await service.http.post("/console/logout", data=many)).status_code == 403
    out = await service.http.post("/console/logout", data={"csrf": csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    assert COOKIE not in service.http.cookies
    service.http.cookies.set(COOKIE, cookie)  # a copy of the old cookie is worth nothing
    assert (await service.http.get("/admin/v1/phases")).status_code == 401
    assert (await service.http.get("/console")).headers["location"] == "/console/login"


async def test_a_cross_site_sign_in_form_is_refused(service: Service) -> None:
    key = await make_key(service, "operator")
    answer = await service.http.post(
        "/console/login", data={"key": key}, headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


async def test_revoking_the_key_ends_its_sessions(service: Service) -> None:
    now = [1000.0]
    service.state.auth.clock = lambda: now[0]  # before any lookup is cached
    key, _ = await open_console(service)
    assert (await service.http.get("/admin/v1/phases")).status_code == 200
    assert await service.state.keys.revoke(key.split("_")[1])
    now[0] += service.state.settings.api.key_cache_seconds
    assert (await service.http.get("/admin/v1/phases")).status_code == 401
    assert (await live(service)).status_code == 401
    assert (await service.http.get("/console")).headers["location"] == "/console/login"


async def test_the_page_shows_gates_verify_jobs_and_the_audit_log(service: Service) -> None:
    _, csrf = await open_console(service)
    token = {"X-CSRF-Token": csrf}
    body = {"phase": "DualWriteCosmosRead", "reason": "start"}
    assert (await service.http.put(PHASE_URL, json=body, headers=token)).status_code == 200
    started = await service.http.post(
        "/admin/v1/verify", json={"container": "Accounts"}, headers=token
    )
    assert started.status_code == 202
    job = started.json()["id"]
    for _ in range(200):
        if (await service.http.get(f"/admin/v1/jobs/{job}")).json()["state"] != "running":
            break
        await asyncio.sleep(0.05)
    html = (await live(service)).text
    row = re.search(r'<tr data-container="Accounts".*?</tr>', html, re.S)
    assert row is not None
    assert "DualWriteCosmosRead" in row.group(0)
    assert "gate 1 (lag)" in row.group(0)
    assert "gate 2 (verify)" in row.group(0)
    assert re.search(r'href="/admin/v1/verify-runs/\d+"', row.group(0))
    assert 'data-action="phase"' in row.group(0)
    assert 'data-target="DualWritePostgresRead"' in row.group(0)
    assert f'data-job="{job}"' in html
    assert "CosmosOnly → DualWriteCosmosRead" in html  # the audit entry
    assert 'data-action="pause"' in html  # the controls API is served: its buttons are shown


@pytest.mark.parametrize("pair", ["sqlite-postgres"], indirect=True)
async def test_a_session_opened_on_one_instance_works_on_another(
    open_service: ServiceFactory,
) -> None:
    async with open_service() as one, open_service() as two:
        _, csrf = await open_console(one)
        transport = httpx.ASGITransport(app=two.app)
        cookies = {COOKIE: one.http.cookies[COOKIE]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", cookies=cookies
        ) as other:
            assert (await other.get("/console")).status_code == 200
            body = {"phase": "DualWriteCosmosRead", "reason": "from the other worker"}
            moved = await other.put(PHASE_URL, json=body, headers={"X-CSRF-Token": csrf})
            assert moved.status_code == 200


async def test_traffic_numbers_and_control_buttons_show_when_there_are_some(
    service: Service,
) -> None:
    await open_console(service)
    bearer = await service.key("operator")
    made = await service.http.post(
        "/api/v1/accounts", json={"id": "acc-n", "email": "n@example.org"}, headers=bearer
    )
    assert made.status_code == 201
    row = re.search(r'<tr data-container="Accounts".*?</tr>', (await live(service)).text, re.S)
    assert row is not None
    numbers = r"documents [\d.]+ ms / [\d.]+ ms · [\d.]+% <small>\(\d+ calls\)"
    assert re.search(numbers, row.group(0))

    async def controls(container: str, task: str) -> dict[str, str]:
        return {}

    # Another area adds the controls API; the console shows its buttons once it is served.
    service.app.router.add_api_route(CONTROLS_ROUTE, controls, methods=["PUT"])
    html = (await live(service)).text
    assert 'data-action="pause" data-task="replication" data-container="Accounts"' in html
    assert 'data-action="throttle" data-task="backfill" data-container="Accounts"' in html
    page = (await service.http.get("/console")).text
    assert '<meta name="console-controls" content="on">' in page


async def test_the_page_shows_the_placement_report_with_the_recorded_workload(
    service: Service,
) -> None:
    key, _ = await open_console(service)
    bearer = {"Authorization": f"Bearer {key}"}
    for i in range(3):
        body = {"id": f"place-{i}", "email": f"place-{i}@example.org"}
        assert (
            await service.http.post("/api/v1/accounts", json=body, headers=bearer)
        ).status_code == 201
    html = (await service.http.get("/console")).text
    section = re.search(r'<section id="placement">.*?</section>', html, re.S)
    assert section is not None
    for spec in catalog.CONTAINERS:
        assert f'<tr data-placement="{spec.name}">' in section.group(0)
    accounts = re.search(r'<tr data-placement="Accounts">(.*?)</tr>', section.group(0), re.S)
    assert accounts is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", accounts.group(1), re.S)
    assert cells[2] == "relational-candidate"
    assert float(cells[5]) > 0  # the three writes, per minute of the recorded window
