"""The catalog-generated document routes: CRUD, ETags, filters, paging, problem answers."""

from __future__ import annotations

import pytest

from mystira_data import catalog
from mystira_data.api.routes.documents import kebab
from tests.integration.api.conftest import Service, account, profile, session


@pytest.fixture(params=["embedded", "cosmos-postgres"])
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_create_read_replace_delete_with_etags(service: Service) -> None:
    op = await service.key("operator")
    http = service.http
    made = await http.post("/api/v1/accounts", json=account("a1"), headers=op)
    assert made.status_code == 201
    assert made.headers["location"] == "/api/v1/accounts/a1"
    assert made.headers["etag"] == '"1"'
    assert not {"_version", "_etag", "_deleted"} & set(made.json())

    read = await http.get("/api/v1/accounts/a1", headers=op)
    assert (read.status_code, read.json()["email"]) == (200, "a1@example.org")

    body = {**read.json(), "displayName": "Ada"}
    stale = await http.put("/api/v1/accounts/a1", json=body, headers={**op, "If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    ok = await http.put("/api/v1/accounts/a1", json=body, headers={**op, "If-Match": '"1"'})
    assert (ok.status_code, ok.headers["etag"]) == (200, '"2"')
    again = await http.put("/api/v1/accounts/a1", json=body, headers={**op, "If-Match": '"1"'})
    assert again.status_code == 412  # the first replace made "1" stale

    gone = await http.delete("/api/v1/accounts/a1", headers={**op, "If-Match": '"2"'})
    assert gone.status_code == 204
    missing = await http.get("/api/v1/accounts/a1", headers=op)
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"


async def test_partitioned_container_reads_with_and_without_the_partition_key(
    service: Service,
) -> None:
    op = await service.key("operator")
    await service.http.post("/api/v1/accounts", json=account("a1"), headers=op)
    made = await service.http.post(
        "/api/v1/game-sessions", json=session("s1", "a1", "p1"), headers=op
    )
    assert made.status_code == 201
    by_pk = await service.http.get("/api/v1/game-sessions/s1?partitionKey=a1", headers=op)
    scanned = await service.http.get("/api/v1/game-sessions/s1", headers=op)
    assert by_pk.json() == scanned.json()
    assert by_pk.json()["accountId"] == "a1"
    wrong = await service.http.get("/api/v1/game-sessions/s1?partitionKey=a2", headers=op)
    assert wrong.status_code == 404
    await service.http.post("/api/v1/game-sessions", json=session("s2", "a2", "p2"), headers=op)
    for params, ids in (
        ({"accountId": "a1"}, ["s1"]),
        ({"partitionKey": "a2"}, ["s2"]),
        ({}, ["s1", "s2"]),
    ):
        listed = await service.http.get("/api/v1/game-sessions", params=params, headers=op)
        assert sorted(d["id"] for d in listed.json()["items"]) == ids, params


async def test_list_filters_and_pages_with_continuation_tokens(service: Service) -> None:
    op = await service.key("operator")
    for i in range(5):
        body = profile(f"p{i}", "a1" if i < 4 else "a2", isGuest=i % 2 == 0)
        assert (await service.http.post("/api/v1/user-profiles", json=body, headers=op)).is_success
    seen: list[str] = []
    token = None
    while True:
        params = {"accountId": "a1", "pageSize": "3"} | ({"continuation": token} if token else {})
        page = (await service.http.get("/api/v1/user-profiles", params=params, headers=op)).json()
        seen += [d["id"] for d in page["items"]]
        token = page["continuation"]
        if token is None:
            break
    assert sorted(seen) == ["p0", "p1", "p2", "p3"]
    guests = await service.http.get(
        "/api/v1/user-profiles", params={"accountId": "a1", "isGuest": "true"}, headers=op
    )
    assert sorted(d["id"] for d in guests.json()["items"]) == ["p0", "p2"]


async def test_only_declared_fields_filter(service: Service) -> None:
    op = await service.key("operator")
    answer = await service.http.get("/api/v1/user-profiles?bio=x", headers=op)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == "bio"
    typed = await service.http.get("/api/v1/user-profiles?isGuest=maybe", headers=op)
    assert typed.status_code == 422
    bad_token = await service.http.get("/api/v1/user-profiles?continuation=xyz", headers=op)
    assert bad_token.status_code == 422


async def test_an_invalid_document_is_a_422_naming_the_field(service: Service) -> None:
    op = await service.key("operator")
    answer = await service.http.post(
        "/api/v1/game-sessions", json=session("s1", "a1", "p1", status="Bogus"), headers=op
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["errors"][0]["path"] == "status"
    assert set(problem) >= {"type", "title", "status", "detail", "instance"}
    no_account = await service.http.post(
        "/api/v1/game-sessions", json=session("s1", "", "p1"), headers=op
    )
    assert no_account.json()["errors"][0]["path"] == "accountId"


async def test_a_duplicate_create_is_a_409_and_a_mismatched_id_a_422(service: Service) -> None:
    op = await service.key("operator")
    await service.http.post("/api/v1/accounts", json=account("a1"), headers=op)
    dup = await service.http.post("/api/v1/accounts", json=account("a1"), headers=op)
    assert dup.status_code == 409
    moved = await service.http.put("/api/v1/accounts/a2", json=account("a1"), headers=op)
    assert (moved.status_code, moved.json()["errors"][0]["path"]) == (422, "id")


async def test_every_document_container_has_its_routes(service: Service) -> None:
    op = await service.key("operator")
    spec = (await service.http.get("/openapi.json")).json()
    assert (await service.http.get("/docs")).status_code == 200
    for c in catalog.document_containers():
        base = f"/api/v1/{kebab(c.name)}"
        assert set(spec["paths"][base]) == {"get", "post"}
        assert set(spec["paths"][base + "/{id}"]) == {"get", "put", "delete"}
        listed = await service.http.get(base, headers=op)
        assert (listed.status_code, listed.json()["items"]) == (200, [])


ODD_REQUESTS = [
    "/api/v1/accounts/" + "x" * 300,
    "/api/v1/accounts/a%3Fb",
    "/api/v1/game-sessions/%00",
    "/api/v1/accounts?email=%00",
    "/api/v1/accounts?email=" + "%F0%9F%98%80" * 50,
    "/api/v1/media-assets/x?partitionKey=%00",
    "/api/v1/accounts?id=" + "x" * 5000,
    "/api/v1/game-sessions?accountId=a&pageSize=1000",
    "/api/v1/player-scenario-scores?gameSessionId=",
]


async def test_odd_requests_never_fail_the_server(service: Service) -> None:
    op = await service.key("operator")
    player = await service.key("player", "a1")
    for headers in (op, player):
        for url in ODD_REQUESTS:
            answer = await service.http.get(url, headers=headers)
            assert answer.status_code in (200, 404, 422), (url, answer.text)
