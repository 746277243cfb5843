"""Id reconciliation: rows whose document another app deleted for real become tombstones;
a document present when its row is confirmed, or back right after its tombstone, wins. Also
`mystira replicate --reconcile` on the embedded store (progress line, then the result)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.errors import NotFound
from mystira_data.polyglot.consistency.reconcile import Reconciler
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.guarded import EntityStore
from mystira_data.query import Page, Query
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc
from tests.integration.polyglot.beside.csharp import CSharpApp
from tests.integration.polyglot.beside.test_foreign_writes import catch_up, populate
from tests.integration.polyglot.test_phases_crud import walk_to


class Listing:
    """The document store as the reconciler lists it, minus ``hidden`` ids: what a listing
    taken just before those documents were written would hold."""

    def __init__(self, inner: EntityStore, hidden: set[str]) -> None:
        self.inner, self.hidden = inner, hidden

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        page = await self.inner.query(container, query, continuation=continuation)
        if query.filters:  # a point lookup (the confirmation), not the listing
            return page
        return Page([d for d in page.items if d["id"] not in self.hidden], page.continuation)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def reconciler(poly: Polyglot, documents: Any) -> Reconciler:
    rel = poly.raw_relational
    return Reconciler(poly.control, documents, poly.relational, rel, poly.store_order())


async def row_live(poly: Polyglot, id: str) -> bool:
    try:
        await poly.relational.read("Accounts", id, id)
    except NotFound:
        return False
    return True


async def test_hard_deletes_become_tombstones_and_others_stay(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await catch_up(poly)
    await CSharpApp(poly).hard_delete("Accounts", "acc4", "acc4")
    report = await poly.reconcile("Accounts")
    assert (report.checked, report.tombstoned, report.came_back) == (5, ["acc4"], [])
    assert [await row_live(poly, f"acc{n}") for n in range(1, 6)] == [True] * 3 + [False, True]
    assert (await poly.verify("Accounts", settle_s=0)).clean


async def test_a_document_written_after_the_listing_keeps_its_row(poly: Polyglot) -> None:
    """The listing missed acc2 (as if written just after it); the point read finds it."""
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await catch_up(poly)
    report = await reconciler(poly, Listing(poly.documents, {"acc2"})).run("Accounts")
    assert report.tombstoned == []
    assert await row_live(poly, "acc2")


async def test_a_document_back_right_after_its_tombstone_is_copied_again(poly: Polyglot) -> None:
    """The point read said 'gone', then the document was written again before the tombstone
    landed: the read after the tombstone finds it and copies it in the store's order."""
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await catch_up(poly)
    cs = CSharpApp(poly)
    acc2 = await cs.load("Accounts", "acc2", "acc2")
    await cs.hard_delete("Accounts", "acc2", "acc2")
    rows = poly.raw_relational

    class Rewriting:
        """Upserts the tombstone, then lets the C# app re-create the document."""

        async def upsert_if_newer(self, container: str, docs: Any, *, outbox: bool) -> int:
            applied = await rows.upsert_if_newer(container, docs, outbox=outbox)
            await cs.rebuild("Accounts", {**acc2, "email": "back@example.org"})
            return applied

    rec = reconciler(poly, poly.documents)
    rec.rows = Rewriting()
    report = await rec.run("Accounts")
    assert (report.tombstoned, report.came_back) == (["acc2"], ["acc2"])
    assert (await poly.relational.read("Accounts", "acc2", "acc2"))["email"] == "back@example.org"
    await catch_up(poly)
    assert (await poly.verify("Accounts", settle_s=0)).clean


async def test_reconcile_skips_phases_where_postgres_is_primary(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_POSTGRES_READ)
    report = await poly.reconcile("Accounts")
    assert report.skipped is not None
    assert "only DualWriteCosmosRead" in report.skipped


def test_replicate_reconcile_command(tmp_path: Path) -> None:
    from tests.integration.consistency.data import embedded

    data = tmp_path / "data"

    async def prepare() -> None:
        async with embedded(data) as poly:
            await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
            for n in (1, 2):
                await poly.repository.create(
                    "Accounts", {"id": f"a{n}", "email": f"a{n}@example.org"}
                )
            await CSharpApp(poly).hard_delete("Accounts", "a2", "a2")

    async def row_of_a2() -> JsonDoc:
        async with embedded(data) as poly:
            found: JsonDoc | None = await poly.raw_relational.read_stored("Accounts", "a2", "a2")
            assert found is not None
            return found

    asyncio.run(prepare())
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "replicate", "--container", "Accounts", "--reconcile"]
    )
    assert result.exit_code == 0, result.stderr
    assert "reconcile Accounts: 2 row(s) checked, 1 tombstoned" in result.stdout
    assert asyncio.run(row_of_a2())["_deleted"] is True
