"""Deleting an account deletes its profiles: core rows, badge rows and document parts, in
every phase (the repository's cascade; PostgreSQL's foreign keys on purge)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mystira_data.errors import NotFound
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.guarded import current
from mystira_data.relational.tables import user_badges
from mystira_data.settings import Phase

from .profiles import profile
from .test_split_phases import P, walk_to


async def badge_count(poly: Polyglot) -> int:
    async with poly.raw_relational.reading() as conn:
        stmt = sa.select(sa.func.count()).select_from(user_badges)
        return int((await conn.execute(stmt)).scalar_one())


@pytest.mark.parametrize("phase", list(Phase))
async def test_account_delete_cascades_to_profiles(poly: Polyglot, phase: Phase) -> None:
    await walk_to(poly, phase)
    repo = poly.repository
    await repo.create("Accounts", {"id": "acc1", "email": "a@example.org"})
    await repo.create("Accounts", {"id": "acc2", "email": "b@example.org"})
    for n, account in enumerate(("acc1", "acc1", "acc2")):
        await repo.create(P, profile(f"p{n}", account, 2))
    await repo.delete("Accounts", "acc1", "acc1")
    await poly.router.secondary.drain()
    for gone in ("p0", "p1"):
        with pytest.raises(NotFound):
            await repo.read(P, gone, gone)
        for store in (poly.documents, poly.relational):
            stored = await current(store, P, gone, gone)
            assert stored is None or stored.get("_deleted") is True, (store.name, stored)
    kept = await repo.read(P, "p2", "p2")
    assert (kept["pronouns"], len(kept["earnedBadges"])) == ("they/them", 2)
    # Only the live profile keeps badge rows (none at all before the core moves).
    assert await badge_count(poly) == (0 if phase is Phase.COSMOS_ONLY else 2)
    if phase is not Phase.COSMOS_ONLY:
        await poly.raw_relational.purge("Accounts", "acc2", "acc2")  # the FK cascade
        assert await current(poly.relational, P, "p2", "p2") is None
        assert await badge_count(poly) == 0
