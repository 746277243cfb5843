"""`ControlStore`: the SQL store (SQLite, PostgreSQL) and its memory twin behave alike.

Unset controls read as defaults; a change sets only what it names, is validated, and is
audited (pause / resume / throttle with the values changed); a worker's report sets the live
state without touching what operators set.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mystira_data import catalog
from mystira_data.polyglot.controls.record import STATE_FRESH_S, Control, InvalidControl, Task
from mystira_data.polyglot.controls.store import (
    ControlStore,
    MemoryControlStore,
    RelationalControlStore,
    by_container,
)
from mystira_data.polyglot.state.audit_log import AuditEntry, entries
from mystira_data.relational import RelationalStore

BF, REP = Task.BACKFILL, Task.REPLICATION


@pytest.fixture
def controls(state_backend: RelationalStore | None) -> ControlStore:
    if state_backend is None:
        return MemoryControlStore()
    return RelationalControlStore(state_backend)


async def audited(store: ControlStore) -> list[tuple[str, str | None, str, dict[str, object]]]:
    """(action, container, reason, detail) of each audit entry, oldest first."""
    if isinstance(store, MemoryControlStore):
        found: list[AuditEntry] = store.audit
        return [(e.action, e.container, e.reason, e.detail) for e in found]
    assert isinstance(store, RelationalControlStore)
    rows = reversed(await entries(store.store))
    return [(r["action"], r["container"], r["reason"], r["detail"]) for r in rows]


async def test_unset_controls_are_the_defaults(controls: ControlStore) -> None:
    assert await controls.get("Accounts", BF) == Control("Accounts", BF)
    assert await controls.listing() == []
    table = await by_container(controls)
    assert set(table) == {c.name for c in catalog.relational_containers()}
    assert {"Accounts", "GameSessions", "PlayerScenarioScores"} <= set(table)
    assert table["Accounts"]["replication"].as_json()["state"] is None


async def test_a_change_sets_only_what_it_names_and_is_audited(controls: ControlStore) -> None:
    await controls.change("GameSessions", BF, {"rate_limit": 50, "batch_size": 100.0},
                          reason="night", actor="cli:ops")
    paused = await controls.change("GameSessions", BF, {"paused": True}, reason="incident",
                                   actor="key:k1")
    assert (paused.paused, paused.rate_limit, paused.batch_size) == (True, 50.0, 100)
    assert (paused.reason, paused.updated_by) == ("incident", "key:k1")
    assert await controls.get("GameSessions", BF) == replace(paused, updated_at=(
        await controls.get("GameSessions", BF)).updated_at)
    await controls.change("GameSessions", BF, {"paused": False, "rate_limit": None},
                          reason="over", actor="cli:ops")
    cleared = await controls.get("GameSessions", BF)
    assert (cleared.paused, cleared.rate_limit, cleared.batch_size) == (False, None, 100)
    assert await controls.get("GameSessions", REP) == Control("GameSessions", REP)
    assert await audited(controls) == [
        ("throttle", "GameSessions", "night",
         {"task": "backfill", "rateLimit": 50.0, "batchSize": 100}),
        ("pause", "GameSessions", "incident", {"task": "backfill", "paused": True}),
        ("resume", "GameSessions", "over",
         {"task": "backfill", "paused": False, "rateLimit": None}),
    ]


@pytest.mark.parametrize(
    ("task", "changes", "path"),
    [
        (BF, {"rate_limit": 0}, "rateLimit"),
        (BF, {"rate_limit": "fast"}, "rateLimit"),
        (BF, {"batch_size": 1001}, "batchSize"),
        (BF, {"concurrency": 2.5}, "concurrency"),
        (BF, {"paused": None}, "paused"),
        (REP, {"max_lag_s": 5}, "maxLagSeconds"),
        (BF, {"owner": "x"}, "owner"),
    ],
)
async def test_bad_values_are_refused_naming_the_field(
    controls: ControlStore, task: Task, changes: dict[str, object], path: str
) -> None:
    with pytest.raises(InvalidControl) as refused:
        await controls.change("Accounts", task, changes, reason="r", actor="a")
    assert refused.value.path == path
    assert await controls.listing() == []
    assert await audited(controls) == []


async def test_reports_set_the_live_state_only(controls: ControlStore) -> None:
    await controls.change("Accounts", BF, {"max_lag_s": 5}, reason="r", actor="a")
    await controls.report("Accounts", BF, "throttled: lag 9.0s > 5.0s", "w1")
    await controls.report("Accounts", REP, "paused by operator", "w2")
    found = await controls.get("Accounts", BF)
    assert (found.max_lag_s, found.reason, found.state_by) == (5.0, "r", "w1")
    assert found.as_json()["state"] == "throttled: lag 9.0s > 5.0s"
    assert (await controls.get("Accounts", REP)).live_state() == "paused by operator"
    later = datetime.now(UTC) + timedelta(seconds=STATE_FRESH_S + 1)
    assert found.live_state(later) is None  # a worker that stopped reporting is not live
    await controls.report("Accounts", BF, None, "w1")
    assert (await controls.get("Accounts", BF)).as_json()["state"] is None
    assert len(await audited(controls)) == 1  # reports are not audited
