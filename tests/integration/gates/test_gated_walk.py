"""A whole walk through gated moves on the Cosmos DB API server and PostgreSQL, no force."""

from __future__ import annotations

import pytest

from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.state.audit_log import entries
from mystira_data.settings import Phase
from tests.integration.gates.test_gates import accounts, gated, refusal
from tests.integration.polyglot.conftest import Factory

GATES = {"MaxLagChanges": 0, "ShadowMinComparisons": 5, "ShadowMinConsistency": 1.0}
SHADOW = {"EnableConsistencyValidation": True, "ConsistencySampleRate": 1.0}


async def read_all(poly: Polyglot, count: int) -> None:
    for n in range(count):
        await poly.router.read("Accounts", f"a{n}", f"a{n}")
    assert poly.router.shadow is not None
    await poly.router.shadow.drain()


async def prove(poly: Polyglot) -> None:
    """What an operator does before each move: replicate, verify, let reads compare."""
    await poly.replicate_until_caught_up("Accounts")
    assert (await poly.verify("Accounts", settle_s=0)).clean
    await read_all(poly, 5)


@pytest.mark.parametrize("pair", ["cosmos-postgres"])
async def test_a_walk_where_every_move_earns_its_gates(open_polyglot: Factory, pair: str) -> None:
    async with gated(open_polyglot, pair, GATES, **SHADOW) as poly:
        await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ, actor="cli:walker")
        await accounts(poly, 5)
        await prove(poly)
        await poly.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ, actor="cli:walker")

        message = await refusal(poly, Phase.POSTGRES_ONLY)  # the proofs of the last phase
        assert "gate 2 (verify)" in message
        assert "gate 3 (shadow): shadow comparisons 0 < 5 in DualWritePostgresRead" in message
        await prove(poly)
        await poly.control.set("Accounts", Phase.POSTGRES_ONLY, actor="cli:walker")

        moves = list(reversed(await entries(poly.raw_relational, "Accounts")))
        assert [m["detail"]["to"] for m in moves] == [
            "DualWriteCosmosRead",
            "DualWritePostgresRead",
            "PostgresOnly",
        ]
        for move in moves[1:]:
            assert not move["forced"]
            gates = move["evidence"]
            assert all(g["passed"] for g in gates.values() if g["applies"])
            assert gates["shadow"]["comparisons"] == 5
