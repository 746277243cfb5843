"""Failed replication attempts, counted per change where every process sees the same count.

A change the target refuses for a non-transient reason is retried; the bound after which it
goes to dead letters must hold whichever process or poll made the attempts (the CLI builds
a new processor every poll, so a count in memory never reached it). `RelationalAttempts`
keeps one row per refused change in ``_polyglot_apply_attempts``, keyed by (container,
direction, id, version); time since the first failure comes from the database's clock, so
hosts with skewed clocks agree on how long a child has waited for its parent.
`MemoryAttempts` is its twin for unit tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from mystira_data.relational import RelationalStore, insert_for, storable_text
from mystira_data.relational import tables as t

Key = tuple[str, int]  # (entity id, version)


@dataclass(frozen=True)
class Attempt:
    """How often a change has failed so far and for how long (seconds since the first)."""

    count: int
    failing_for_s: float


class Attempts(Protocol):
    async def failed(self, container: str, key: Key, error: str) -> Attempt:
        """Count one more failure of ``key``; the totals including this one."""
        ...

    async def forget(self, container: str, keys: Iterable[Key]) -> None:
        """Drop the counts of ``keys`` (applied or given up on)."""
        ...


@dataclass
class MemoryAttempts:
    clock: Callable[[], float] = time.monotonic
    rows: dict[tuple[str, str, int], tuple[int, float]] = field(default_factory=dict)

    async def failed(self, container: str, key: Key, error: str) -> Attempt:
        count, first = self.rows.get((container, *key), (0, self.clock()))
        self.rows[(container, *key)] = (count + 1, first)
        return Attempt(count + 1, self.clock() - first)

    async def forget(self, container: str, keys: Iterable[Key]) -> None:
        for key in keys:
            self.rows.pop((container, *key), None)


class RelationalAttempts:
    """`Attempts` on ``_polyglot_apply_attempts`` for one direction (the side being fed)."""

    def __init__(self, store: RelationalStore, direction: str) -> None:
        self.store = store
        self.direction = direction

    async def failed(self, container: str, key: Key, error: str) -> Attempt:
        a = t.apply_attempts
        ins = insert_for(a, self.store.dialect).values(
            container=container,
            direction=self.direction,
            entity_id=storable_text(key[0]),
            _version=key[1],
            attempts=1,
            first_failed_at=self._now(),
            last_error=storable_text(error)[:4000],
        )
        # One statement: concurrent workers meeting the same change add up, never reset.
        stmt = ins.on_conflict_do_update(
            index_elements=["container", "direction", "entity_id", "_version"],
            set_={"attempts": a.c.attempts + 1, "last_error": ins.excluded.last_error},
        ).returning(a.c.attempts, self._seconds_since(a.c.first_failed_at))
        async with self.store.transaction(container, key[0]) as conn:
            count, age = (await conn.execute(stmt)).one()
        return Attempt(int(count), float(age))

    async def forget(self, container: str, keys: Iterable[Key]) -> None:
        a = t.apply_attempts
        pairs = [
            sa.and_(a.c.entity_id == storable_text(i), a.c._version == v) for i, v in set(keys)
        ]
        if not pairs:
            return
        stmt = sa.delete(a).where(
            a.c.container == container, a.c.direction == self.direction, sa.or_(*pairs)
        )
        async with self.store.transaction(container) as conn:
            await conn.execute(stmt)

    def _now(self) -> sa.ColumnElement[Any]:
        """The database's now, as the column stores it (fixed-width UTC text on SQLite)."""
        if self.store.dialect == "postgresql":
            return sa.func.clock_timestamp()
        return sa.func.strftime("%Y-%m-%dT%H:%M:%f", "now").concat("000Z")

    def _seconds_since(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        if self.store.dialect == "postgresql":
            return sa.extract("epoch", sa.func.clock_timestamp() - column)
        return (sa.func.julianday("now") - sa.func.julianday(column)) * 86400.0
