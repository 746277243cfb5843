"""The C# app's own UserProfiles documents (``efcore9`` format) beside PostgreSQL: the core
and the badges backfill into rows, verify clean, and reads from PostgreSQL join the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mystira_data.bootstrap import open_platform
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.settings import Phase
from tests.integration.consistency.data import put_all
from tests.integration.formats.test_efcore9_polyglot import csharp, raw_store
from tests.integration.polyglot.conftest import pair_settings
from tests.integration.relational.conftest import empty_all

from .test_split_phases import content

P = "UserProfiles"
LENA = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
async def efcore(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Polyglot]:
    settings = pair_settings(
        "sqlite-postgres", tmp_path, request, DocumentStore={"Format": "efcore9"}
    )
    async with open_platform(settings, refresh_s=0, provision=True) as opened:
        await empty_all(opened.raw_relational)
        yield opened


async def test_csharp_profiles_split_and_join(efcore: Polyglot) -> None:
    poly = efcore
    for container in ("Accounts", P):
        await poly.control.set(container, Phase.DUAL_WRITE_COSMOS_READ, force=True, reason="t")
        await put_all(raw_store(poly), container, csharp(container))
        report = await backfill(poly, container, Side.RELATIONAL)
        assert not report.quarantined, report
    assert (await poly.verify(P, settle_s=0)).clean
    row = await poly.raw_relational.read(P, LENA, LENA)
    assert (row["name"], [b["id"] for b in row["earnedBadges"]]) == ("Lena", ["ub-0001-courage"])
    assert "pronouns" not in row  # the document part stays in the document store
    before = await poly.router.read(P, LENA, LENA)
    for container in ("Accounts", P):
        await poly.control.set(container, Phase.DUAL_WRITE_POSTGRES_READ, force=True, reason="t")
    after = await poly.router.read(P, LENA, LENA)
    assert content(after) == content(before)
    assert after["_version"] == before["_version"]
    assert (after["pronouns"], after["preferredFantasyThemes"]) == (
        "she/her",
        ["Forest Adventures", "Animal Companions"],
    )
