"""The document store down while PostgreSQL holds the core's primary: a write that touches the
document part is acknowledged by PostgreSQL (its outbox carries the whole document) and
reaches the document store once it is back; reads wait for it rather than answer half."""

from __future__ import annotations

from typing import Any

import pytest

from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.settings import Phase

from .profiles import badge, profile
from .test_split_phases import P, walk_to


class Down:
    """A store that does not answer."""

    name = "documents"

    def __getattr__(self, verb: str) -> Any:
        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable("documents: down for the test")

        return refuse


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY])
async def test_a_write_acknowledged_while_documents_are_down_arrives(
    poly: Polyglot, phase: Phase
) -> None:
    await walk_to(poly, phase)
    repo = poly.router  # no cache in front: every read reaches the stores
    await repo.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    doc = await repo.create(P, profile("p1", "acc1", 1))
    up = repo.stores[Side.DOCUMENT]
    repo.stores[Side.DOCUMENT] = Down()  # type: ignore[assignment]
    try:
        changed = {k: v for k, v in doc.items() if not k.startswith("_")}
        changed["bio"], changed["name"] = "written while down", "Renamed"
        changed["earnedBadges"] = [*changed["earnedBadges"], badge("p1", 5)]
        acked = await repo.replace(P, changed)
        assert acked["_version"] == 2
        with pytest.raises(StoreUnavailable):
            await repo.read(P, "p1", "p1")  # never the new core with an old document part
    finally:
        repo.stores[Side.DOCUMENT] = up
    await poly.router.secondary.drain()
    assert await poly.replicate_once(P) >= 1  # the outbox brings the whole document
    read = await repo.read(P, "p1", "p1")
    assert (read["bio"], read["name"], read["_version"]) == ("written while down", "Renamed", 2)
    assert [b["id"] for b in read["earnedBadges"]] == ["p1-badge-0", "p1-badge-5"]
    assert (await poly.verify(P, settle_s=0)).clean
