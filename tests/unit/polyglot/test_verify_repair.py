"""Verify finds exactly the injected differences (with paths); repair makes verify clean."""

from __future__ import annotations

import random
from typing import Any

from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.polyglot.consistency.repair import repair
from mystira_data.polyglot.consistency.verify import TICK, verify

Pair = tuple[SqliteDocumentStore, SqliteDocumentStore]
C = "GameSessions"


def session(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"s{n:04d}", "accountId": f"a{n % 7}", "startTime": "2026-01-01T00:00:00Z",
            "status": "InProgress", "_version": 1, **extra}


async def test_verify_is_clean_on_equal_stores_and_ignores_store_fields(pair: Pair) -> None:
    doc, rel = pair
    for n in range(50):
        await doc.create(C, session(n))
        await rel.create(C, session(n))
    await doc.delete(C, "s0003", "a3")
    await rel.delete(C, "s0003", "a3")
    report = await verify(C, doc, rel, "accountId", settle_s=0)
    assert report.clean
    assert report.scanned == 50


async def test_verify_tells_its_progress_every_tick_and_at_the_end(pair: Pair) -> None:
    doc, rel = pair
    for n in range(2 * TICK + 5):
        await doc.create(C, session(n))
        await rel.create(C, session(n))
    told: list[int] = []
    report = await verify(C, doc, rel, "accountId", settle_s=0, on_scanned=told.append)
    assert told == [TICK, 2 * TICK, 2 * TICK + 5] == [*told[:2], report.scanned]


async def test_verify_finds_every_injected_difference_and_repair_fixes_them(pair: Pair) -> None:
    doc, rel = pair
    rng = random.Random(7)
    for n in range(200):
        await doc.create(C, session(n))
        await rel.create(C, session(n))
    ids = rng.sample(range(200), 40)
    expected: dict[str, str] = {}
    for n in ids[:10]:  # secondary lost the document
        await rel.purge(C, f"s{n:04d}", f"a{n % 7}")
        expected[f"s{n:04d}"] = "missing"
    for n in ids[10:20]:  # secondary changed behind the repository's back
        await rel.upsert(C, session(n, status="Paused"))
        expected[f"s{n:04d}"] = "different"
    for n in ids[20:30]:  # deleted in the primary only
        await doc.delete(C, f"s{n:04d}", f"a{n % 7}")
        expected[f"s{n:04d}"] = "different"
    for n in range(1000, 1010):  # only in the secondary
        await rel.create(C, session(n))
        expected[f"s{n:04d}"] = "extra"
    report = await verify(C, doc, rel, "accountId", settle_s=0)
    assert {d.id: d.kind for d in report.differences} == expected
    changed = next(d for d in report.differences if d.id == f"s{ids[10]:04d}")
    assert changed.paths == ["status"]
    dry = await repair(C, doc, rel, report, dry_run=True)
    assert len(dry.planned) == 40
    assert dry.repaired == 0
    assert not (await verify(C, doc, rel, "accountId", settle_s=0)).clean
    result = await repair(C, doc, rel, report)
    assert result.repaired == 40
    assert (await verify(C, doc, rel, "accountId", settle_s=0)).clean
