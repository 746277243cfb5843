"""During DualWriteCosmosRead, writes made as the C# app would (no ``_version``, fields
stripped, a tracked update keeping a stale ``_version``, an older ``_version`` written back,
a create with no version, hard deletes) all reach PostgreSQL; verify is clean afterwards.
Both real pairs: embedded (SQLite + SQLite) and the Cosmos API server + PostgreSQL."""

from __future__ import annotations

import pytest

from mystira_data.errors import NotFound
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.replication.marker import Writer, writer_of
from mystira_data.settings import Phase
from tests.integration.polyglot.beside.csharp import CSharpApp
from tests.integration.polyglot.test_phases_crud import START, walk_to

CONTAINERS = ("Accounts", "GameSessions")


async def populate(poly: Polyglot) -> None:
    repo = poly.repository
    for n in range(1, 6):
        await repo.create("Accounts", {"id": f"acc{n}", "email": f"acc{n}@example.org"})
    for n, account in enumerate(("acc1", "acc5", "acc5")):
        session = {"id": f"s{n}", "accountId": account, "startTime": START, "status": "InProgress"}
        await repo.create("GameSessions", session)
    for n in (2, 3):  # acc3 reaches v3, so a copy of its v1 is an *older* version
        await repo.upsert("Accounts", {"id": "acc3", "email": f"acc3-v{n}@example.org"})


async def relational_email(poly: Polyglot, id: str) -> str:
    return str((await poly.relational.read("Accounts", id, id))["email"])


async def catch_up(poly: Polyglot) -> None:
    for container in CONTAINERS:
        await poly.replicate_until_caught_up(container, timeout_s=60)
        await poly.reconcile(container)
        await poly.replicate_until_caught_up(container, timeout_s=60)


async def test_csharp_writes_replicate_and_verify_clean(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await catch_up(poly)
    cs = CSharpApp(poly)
    acc1 = await cs.load("Accounts", "acc1", "acc1")
    await cs.rebuild("Accounts", {**acc1, "email": "rebuilt@example.org"})
    acc2 = await cs.load("Accounts", "acc2", "acc2")
    await cs.patch("Accounts", acc2, email="patched@example.org")
    acc3_v1 = {**await cs.load("Accounts", "acc3", "acc3"), "_version": 1}
    await cs.patch("Accounts", acc3_v1, email="older-version@example.org")
    await cs.rebuild("Accounts", {"id": "acc6", "email": "created-by-csharp@example.org"})
    await cs.hard_delete("GameSessions", "s1", "acc5")
    await cs.hard_delete("GameSessions", "s2", "acc5")
    await cs.hard_delete("Accounts", "acc5", "acc5")

    await catch_up(poly)

    assert await relational_email(poly, "acc1") == "rebuilt@example.org"
    assert await relational_email(poly, "acc2") == "patched@example.org"
    assert await relational_email(poly, "acc3") == "older-version@example.org"
    assert await relational_email(poly, "acc6") == "created-by-csharp@example.org"
    for container, id, pk in (("Accounts", "acc5", "acc5"), ("GameSessions", "s1", "acc5")):
        with pytest.raises(NotFound):
            await poly.relational.read(container, id, pk)
    for container in CONTAINERS:
        report = await poly.verify(container, settle_s=0)
        assert report.clean, (container, report)


async def test_adopted_write_is_marked_and_our_next_write_goes_on_from_it(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await catch_up(poly)
    cs = CSharpApp(poly)
    acc3 = await cs.load("Accounts", "acc3", "acc3")
    await cs.rebuild("Accounts", {**acc3, "email": "csharp@example.org"})
    assert writer_of(await cs.load("Accounts", "acc3", "acc3")) is Writer.FOREIGN
    await catch_up(poly)
    adopted = await cs.load("Accounts", "acc3", "acc3")
    assert writer_of(adopted) is Writer.ADOPTED
    assert adopted["_version"] == 4  # above the v3 PostgreSQL held

    await poly.repository.upsert("Accounts", {"id": "acc3", "email": "ours-again@example.org"})
    await catch_up(poly)
    ours = await cs.load("Accounts", "acc3", "acc3")
    assert (writer_of(ours), ours["_version"]) == (Writer.OURS, 5)
    assert await relational_email(poly, "acc3") == "ours-again@example.org"
    assert (await poly.verify("Accounts", settle_s=0)).clean
