"""A synthetic workload through the polyglot repository (the embedded document store beside
real PostgreSQL) shows in the placement report, flagged where it contradicts the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from mystira_data import catalog
from mystira_data.placement.report import collect
from mystira_data.polyglot.layer import Polyglot
from mystira_data.relational import tables as t
from mystira_data.settings import Phase
from tests.integration.polyglot.conftest import Factory
from tests.integration.relational.conftest import empty_all

# Low bars, so a test-sized workload can trip them; the rates are still judged.
LIMITS = {"MinSamples": 10, "UpdateHeavyWritesPerMin": 10, "CrossPartitionPerMin": 5}


@asynccontextmanager
async def platform(open_polyglot: Factory, **overrides: Any) -> AsyncIterator[Polyglot]:
    async with open_polyglot(Placement=LIMITS, **overrides) as poly:
        await empty_all(poly.raw_relational)  # the evidence table too
        yield poly


def row(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["containers"] if c["container"] == name)


async def update_heavy_maps(poly: Polyglot, maps: int = 3, rounds: int = 12) -> None:
    for n in range(maps):
        await poly.repository.create("CharacterMaps", {"id": f"cm{n}", "name": f"Hero {n}"})
    for r in range(rounds):
        for n in range(maps):
            doc = {"id": f"cm{n}", "name": f"Hero {n}", "metadata": {"roles": [f"r{r}"]}}
            await poly.repository.upsert("CharacterMaps", doc)


async def read_heavy_accounts(poly: Polyglot, accounts: int = 3, reads: int = 40) -> None:
    for n in range(accounts):
        await poly.repository.create("Accounts", {"id": f"a{n}", "email": f"{n}@x.org"})
    for r in range(reads):
        await poly.repository.read("Accounts", f"a{r % accounts}", f"a{r % accounts}")


async def test_an_update_heavy_document_container_is_flagged_with_its_numbers(
    open_polyglot: Factory,
) -> None:
    async with platform(open_polyglot) as poly:
        await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
        await update_heavy_maps(poly)
        await read_heavy_accounts(poly)
        report = (await collect(poly)).as_json()

    assert [c["container"] for c in report["containers"]] == list(catalog.BY_NAME)
    maps = row(report, "CharacterMaps")
    ev = maps["evidence"]
    assert ev["counts"] == {
        "reads": 0,
        "crossPartitionQueries": 0,
        "inserts": 3,
        "updates": 36,
        "deletes": 0,
        "documentsMeasured": 39,
    }
    assert ev["updateShare"] == round(36 / 39, 3)
    assert ev["writesPerMin"] == pytest.approx(39 / report["coveredMinutes"], rel=0.01)
    assert ev["nestingDepth"] == {"p50": 3, "max": 3}  # doc → metadata → roles
    assert 0 < ev["docSizeP50"] <= ev["docSizeP99"] <= 512
    [flag] = maps["flags"]
    assert flag["code"] == "update-heavy"
    assert flag["message"].startswith(f"update-heavy: {36 / 39:.2f} of ")
    assert flag["message"].endswith(" writes/min are updates; consider relational")
    assert flag["suggests"] == "relational-candidate"

    accounts = row(report, "Accounts")
    assert accounts["phase"] == "DualWriteCosmosRead"
    assert accounts["recommended"] == "relational-candidate"
    assert accounts["reasons"]["codes"] == ["acid", "fk-target", "update-frequency"]
    assert accounts["evidence"]["counts"]["reads"] == 40  # cache hits included
    assert accounts["evidence"]["readsPerMin"] > accounts["evidence"]["writesPerMin"]
    assert accounts["flags"] == []  # read-heavy is no argument against rows
    assert sum(len(c["flags"]) for c in report["containers"]) == 1


async def test_cross_partition_reads_are_counted_and_flagged(open_polyglot: Factory) -> None:
    from mystira_data.query import Filter, Op, Query

    async with platform(open_polyglot, Caching={"Enabled": False}) as poly:
        await poly.repository.create("MediaAssets", {"id": "m1", "mediaType": "image"})
        by_id = Query(filters=(Filter("mediaId", Op.EQ, "x"),), cross_partition=True)
        for _ in range(12):
            await poly.repository.query("MediaAssets", by_id)
        await poly.repository.query("MediaAssets", Query(partition_key="image"))
        await poly.repository.read("MediaAssets", "m1", "image")
        ev_row = row((await collect(poly)).as_json(), "MediaAssets")
    assert (
        ev_row["evidence"]["counts"]["reads"],
        ev_row["evidence"]["counts"]["crossPartitionQueries"],
    ) == (14, 12)
    assert [f["code"] for f in ev_row["flags"]] == ["cross-partition"]


async def test_only_the_window_counts_and_a_failed_flush_loses_nothing(
    open_polyglot: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mystira_data.errors import StoreUnavailable

    async with platform(open_polyglot) as poly:
        await update_heavy_maps(poly, maps=1, rounds=1)
        await poly.evidence.flush(poly.raw_relational)
        async with poly.raw_relational.transaction() as conn:  # that hour is long past
            hour_ago = datetime.now(UTC) - timedelta(hours=2)
            await conn.execute(sa.update(t.evidence).values(at=hour_ago))
        for n in range(3):
            await poly.repository.upsert("CharacterMaps", {"id": "cm0", "name": f"v{n}"})

        @asynccontextmanager
        async def down(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            raise StoreUnavailable("relational down (test)")
            yield  # pragma: no cover

        rel, working = poly.raw_relational, poly.raw_relational.transaction
        monkeypatch.setattr(rel, "transaction", down)
        await poly.evidence.flush(rel)  # logged, kept
        monkeypatch.setattr(rel, "transaction", working)
        report = (await collect(poly, window_minutes=60)).as_json()
        whole = (await collect(poly, window_minutes=180)).as_json()
    maps = row(report, "CharacterMaps")["evidence"]["counts"]
    assert (maps["inserts"], maps["updates"]) == (0, 3)
    assert report["coveredMinutes"] <= 1  # one flush period: the window began then
    maps = row(whole, "CharacterMaps")["evidence"]["counts"]
    assert (maps["inserts"], maps["updates"]) == (1, 4)
    assert whole["coveredMinutes"] > 100


async def test_workload_and_call_rows_past_the_longest_window_are_pruned_shadow_rows_kept(
    open_polyglot: Factory,
) -> None:
    async with platform(open_polyglot) as poly:
        old = datetime.now(UTC) - timedelta(days=8)
        rows = [
            {"kind": "workload", "container": "Scenarios", "store": "reads", "ok": 5, "at": old},
            {"kind": "shadow", "container": "Accounts", "store": "document", "ok": 5, "at": old},
            {"kind": "calls", "container": "", "store": "documents", "ok": 5, "at": old},
        ]
        async with poly.raw_relational.transaction() as conn:
            await conn.execute(sa.insert(t.evidence), rows)
        await update_heavy_maps(poly, maps=1, rounds=0)
        await poly.evidence.flush(poly.raw_relational)  # a process's first flush prunes
        async with poly.raw_relational.reading() as conn:
            left = (await conn.execute(sa.select(t.evidence.c.kind, t.evidence.c.at))).all()
    kinds = sorted({kind for kind, _ in left})
    assert kinds == ["calls", "doc-depth", "doc-size", "shadow", "workload"]
    assert [kind for kind, at in left if at.replace(tzinfo=UTC) < old + timedelta(days=1)] == [
        "shadow"
    ]
