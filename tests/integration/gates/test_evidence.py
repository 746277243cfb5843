"""Gate evidence is flushed as deltas: nothing counted twice, nothing lost when a flush fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.state import evidence as ev
from tests.integration.gates.test_gates import gated
from tests.integration.polyglot.conftest import Factory


async def test_a_failed_flush_keeps_its_counts_for_the_next(
    open_polyglot: Factory, pair: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with gated(open_polyglot, pair, {}) as poly:
        await poly.repository.create("Accounts", {"id": "a0", "email": "0@x.org"})
        recorder, rel = poly.evidence, poly.raw_relational
        for matched in (True, True, False):
            recorder.shadow("Accounts", "DualWriteCosmosRead", "document", matched)
        working = rel.transaction

        @asynccontextmanager
        async def down(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            raise StoreUnavailable("relational down (test)")
            yield  # pragma: no cover

        monkeypatch.setattr(rel, "transaction", down)
        await recorder.flush(rel)  # logged, kept
        monkeypatch.setattr(rel, "transaction", working)
        await recorder.flush(rel)
        await recorder.flush(rel)  # nothing new: nothing added

        shadow = await ev.sums(rel, ev.SHADOW, container="Accounts", phase="DualWriteCosmosRead")
        assert shadow == {"document": ev.Tally(2, 1)}
        calls = await ev.sums(rel, ev.CALLS)
        breaker = poly.breakers["documents"]
        assert calls["documents"] == ev.Tally(breaker.succeeded, breaker.failed)
        assert calls["documents"].ok > 0
