"""Shadow reads: never change the answer, never leak the other store's errors, count mismatches."""

from __future__ import annotations

from typing import Any

import pytest

from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.shadow import ShadowReader
from mystira_data.settings import Phase

START = "2026-01-01T00:00:00Z"


async def test_shadow_reads_count_injected_mismatches_without_changing_answers(
    poly: Polyglot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shadow = ShadowReader(sample_rate=1.0)
    poly.router.shadow = shadow
    await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    await poly.control.set("GameSessions", Phase.DUAL_WRITE_COSMOS_READ)
    await poly.repository.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    for n in range(10):
        await poly.repository.create("GameSessions", {
            "id": f"s{n}", "accountId": "acc1", "startTime": START, "status": "InProgress"})
    for n in (2, 5, 7):  # behind the repository's back, in the secondary only
        row = await poly.relational.read("GameSessions", f"s{n}", "acc1")
        await poly.raw_relational.upsert("GameSessions", {**row, "status": "Paused"})
    # The routing repository itself: a cache hit reads no store, so it shadows nothing.
    answers = [await poly.router.read("GameSessions", f"s{n}", "acc1") for n in range(10)]
    await shadow.drain()
    assert {a["status"] for a in answers} == {"InProgress"}  # always the read store's answer
    assert (shadow.matches, shadow.mismatches, shadow.errors) == (7, 3, 0)
    assert sorted(shadow.mismatch_ids) == ["GameSessions/s2", "GameSessions/s5", "GameSessions/s7"]

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("relational down")

    monkeypatch.setattr(poly.raw_relational, "query", down)
    monkeypatch.setattr(poly.raw_relational, "read_stored", down)  # the keyed read
    assert (await poly.router.read("GameSessions", "s1", "acc1"))["status"] == "InProgress"
    await shadow.drain()
    assert shadow.errors == 1
