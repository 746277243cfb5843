"""Where control records live: `MemoryControlStore` (one process, tests) and
`RelationalControlStore` (``_polyglot_controls``, shared by every process).

A change is audited: the relational store adds the audit entry in the change's own
transaction (action "pause", "resume" or "throttle", the changed values as detail).
Reports of the live state never touch what operators set, and are not audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from mystira_data import catalog
from mystira_data.polyglot.controls.record import FIELDS, Control, Task, changed, checked
from mystira_data.polyglot.state import audit_log
from mystira_data.polyglot.state.audit_log import Action, AuditEntry
from mystira_data.relational import RelationalStore, insert_for
from mystira_data.relational import tables as t

__all__ = [
    "CONTAINERS",
    "ControlStore",
    "MemoryControlStore",
    "RelationalControlStore",
    "audit_entry",
    "by_container",
]


# The containers with replication and backfill to control (those with a relational mapping).
CONTAINERS = tuple(c.name for c in catalog.relational_containers())

# Record attribute → column.
_COLUMNS = {
    "paused": "paused",
    "rate_limit": "rate_limit",
    "max_lag_s": "max_lag_seconds",
    "batch_size": "batch_size",
    "concurrency": "concurrency",
}


class ControlStore(Protocol):
    async def get(self, container: str, task: Task) -> Control:
        """The record, or the defaults (nothing set) when there is none."""

    async def listing(self) -> list[Control]:
        """Every stored record."""

    async def change(
        self, container: str, task: Task, changes: Mapping[str, Any], *, reason: str, actor: str
    ) -> Control:
        """Set ``changes`` (attribute → value, `checked` here), audited; the new record."""

    async def report(self, container: str, task: Task, state: str | None, writer: str) -> None:
        """Record the live state ``writer`` is in (None: it stopped)."""


def audit_entry(
    before: Control, changes: Mapping[str, Any], *, reason: str, actor: str
) -> AuditEntry:
    """The audit entry of a change: pause/resume when ``paused`` flips, else throttle."""
    action = Action.THROTTLE
    if "paused" in changes and changes["paused"] != before.paused:
        action = Action.PAUSE if changes["paused"] else Action.RESUME
    detail: dict[str, Any] = {"task": before.task.value}
    detail.update({FIELDS[k]: v for k, v in changes.items()})
    return AuditEntry(actor, action, before.container, reason, detail=detail)


async def by_container(
    store: ControlStore, names: tuple[str, ...] = CONTAINERS
) -> dict[str, dict[str, Control]]:
    """{container: {task: control}} for ``names``, defaults where nothing is stored."""
    stored = {(c.container, c.task): c for c in await store.listing()}
    return {
        name: {task.value: stored.get((name, task)) or Control(name, task) for task in Task}
        for name in names
    }


class MemoryControlStore:
    """A `ControlStore` in one process; its audit entries are kept in ``audit``."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, Task], Control] = {}
        self.audit: list[AuditEntry] = []

    async def get(self, container: str, task: Task) -> Control:
        return self.rows.get((container, task)) or Control(container, task)

    async def listing(self) -> list[Control]:
        return [self.rows[k] for k in sorted(self.rows)]

    async def change(
        self, container: str, task: Task, changes: Mapping[str, Any], *, reason: str, actor: str
    ) -> Control:
        valid = checked(task, changes)
        before = await self.get(container, task)
        self.audit.append(audit_entry(before, valid, reason=reason, actor=actor))
        now = datetime.now(UTC)
        after = changed(before, valid, reason=reason, updated_by=actor, updated_at=now)
        self.rows[(container, task)] = after
        return after

    async def report(self, container: str, task: Task, state: str | None, writer: str) -> None:
        row = await self.get(container, task)
        at = datetime.now(UTC)
        self.rows[(container, task)] = replace(row, state=state, state_by=writer, state_at=at)


class RelationalControlStore:
    """A `ControlStore` on ``_polyglot_controls``."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def get(self, container: str, task: Task) -> Control:
        c = t.controls
        stmt = sa.select(c).where(c.c.container == container, c.c.task == task.value)
        async with self.store.reading() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _control(row) if row is not None else Control(container, task)

    async def listing(self) -> list[Control]:
        c = t.controls
        stmt = sa.select(c).order_by(c.c.container, c.c.task)
        async with self.store.reading() as conn:
            return [_control(r) for r in (await conn.execute(stmt)).mappings()]

    async def change(
        self, container: str, task: Task, changes: Mapping[str, Any], *, reason: str, actor: str
    ) -> Control:
        valid = checked(task, changes)
        now = datetime.now(UTC)
        values = {_COLUMNS[k]: v for k, v in valid.items()}
        values |= {"reason": reason, "updated_by": actor, "updated_at": now}
        async with self.store.transaction() as conn:
            before = await self._locked(conn, container, task)
            await conn.execute(self._upsert(container, task, values))
            await conn.execute(
                audit_log.insert(audit_entry(before, valid, reason=reason, actor=actor))
            )
        return changed(before, valid, reason=reason, updated_by=actor, updated_at=now)

    async def report(self, container: str, task: Task, state: str | None, writer: str) -> None:
        values = {"state": state, "state_by": writer, "state_at": datetime.now(UTC)}
        async with self.store.transaction() as conn:
            await conn.execute(self._upsert(container, task, values))

    async def _locked(self, conn: Any, container: str, task: Task) -> Control:
        """The row as it is, locked until the change commits (PostgreSQL; SQLite serialises
        writers anyway), so the audit's before/after are exact under concurrent changes."""
        c = t.controls
        stmt = sa.select(c).where(c.c.container == container, c.c.task == task.value)
        if self.store.dialect == "postgresql":
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).mappings().first()
        return _control(row) if row is not None else Control(container, task)

    def _upsert(self, container: str, task: Task, values: dict[str, Any]) -> Any:
        ins = insert_for(t.controls, self.store.dialect).values(
            container=container, task=task.value, **values
        )
        return ins.on_conflict_do_update(index_elements=["container", "task"], set_=values)


def _control(row: Any) -> Control:
    return Control(
        row["container"],
        Task(row["task"]),
        bool(row["paused"]),
        row["rate_limit"],
        row["max_lag_seconds"],
        row["batch_size"],
        row["concurrency"],
        row["reason"],
        row["updated_by"],
        row["updated_at"],
        row["state"],
        row["state_by"],
        row["state_at"],
    )
