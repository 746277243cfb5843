"""A player key sees its own account's data only: anything else answers 404, never the data.

Two families (accounts a1 and a2), each with a profile, a session and a score; the player
key of a1 tries every verb on a2's documents, through every route that could reach them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import Service, account, profile, score, session

OWNED = {  # route → (own document, the other family's document, its partition key)
    "accounts": (account("a1"), account("a2"), "a2"),
    "user-profiles": (profile("p1", "a1"), profile("p2", "a2"), "p2"),
    "game-sessions": (session("s1", "a1", "p1"), session("s2", "a2", "p2"), "a2"),
    "player-scenario-scores": (score("c1", "p1"), score("c2", "p2"), "p2"),
}


@pytest.fixture(params=["embedded", "cosmos-postgres"])
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def families(service: Service) -> dict[str, str]:
    op = await service.key("operator")
    for route, (own, other, _) in OWNED.items():
        for doc in (own, other):
            made = await service.http.post(f"/api/v1/{route}", json=doc, headers=op)
            assert made.status_code == 201, made.text
    return await service.key("player", "a1")


async def test_a_player_reads_and_lists_only_its_own_account(
    service: Service, families: dict[str, str]
) -> None:
    player = families
    for route, (own, other, pk) in OWNED.items():
        mine = await service.http.get(f"/api/v1/{route}/{own['id']}", headers=player)
        assert mine.status_code == 200, route
        for url in (
            f"/api/v1/{route}/{other['id']}",
            f"/api/v1/{route}/{other['id']}?partitionKey={pk}",
        ):
            theirs = await service.http.get(url, headers=player)
            assert theirs.status_code == 404, url
            assert other["id"] not in theirs.text or theirs.json()["detail"].endswith("not found")
        listed = await service.http.get(f"/api/v1/{route}", headers=player)
        assert [d["id"] for d in listed.json()["items"]] == [own["id"]], route
        # Even asking for the other account's documents by filter or partition finds none.
        snooped = await service.http.get(f"/api/v1/{route}?partitionKey={pk}", headers=player)
        assert other["id"] not in [d["id"] for d in snooped.json()["items"]], route


async def test_the_404_for_another_account_is_the_404_for_a_missing_document(
    service: Service, families: dict[str, str]
) -> None:
    theirs = await service.http.get("/api/v1/game-sessions/s2", headers=families)
    nobody = await service.http.get("/api/v1/game-sessions/nope", headers=families)
    assert theirs.status_code == nobody.status_code == 404
    assert set(theirs.json()) == set(nobody.json())
    assert theirs.json()["detail"].replace("s2", "X") == nobody.json()["detail"].replace(
        "nope", "X"
    )


async def test_a_player_cannot_write_another_accounts_data(
    service: Service, families: dict[str, str]
) -> None:
    player = families
    op = await service.key("operator")
    for route, (_, other, pk) in OWNED.items():
        changed: dict[str, Any] = {**other}
        put = await service.http.put(f"/api/v1/{route}/{other['id']}", json=changed, headers=player)
        assert put.status_code == 404, route
        gone = await service.http.delete(
            f"/api/v1/{route}/{other['id']}?partitionKey={pk}", headers=player
        )
        assert gone.status_code == 404, route
        still = await service.http.get(
            f"/api/v1/{route}/{other['id']}?partitionKey={pk}", headers=op
        )
        assert still.status_code == 200, route
    # Nor move its own documents into, or create them in, the other account.
    hijack = session("s1", "a2", "p1")
    assert (
        await service.http.put("/api/v1/game-sessions/s1", json=hijack, headers=player)
    ).status_code == 404
    planted = profile("p9", "a2")
    assert (
        await service.http.post("/api/v1/user-profiles", json=planted, headers=player)
    ).status_code == 404
    # Nor learn that another account's id exists: creating it answers as if it did not.
    taken = await service.http.post(
        "/api/v1/user-profiles", json=profile("p2", "a1"), headers=player
    )
    assert taken.status_code == 404
    own_again = await service.http.post(
        "/api/v1/user-profiles", json=profile("p1", "a1"), headers=player
    )
    assert own_again.status_code == 409
    foreign_score = score("c9", "p2")
    assert (
        await service.http.post(
            "/api/v1/player-scenario-scores", json=foreign_score, headers=player
        )
    ).status_code == 404


async def test_a_player_writes_its_own_data(service: Service, families: dict[str, str]) -> None:
    player = families
    made = await service.http.post(
        "/api/v1/user-profiles", json=profile("p3", "a1"), headers=player
    )
    assert made.status_code == 201
    renamed = {**made.json(), "name": "Robin"}
    put = await service.http.put(
        "/api/v1/user-profiles/p3",
        json=renamed,
        headers={**player, "If-Match": made.headers["etag"]},
    )
    assert put.status_code == 200
    assert (
        await service.http.post(
            "/api/v1/player-scenario-scores", json=score("c3", "p3"), headers=player
        )
    ).status_code == 201
    assert (
        await service.http.delete("/api/v1/user-profiles/p3", headers=player)
    ).status_code == 204


async def test_content_is_read_only_and_analytics_hidden_for_players(
    service: Service, families: dict[str, str]
) -> None:
    player = families
    op = await service.key("operator")
    axis = {"id": "honesty", "name": "Honesty"}
    assert (
        await service.http.post("/api/v1/compass-axes", json=axis, headers=op)
    ).status_code == 201
    assert (
        await service.http.get("/api/v1/compass-axes/honesty", headers=player)
    ).status_code == 200
    assert (await service.http.get("/api/v1/compass-axes", headers=player)).json()["items"]
    refused = await service.http.put("/api/v1/compass-axes/honesty", json=axis, headers=player)
    assert refused.status_code == 403
    tracking = {"id": "t1", "axis": "honesty", "profileId": "p1"}
    assert (
        await service.http.post("/api/v1/compass-trackings", json=tracking, headers=op)
    ).status_code == 201
    hidden = await service.http.get(
        "/api/v1/compass-trackings/t1?partitionKey=honesty", headers=player
    )
    assert hidden.status_code == 404
    listed = await service.http.get("/api/v1/compass-trackings", headers=player)
    assert listed.status_code == 404
