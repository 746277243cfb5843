"""The simulator: deletes among its writes (children first), fresh ids on every run, and the
same moves for the same seed."""

from __future__ import annotations

from typing import Any, cast

from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.polyglot.phase.record import MemoryPhaseStore
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.query import Query, every
from mystira_data.settings import Phase
from mystira_data.simulator import SimulationReport, simulate
from mystira_data.types import JsonDoc

Pair = tuple[SqliteDocumentStore, SqliteDocumentStore]
CONTAINERS = ("Accounts", "GameSessions", "PlayerScenarioScores")


class Recording:
    """The repository, recording each write's (verb, container) in call order."""

    def __init__(self, repo: PolyglotRepository) -> None:
        self.repo = repo
        self.moves: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.repo, name)
        if name not in ("create", "replace", "upsert", "delete"):
            return attr

        async def recorded(container: str, *args: Any, **kwargs: Any) -> JsonDoc:
            self.moves.append((name, container))
            doc: JsonDoc = await attr(container, *args, **kwargs)
            return doc

        return recorded


async def dual_write(repo: PolyglotRepository) -> None:
    store = repo.control.store
    assert isinstance(store, MemoryPhaseStore)
    for container in CONTAINERS:
        store.phases[container] = Phase.DUAL_WRITE_COSMOS_READ


async def run(repo: PolyglotRepository) -> tuple[SimulationReport, list[tuple[str, str]]]:
    recording = Recording(repo)
    # One player at a time, so the order of moves is the seed's alone.
    report = await simulate(
        cast(PolyglotRepository, recording), players=12, writes=600, concurrency=1, seed=5
    )
    assert report.failed == 0, report.errors[:5]
    return report, recording.moves


async def stored(store: SqliteDocumentStore, container: str) -> dict[str, JsonDoc]:
    query = Query(cross_partition=True, include_deleted=True)
    return {d["id"]: d async for d in every(store, container, query)}


async def test_a_second_run_with_the_same_seed_makes_the_same_moves_on_fresh_ids(
    repo: PolyglotRepository,
) -> None:
    await dual_write(repo)
    first, first_moves = await run(repo)
    second, second_moves = await run(repo)  # once AlreadyExists: the same ids came again
    assert first_moves == second_moves
    assert first.run_id != second.run_id
    assert not first.acknowledged.keys() & second.acknowledged.keys()


async def test_deletes_leave_exactly_the_acknowledged_tombstones_in_both_stores(
    repo: PolyglotRepository, pair: Pair
) -> None:
    await dual_write(repo)
    report, moves = await run(repo)
    deletes = [container for verb, container in moves if verb == "delete"]
    assert set(deletes) == set(CONTAINERS)  # scores, sessions and accounts are deleted
    assert report.deletes == len(deletes) < len(moves) // 5  # a small share, acknowledged
    for container in CONTAINERS:
        mine = {i: v for (c, i), v in report.acknowledged.items() if c == container}
        gone = {i for c, i in report.deleted if c == container}
        for store in pair:
            docs = await stored(store, container)
            # Nothing more: a cascade writing behind the simulator's back would show here.
            assert {i: d["_version"] for i, d in docs.items()} == mine, (store.name, container)
            assert {i for i, d in docs.items() if d.get("_deleted")} == gone
