"""Polyglot unit fixtures: two embedded SQLite document stores stand in for the pair."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import stamina

from mystira_data import catalog
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.record import MemoryPhaseStore
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.polyglot.write.secondary import SecondaryWriter, SyncLog
from mystira_data.settings import PolyglotPersistence


@pytest.fixture(autouse=True)
def _no_retry_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SqliteDocumentStore, SqliteDocumentStore]]:
    pks = catalog.partition_keys()
    async with (
        SqliteDocumentStore(tmp_path / "doc.sqlite3", pks) as doc,
        SqliteDocumentStore(tmp_path / "rel.sqlite3", pks) as rel,
    ):
        yield doc, rel


@pytest.fixture
async def repo(
    pair: tuple[SqliteDocumentStore, SqliteDocumentStore],
) -> AsyncIterator[PolyglotRepository]:
    control = PhaseControl(MemoryPhaseStore(), PolyglotPersistence(), refresh_s=0)
    writer = SecondaryWriter(timeout_s=5, mode="inline", sync_log=SyncLog())
    yield PolyglotRepository(pair[0], pair[1], control, writer)
    await writer.close()
