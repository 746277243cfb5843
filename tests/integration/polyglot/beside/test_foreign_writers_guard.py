"""A move into a PostgreSQL-primary phase is refused while writes that did not come through
this platform appear in the container within the window; it succeeds when forced with a
reason, or once they stop (the window passes, on the guard's own clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mystira_data.errors import PhaseTransitionRefused
from mystira_data.polyglot.layer import Polyglot
from mystira_data.settings import Phase
from tests.integration.polyglot.beside.csharp import CSharpApp
from tests.integration.polyglot.beside.test_foreign_writes import catch_up, populate
from tests.integration.polyglot.test_phases_crud import walk_to


async def ready_to_move(poly: Polyglot) -> None:
    """Every other guard satisfied: caught up and a clean verify of both containers."""
    await catch_up(poly)
    for container in ("Accounts", "GameSessions"):
        assert (await poly.verify(container, settle_s=0)).clean, container


async def test_own_writes_alone_do_not_refuse(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await ready_to_move(poly)
    await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    assert await poly.control.phase("Accounts") is Phase.DUAL_WRITE_POSTGRES_READ


async def test_refused_while_the_csharp_app_writes(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    cs = CSharpApp(poly)
    acc1 = await cs.load("Accounts", "acc1", "acc1")
    await cs.rebuild("Accounts", {**acc1, "email": "csharp@example.org"})
    await cs.rebuild("Accounts", {"id": "acc9", "email": "new@example.org"})
    await ready_to_move(poly)  # replicated and verified: only the foreign writer is left

    with pytest.raises(PhaseTransitionRefused) as refused:
        await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    message = str(refused.value)
    assert "Accounts: 2 document(s)" in message
    newest = (await cs.load("Accounts", "acc9", "acc9"))["_ts"]
    assert f"{datetime.fromtimestamp(newest, UTC):%Y-%m-%d %H:%M:%S} UTC" in message
    assert await poly.control.phase("Accounts") is Phase.DUAL_WRITE_COSMOS_READ

    await poly.control.set(
        "Accounts", Phase.DUAL_WRITE_POSTGRES_READ, force=True, reason="C# app retired today"
    )
    assert await poly.control.phase("Accounts") is Phase.DUAL_WRITE_POSTGRES_READ


async def test_allowed_once_foreign_writes_stop(poly: Polyglot) -> None:
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    cs = CSharpApp(poly)
    await cs.rebuild("Accounts", {"id": "acc9", "email": "new@example.org"})
    await ready_to_move(poly)
    with pytest.raises(PhaseTransitionRefused, match="not through this platform"):
        await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)

    later = datetime.now(UTC) + poly.guards.foreign_window + timedelta(seconds=5)
    poly.guards.clock = lambda: later  # no foreign write since: the window is quiet
    await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    assert await poly.control.phase("Accounts") is Phase.DUAL_WRITE_POSTGRES_READ


async def test_postgres_only_refused_while_foreign_writes_reach_documents(poly: Polyglot) -> None:
    """In DualWritePostgresRead nothing copies the documents back: a foreign write there is
    lost to PostgreSQL, so PostgresOnly is refused too."""
    await walk_to(poly, Phase.DUAL_WRITE_COSMOS_READ)
    await populate(poly)
    await ready_to_move(poly)
    await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    await CSharpApp(poly).rebuild("Accounts", {"id": "acc9", "email": "late@example.org"})
    with pytest.raises(PhaseTransitionRefused, match="Accounts: 1 document"):
        await poly.control.set("Accounts", Phase.POSTGRES_ONLY)
