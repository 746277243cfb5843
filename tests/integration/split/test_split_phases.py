"""UserProfiles through the repository in every phase: one logical document to callers, the
core in PostgreSQL once it moves, the document part in the document store always."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from mystira_data.errors import NotFound
from mystira_data.polyglot.consistency.repair import repair_container
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.guarded import current
from mystira_data.polyglot.write.shadow import ShadowReader
from mystira_data.query import Op, Query
from mystira_data.settings import Phase
from mystira_data.transfer import export_jsonl, import_jsonl

from .profiles import CORE, badge, profile

P = "UserProfiles"
WALK = [Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY]


async def walk_to(poly: Polyglot, target: Phase) -> None:
    """Accounts, then UserProfiles, forward to ``target`` (guards forced: empty stores)."""
    for phase in WALK[: WALK.index(target) + 1] if target in WALK else []:
        for container in ("Accounts", P):
            await poly.control.set(container, phase, force=True, reason="test walk")


def content(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


@pytest.mark.parametrize("phase", list(Phase))
async def test_profiles_round_trip_in_every_phase(poly: Polyglot, phase: Phase) -> None:
    await walk_to(poly, phase)
    repo = poly.repository
    await repo.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    written = {n: await repo.create(P, profile(f"p{n}", "acc1", n)) for n in (0, 1, 4)}
    for n, doc in written.items():
        read = await repo.read(P, f"p{n}", f"p{n}")
        assert content(read) == content(doc)
        assert read["_version"] == 1
    # Badges added and removed, document-part fields changed, in one write.
    doc = content(written[4])
    doc["earnedBadges"] = [*doc["earnedBadges"][1:3], badge("p4", 9)]
    doc["bio"], doc["name"] = "now likes robots", "Renamed"
    updated = await repo.replace(P, doc)
    read = await repo.read(P, "p4", "p4")
    assert content(read) == content(updated)
    assert [b["id"] for b in read["earnedBadges"]] == ["p4-badge-1", "p4-badge-2", "p4-badge-9"]
    assert (read["bio"], read["name"], read["_version"]) == ("now likes robots", "Renamed", 2)
    q = Query(cross_partition=True).where("accountId", Op.EQ, "acc1")
    listed = {d["id"]: d for d in (await repo.query(P, q)).items}
    assert listed["p4"]["pronouns"] == "they/them"
    assert len(listed["p4"]["earnedBadges"]) == 3
    assert await repo.count(P, q) == 3
    await repo.delete(P, "p1", "p1")
    with pytest.raises(NotFound):
        await repo.read(P, "p1", "p1")
    await poly.router.secondary.drain()
    await assert_parts(poly, phase)


async def assert_parts(poly: Polyglot, phase: Phase) -> None:
    """The document store holds the whole document in every phase; PostgreSQL the core
    (with its badges) once the phase writes it."""
    doc = await current(poly.documents, P, "p4", "p4")
    assert doc is not None
    assert (doc["bio"], doc["name"], doc["_version"]) == ("now likes robots", "Renamed", 2)
    row = await current(poly.relational, P, "p4", "p4")
    if phase is Phase.COSMOS_ONLY:
        assert row is None
        return
    assert row is not None
    assert set(content(row)) == CORE
    assert (row["name"], row["_version"], len(row["earnedBadges"])) == ("Renamed", 2, 3)


async def test_verify_compares_the_core_by_field_path(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await poly.repository.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    await poly.repository.create(P, profile("p1", "acc1", 2))
    await poly.router.secondary.drain()
    assert (await poly.verify(P, settle_s=0)).clean
    # A document-part change behind the layer's back is no difference (one home)...
    stored = await current(poly.documents, P, "p1", "p1")
    assert stored is not None
    changed = {**content(stored), "bio": "edited", "_version": stored["_version"]}
    await poly.documents.upsert(P, changed, if_match=stored["_etag"])
    assert (await poly.verify(P, settle_s=0)).clean
    # ...a core change is, named by its path.
    changed["earnedBadges"][1]["badgeName"] = "Tampered"
    stored = await current(poly.documents, P, "p1", "p1")
    assert stored is not None
    await poly.documents.upsert(P, changed, if_match=stored["_etag"])
    report = await poly.verify(P, settle_s=0)
    assert [d.paths for d in report.differences] == [["earnedBadges[1].badgeName"]]


async def test_export_and_import_carry_both_parts(poly: Polyglot) -> None:
    await walk_to(poly, Phase.POSTGRES_ONLY)
    repo = poly.repository
    await repo.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    await repo.create(P, profile("p1", "acc1", 2))
    out = io.StringIO()
    assert await export_jsonl(repo, P, out) == 1
    [line] = out.getvalue().splitlines()
    exported = json.loads(line)
    assert (exported["pronouns"], len(exported["earnedBadges"])) == ("they/them", 2)
    exported["pronouns"], exported["earnedBadges"] = "she/her", exported["earnedBadges"][:1]
    report = await import_jsonl(repo, P, [json.dumps(exported)])
    assert (report.imported, report.rejected) == (1, [])
    read = await repo.read(P, "p1", "p1")
    assert (read["pronouns"], len(read["earnedBadges"]), read["_version"]) == ("she/her", 1, 2)


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ])
async def test_shadow_reads_compare_the_core(poly: Polyglot, phase: Phase) -> None:
    shadow = ShadowReader(sample_rate=1.0)
    poly.router.shadow = shadow
    await walk_to(poly, phase)
    await poly.router.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    for n in range(3):
        await poly.router.create(P, profile(f"p{n}", "acc1", n))
    await poly.router.secondary.drain()
    for n in range(3):
        await poly.router.read(P, f"p{n}", f"p{n}")
    await shadow.drain()
    assert (shadow.matches, shadow.mismatches, shadow.errors) == (3, 0, 0)
    row = await poly.raw_relational.read(P, "p2", "p2")  # the core changed behind our back
    await poly.raw_relational.upsert(P, {**row, "earnedBadges": row["earnedBadges"][:1]})
    await poly.router.read(P, "p2", "p2")
    await shadow.drain()
    assert list(shadow.mismatch_ids) == [f"{P}/p2"]


async def test_repair_from_postgres_writes_the_core_and_keeps_the_document_part(
    poly: Polyglot,
) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_POSTGRES_READ)
    await poly.router.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    await poly.router.create(P, profile("p1", "acc1", 2, bio="only here"))
    await poly.router.secondary.drain()
    stored = await current(poly.documents, P, "p1", "p1")
    assert stored is not None
    drifted = {**content(stored), "name": "drifted", "earnedBadges": [], "_version": 1}
    await poly.documents.upsert(P, drifted, if_match=stored["_etag"])
    report = await poly.verify(P, settle_s=0)
    assert [sorted(d.paths) for d in report.differences] == [["earnedBadges", "name"]]
    result = await repair_container(poly, P, report)
    assert result.repaired == 1
    fixed = await current(poly.documents, P, "p1", "p1")
    assert fixed is not None
    assert (fixed["name"], len(fixed["earnedBadges"]), fixed["bio"]) == (
        "Player p1",
        2,
        "only here",
    )
    assert (await poly.verify(P, settle_s=0)).clean
