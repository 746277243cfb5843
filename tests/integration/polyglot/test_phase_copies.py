"""The phase record's copies (`polyglot.phase_copies`) on a real embedded document store.

The record is a `MemoryPhaseStore` that can be made unavailable; the mirror lives in the
SQLite document store; the local copy in a file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mystira_data import catalog
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.phase.copies import (
    Copy,
    DocumentMirror,
    LocalCopy,
    MirroredPhaseStore,
)
from mystira_data.polyglot.phase.record import MemoryPhaseStore, Source, Transition
from mystira_data.settings import Phase

C = "Accounts"
COSMOS_READ = Phase.DUAL_WRITE_COSMOS_READ


class Switchable(MemoryPhaseStore):
    """The record, with an off switch for its store."""

    down: bool = False

    async def load(self):  # type: ignore[no-untyped-def]
        if self.down:
            raise StoreUnavailable("record store down (test)")
        return await super().load()


@pytest.fixture
async def documents(tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    async with SqliteDocumentStore(tmp_path / "docs.sqlite", catalog.partition_keys()) as store:
        yield store


@pytest.fixture
def record() -> Switchable:
    return Switchable()


@pytest.fixture
def copies(
    record: Switchable, documents: SqliteDocumentStore, tmp_path: Path
) -> MirroredPhaseStore:
    return MirroredPhaseStore(
        record,
        DocumentMirror(documents),
        LocalCopy(tmp_path / "phases.json"),
        lambda _: Phase.COSMOS_ONLY,
        retry_s=0.0,
    )


def move(to: Phase, frm: Phase = Phase.COSMOS_ONLY) -> Transition:
    return Transition(C, frm, to, datetime.now(UTC), "test", False)


async def test_with_the_record_down_a_move_is_read_from_the_mirror(
    record: Switchable, copies: MirroredPhaseStore
) -> None:
    assert await copies.save(move(COSMOS_READ), 0)
    record.down = True
    loaded = await copies.load()
    assert loaded[C].phase is COSMOS_READ
    assert loaded[C].source is Source.MIRROR
    assert not loaded[C].held


async def test_an_announced_move_holds_and_an_older_copy_cannot_hide_it(
    record: Switchable, copies: MirroredPhaseStore, documents: SqliteDocumentStore
) -> None:
    await copies.load()  # copies the "no record yet" state
    mirror = DocumentMirror(documents)
    await mirror.put(C, Copy(Phase.COSMOS_ONLY, 0, True))  # a move announced elsewhere
    await mirror.put(C, Copy(Phase.COSMOS_ONLY, 0, False))  # a slower process's older copy
    record.down = True
    loaded = await copies.load()
    assert loaded[C].held
    assert loaded[C].source is Source.MIRROR


async def test_a_container_never_copied_is_held(
    record: Switchable, copies: MirroredPhaseStore
) -> None:
    record.down = True
    loaded = await copies.load()
    assert all(r.held for r in loaded.values())
    assert set(loaded) == {c.name for c in catalog.relational_containers()}


async def test_a_lost_compare_and_set_takes_its_announcement_back(
    record: Switchable, copies: MirroredPhaseStore
) -> None:
    assert not await copies.save(move(COSMOS_READ), 5)  # the record is not at version 5
    record.down = True
    assert not (await copies.load())[C].held


async def test_with_the_mirror_down_too_the_local_copy_routes_reads_and_holds_writes(
    record: Switchable, copies: MirroredPhaseStore, documents: SqliteDocumentStore
) -> None:
    assert await copies.save(move(COSMOS_READ), 0)
    record.down = True
    await documents.close()  # the document store goes away as well
    loaded = await copies.load()
    assert loaded[C].phase is COSMOS_READ
    assert loaded[C].source is Source.LOCAL
    assert loaded[C].held


async def test_a_move_is_refused_when_it_cannot_be_announced(
    copies: MirroredPhaseStore, documents: SqliteDocumentStore
) -> None:
    await documents.close()
    with pytest.raises(StoreUnavailable, match="announce"):
        await copies.save(move(COSMOS_READ), 0)
