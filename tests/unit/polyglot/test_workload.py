"""Workload evidence for `mystira placement`: size, depth, inserts vs updates, reads."""

from __future__ import annotations

from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.metrics import workload as wl
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.query import Query
from tests.unit.polyglot.test_repository import session


@pytest.mark.parametrize(
    ("doc", "depth"),
    [
        (1, 0),
        ({}, 1),
        ({"a": 1, "b": "x"}, 1),
        ({"a": [1, 2]}, 2),
        ({"a": [{"b": 1}], "c": {}}, 3),
        ({"a": {"b": {"c": {"d": []}}}}, 5),
    ],
)
def test_nesting_depth_counts_levels_of_objects_and_arrays(doc: Any, depth: int) -> None:
    assert wl.nesting_depth(doc) == depth


def test_nesting_depth_is_iterative_on_a_very_deep_document() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):  # far past Python's recursion limit
        node["x"] = {}
        node = node["x"]
    assert wl.nesting_depth(deep) == 5001


def test_document_bytes_is_the_compact_utf8_json_size() -> None:
    assert wl.document_bytes({"a": "é", "b": [1, 2]}) == len('{"a":"é","b":[1,2]}'.encode())
    assert [wl.size_bound(n) for n in (1, 128, 129, 5000, 10**9)] == [128, 128, 256, 8192, 2**21]


def test_the_recorder_keeps_counts_until_taken_and_takes_back_a_failed_flush() -> None:
    rec = wl.WorkloadRecorder()
    rec.read("Scenarios", cross_partition=True)
    rec.read("no-such-container")  # never a label: counted as "-"
    rec.written("Scenarios", {"id": "x", "scenes": [{"branches": []}]}, inserted=False)
    rec.deleted("Scenarios")
    taken = rec.take()
    assert taken == {
        (wl.COUNTS, "Scenarios", "reads"): 1,
        (wl.COUNTS, "Scenarios", "cross-partition"): 1,
        (wl.COUNTS, "-", "reads"): 1,
        (wl.COUNTS, "Scenarios", "updates"): 1,
        (wl.COUNTS, "Scenarios", "deletes"): 1,
        (wl.SIZE, "Scenarios", "128"): 1,
        (wl.DEPTH, "Scenarios", "4"): 1,  # doc, scenes, a scene, branches
    }
    assert rec.take() == {}
    rec.give_back(taken)
    rec.read("Scenarios")
    assert rec.take()[(wl.COUNTS, "Scenarios", "reads")] == 2


async def test_the_repository_records_inserts_updates_deletes_and_reads(
    repo: PolyglotRepository,
) -> None:
    await repo.create("GameSessions", session(1))
    await repo.upsert("GameSessions", session(2))  # new: an insert
    await repo.replace("GameSessions", session(1, status="Completed"))
    await repo.upsert("GameSessions", session(2, status="Completed"))
    await repo.delete("GameSessions", "s2", "acc1")
    await repo.upsert("GameSessions", session(2))  # over its tombstone: an insert again
    await repo.read("GameSessions", "s1", "acc1")
    await repo.query("GameSessions", Query(partition_key="acc1"))
    await repo.count("GameSessions", Query(cross_partition=True))
    taken = repo.workload.take()
    counts = {m: n for (k, c, m), n in taken.items() if k == wl.COUNTS and c == "GameSessions"}
    assert counts == {"inserts": 3, "updates": 2, "deletes": 1, "reads": 3, "cross-partition": 1}
    sizes = sum(n for (k, _, _), n in taken.items() if k == wl.SIZE)
    depths = {int(m): n for (k, _, m), n in taken.items() if k == wl.DEPTH}
    assert sizes == 5  # one measurement per insert and update
    assert sum(depths.values()) == 5
    assert min(depths) >= 1


def test_every_container_has_its_placement_reasons() -> None:
    for spec in catalog.CONTAINERS:
        reasons = catalog.placement_reasons(spec.name)
        assert reasons.codes
        assert reasons.summary.endswith(".")
    with pytest.raises(KeyError):
        catalog.placement_reasons("Nope")
