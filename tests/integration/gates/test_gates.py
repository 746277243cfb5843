"""Each evidence gate refuses a forward move with its number, and passes once satisfied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from mystira_data.errors import PhaseTransitionRefused, StoreUnavailable
from mystira_data.gate_settings import Gates
from mystira_data.polyglot.consistency.repair import repair_container
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.state.audit_log import entries
from mystira_data.settings import Phase
from tests.integration.polyglot.conftest import Factory
from tests.integration.relational.conftest import empty_all

DWCR, DWPR, PG_ONLY = (
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.POSTGRES_ONLY,
)


@asynccontextmanager
async def gated(
    open_polyglot: Factory, pair: str, gates: dict[str, Any], **pp: Any
) -> AsyncIterator[Polyglot]:
    async with open_polyglot(Gates=gates, PolyglotPersistence=pp) as poly:
        if pair != "embedded":
            await empty_all(poly.raw_relational)
        yield poly


async def accounts(poly: Polyglot, count: int) -> None:
    for n in range(count):
        await poly.repository.create("Accounts", {"id": f"a{n}", "email": f"{n}@x.org"})


async def refusal(poly: Polyglot, target: Phase) -> str:
    with pytest.raises(PhaseTransitionRefused) as refused:
        await poly.control.set("Accounts", target, actor="test")
    return str(refused.value)


async def test_lag_gate_names_the_pending_changes(open_polyglot: Factory, pair: str) -> None:
    async with gated(open_polyglot, pair, {"MaxLagChanges": 2}) as poly:
        await poly.control.set("Accounts", DWCR)
        await accounts(poly, 3)  # in the change feed, not yet through replication
        assert (await poly.verify("Accounts", settle_s=0)).clean
        message = await refusal(poly, DWPR)
        assert "gate 1 (lag): lag 3 changes > 2" in message
        assert "gate 2" not in message
        await poly.replicate_until_caught_up("Accounts")
        await poly.control.set("Accounts", DWPR, actor="test")
        assert await poly.control.phase("Accounts") is DWPR


async def test_a_verify_from_before_the_phase_began_does_not_count(
    open_polyglot: Factory, pair: str
) -> None:
    async with gated(open_polyglot, pair, {}) as poly:
        await poly.control.set("Accounts", DWCR)
        assert "gate 2 (verify): no verify has run" in await refusal(poly, DWPR)
        await accounts(poly, 2)
        await poly.replicate_until_caught_up("Accounts")
        assert (await poly.verify("Accounts", settle_s=0)).clean
        await poly.control.set("Accounts", DWPR, actor="test")
        # The clean verify was taken in DualWriteCosmosRead: it says nothing about this phase.
        message = await refusal(poly, PG_ONLY)
        assert "gate 2 (verify): verify #" in message
        assert "before the move that began the current phase" in message
        assert (await poly.verify("Accounts", settle_s=0)).clean
        await poly.control.set("Accounts", PG_ONLY, actor="test")
        [move] = await entries(poly.raw_relational, "Accounts", 1)
        verify = move["evidence"]["verify"]
        assert verify["passed"]
        assert verify["position"] >= verify["requiredPosition"] > 0


async def test_shadow_gate_counts_comparisons_and_their_consistency(
    open_polyglot: Factory, pair: str
) -> None:
    pp = {"EnableConsistencyValidation": True, "ConsistencySampleRate": 1.0}
    gates = {"ShadowMinComparisons": 10, "ShadowMinConsistency": 0.999}
    async with gated(open_polyglot, pair, gates, **pp) as poly:
        await poly.control.set("Accounts", DWCR)
        await accounts(poly, 5)
        await poly.replicate_until_caught_up("Accounts")
        assert (await poly.verify("Accounts", settle_s=0)).clean
        assert "gate 3 (shadow): shadow comparisons 0 < 10" in await refusal(poly, DWPR)
        row = await poly.relational.read("Accounts", "a1", "a1")  # drift behind our back
        await poly.raw_relational.upsert("Accounts", {**row, "email": "drift@x.org"})
        for _ in range(2):
            for n in range(5):
                await poly.router.read("Accounts", f"a{n}", f"a{n}")
        assert poly.router.shadow is not None
        await poly.router.shadow.drain()
        message = await refusal(poly, DWPR)
        assert "gate 3 (shadow): shadow consistency 80.0% < 99.9% over 10 comparisons" in message
        assert poly.gates is not None
        poly.gates.settings = Gates(ShadowMinComparisons=10, ShadowMinConsistency=0.8)
        await poly.control.set("Accounts", DWPR, actor="test")


async def test_error_rate_gate_compares_the_would_be_primary_with_the_current_one(
    open_polyglot: Factory, pair: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with gated(open_polyglot, pair, {"ErrorRateMinCalls": 5}) as poly:
        await poly.control.set("Accounts", DWCR)
        await accounts(poly, 4)
        await poly.replicate_until_caught_up("Accounts")
        assert (await poly.verify("Accounts", settle_s=0)).clean
        await fail_some(poly, "relational", monkeypatch)
        message = await refusal(poly, DWPR)
        assert "gate 4 (error-rate): error rate relational" in message
        assert "> documents 0.00% × 1 over the last 15 min" in message
        await fail_some(poly, "documents", monkeypatch, rounds=6)  # the current one worse
        await poly.control.set("Accounts", DWPR, actor="test")


async def fail_some(
    poly: Polyglot, side: str, monkeypatch: pytest.MonkeyPatch, rounds: int = 3
) -> None:
    """Calls through the resilience layer: failures (retried, each attempt counted) between
    successes, so the breaker never opens."""
    raw: Any = poly.stores.documents if side == "documents" else poly.raw_relational
    wrapped: Any = poly.documents if side == "documents" else poly.relational
    working = raw.read

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable(f"{side} down (test)")

    for _ in range(rounds):
        monkeypatch.setattr(raw, "read", down)
        with pytest.raises(StoreUnavailable):
            await wrapped.read("Accounts", "a0", "a0")
        monkeypatch.setattr(raw, "read", working)
        await wrapped.read("Accounts", "a0", "a0")


async def test_force_needs_a_reason_and_is_audited_with_the_failing_gates(
    open_polyglot: Factory, pair: str
) -> None:
    async with gated(open_polyglot, pair, {}) as poly:
        await poly.control.set("Accounts", DWCR, actor="cli:tester")
        with pytest.raises(PhaseTransitionRefused, match="--force needs a --reason"):
            await poly.control.set("Accounts", DWPR, force=True)
        await poly.control.set("Accounts", DWPR, force=True, reason="drill", actor="key:k1")
        forced, first = await entries(poly.raw_relational, "Accounts")
        assert (first["actor"], first["detail"]) == (
            "cli:tester",
            {"from": "CosmosOnly", "to": "DualWriteCosmosRead"},
        )
        assert (forced["actor"], forced["forced"], forced["reason"]) == ("key:k1", True, "drill")
        assert forced["evidence"]["verify"]["passed"] is False  # what was overridden, kept
        assert set(forced["evidence"]) == {"lag", "verify", "shadow", "error-rate"}


async def test_a_repair_is_audited_with_its_counts(open_polyglot: Factory, pair: str) -> None:
    async with gated(open_polyglot, pair, {}) as poly:
        await poly.control.set("Accounts", DWCR)
        await accounts(poly, 3)
        await poly.replicate_until_caught_up("Accounts")
        row = await poly.relational.read("Accounts", "a2", "a2")
        await poly.raw_relational.upsert("Accounts", {**row, "email": "drift@x.org"})
        await repair_container(poly, "Accounts", dry_run=True)  # changes nothing: not audited
        result = await repair_container(poly, "Accounts", actor="cli:tester")
        assert result.repaired == 1
        [entry, _] = await entries(poly.raw_relational, "Accounts")
        assert (entry["action"], entry["actor"]) == ("repair", "cli:tester")
        assert (entry["detail"]["differences"], entry["detail"]["repaired"]) == (1, 1)
