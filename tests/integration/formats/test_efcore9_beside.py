"""The "beside a live C# app" tests again, on a document store in the ``efcore9`` format: our
writer mark survives the codec (our own writes never count as foreign), and writes made as the
C# app makes them (no ``_version``, stale marks, hard deletes) reach PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mystira_data.bootstrap import open_platform
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.replication.marker import Writer, writer_of
from tests.integration.consistency.data import put_all
from tests.integration.formats.test_efcore9_polyglot import csharp, raw_store
from tests.integration.polyglot.beside.test_foreign_writers_guard import (  # noqa: F401
    test_own_writes_alone_do_not_refuse,
    test_refused_while_the_csharp_app_writes,
)
from tests.integration.polyglot.beside.test_foreign_writes import (  # noqa: F401
    test_csharp_writes_replicate_and_verify_clean,
)
from tests.integration.polyglot.beside.test_reconcile import (  # noqa: F401
    test_hard_deletes_become_tombstones_and_others_stay,
)
from tests.integration.polyglot.conftest import pair_settings
from tests.integration.relational.conftest import empty_all


@pytest.fixture(params=["sqlite-postgres", "cosmos-postgres"])
async def poly(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Polyglot]:
    settings = pair_settings(
        str(request.param), tmp_path, request, DocumentStore={"Format": "efcore9"}
    )
    async with open_platform(settings, refresh_s=0, provision=True) as opened:
        await empty_all(opened.raw_relational)
        yield opened



async def test_our_writes_stay_ours_through_the_codec(poly: Polyglot) -> None:
    """C#-shaped fixture documents, written back through the repository, read back marked
    ours: the mark signs content the efcore9 round trip keeps (dates, numbers, JSON text),
    so our own writes never count as the C# app's."""
    containers = ("Accounts", "GameSessions", "PlayerScenarioScores", "Scenarios")
    for container in containers:
        await put_all(raw_store(poly), container, csharp(container))
        async for native in poly.stores.documents.read_all(container):
            await poly.repository.upsert(container, native)
    for container in containers:
        writers = [writer_of(d) async for d in poly.stores.documents.read_all(container)]
        assert writers == [Writer.OURS] * len(csharp(container)), container
