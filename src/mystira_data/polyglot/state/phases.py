"""`PhaseStore` on the relational store's ``_polyglot_phase`` tables (the phase record)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mystira_data.polyglot.phase.record import PendingSwitch, PhaseRecord, Transition
from mystira_data.relational import RelationalStore, insert_for
from mystira_data.relational import tables as t
from mystira_data.settings import Phase


class RelationalPhaseStore:
    """`PhaseStore` on ``_polyglot_phase`` and ``_polyglot_phase_history``.

    Every change is one ``UPDATE … WHERE version = :seen`` (an INSERT for a container without a
    row), so of two concurrent changes exactly one wins. Pending-switch times are computed by
    the database from its own clock (``clock_timestamp()`` on PostgreSQL, ``julianday('now')``
    with milliseconds on SQLite) and read back as seconds left, so instances never compare
    their machine clocks. The flip and the abandonment both test the expiry in SQL: once the
    database says a switch expired, it can no longer flip.
    """

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def load(self) -> dict[str, PhaseRecord]:
        p = t.phase
        stmt = sa.select(
            p,
            self._seconds_until(p.c.pending_fence_at).label("fence_in_s"),
            self._seconds_until(p.c.pending_expires_at).label("expires_in_s"),
        )
        async with self.store.reading() as conn:
            return {r.container: _phase_record(r) for r in await conn.execute(stmt)}

    async def save(self, tr: Transition, version: int) -> bool:
        values = {"phase": tr.to_phase.value, "updated_at": tr.at, **NO_PENDING}
        async with self.store.transaction() as conn:
            if not await self._swap(conn, tr.container, version, values):
                return False
            await self._log(conn, tr)
        return True

    async def schedule(
        self,
        container: str,
        current: Phase,
        target: Phase,
        version: int,
        fence_in_s: float,
        expires_in_s: float,
    ) -> bool:
        values = {
            "phase": current.value,
            "updated_at": datetime.now(UTC),
            "pending_phase": target.value,
            "pending_fence_at": self._now_plus(fence_in_s),
            "pending_expires_at": self._now_plus(expires_in_s),
            "pending_abandoned": False,
        }
        async with self.store.transaction() as conn:
            return await self._swap(conn, container, version, values)

    async def flip(self, tr: Transition, version: int) -> bool:
        p = t.phase
        live = (
            p.c.pending_phase == tr.to_phase.value,
            sa.not_(p.c.pending_abandoned),
            self._seconds_until(p.c.pending_expires_at) > 0,
        )
        values = {"phase": tr.to_phase.value, "updated_at": tr.at, **NO_PENDING}
        async with self.store.transaction() as conn:
            if not await self._swap(conn, tr.container, version, values, *live):
                return False
            await self._log(conn, tr)
        return True

    async def abandon(self, container: str, version: int, *, expired_only: bool) -> bool:
        p = t.phase
        conditions = [p.c.pending_phase.is_not(None), sa.not_(p.c.pending_abandoned)]
        if expired_only:
            conditions.append(self._seconds_until(p.c.pending_expires_at) <= 0)
        values = {"pending_abandoned": True, "updated_at": datetime.now(UTC)}
        async with self.store.transaction() as conn:
            return await self._swap(conn, container, version, values, *conditions)

    async def history(self, container: str | None = None) -> list[Transition]:
        h = t.phase_history
        stmt = sa.select(h).order_by(h.c.id)
        if container is not None:
            stmt = stmt.where(h.c.container == container)
        async with self.store.reading() as conn:
            return [
                Transition(
                    r.container,
                    Phase(r.from_phase),
                    Phase(r.to_phase),
                    r.at,
                    r.reason or "",
                    bool(r.forced),
                )
                for r in await conn.execute(stmt)
            ]

    async def _swap(
        self,
        conn: AsyncConnection,
        container: str,
        version: int,
        values: dict[str, Any],
        *conditions: sa.ColumnElement[bool],
    ) -> bool:
        """Compare-and-set on ``version`` (0: insert the first row, unless one appeared).

        A conditional change (flip, abandon) needs an existing row: rows start at version 1.
        """
        p = t.phase
        if version == 0 and not conditions:
            insert = insert_for(p, self.store.dialect).values(
                container=container, version=1, **values
            )
            done = await conn.execute(insert.on_conflict_do_nothing(index_elements=["container"]))
        else:
            done = await conn.execute(
                sa.update(p)
                .where(p.c.container == container, p.c.version == version, *conditions)
                .values(version=version + 1, **values)
            )
        return bool(done.rowcount == 1)

    @staticmethod
    async def _log(conn: AsyncConnection, tr: Transition) -> None:
        await conn.execute(
            sa.insert(t.phase_history).values(
                container=tr.container,
                from_phase=tr.from_phase.value,
                to_phase=tr.to_phase.value,
                at=tr.at,
                reason=tr.reason,
                forced=tr.forced,
            )
        )

    def _now_plus(self, seconds: float) -> sa.ColumnElement[Any]:
        """The database's "now + seconds", as the column stores it."""
        if self.store.dialect == "postgresql":
            return sa.func.clock_timestamp() + sa.literal(timedelta(seconds=seconds), sa.Interval())
        # Fixed-width UTC text like `Timestamp` writes (milliseconds, zero-padded to micros).
        shifted = sa.func.strftime("%Y-%m-%dT%H:%M:%f", "now", f"{seconds:+.3f} seconds")
        return shifted.concat("000Z")

    def _seconds_until(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """Seconds from the database's now to ``column`` (negative once past; NULL for NULL)."""
        if self.store.dialect == "postgresql":
            return sa.extract("epoch", column - sa.func.clock_timestamp())
        return (sa.func.julianday(column) - sa.func.julianday("now")) * 86400.0


NO_PENDING: dict[str, Any] = {
    "pending_phase": None,
    "pending_fence_at": None,
    "pending_expires_at": None,
    "pending_abandoned": False,
}


def _phase_record(row: sa.Row[Any]) -> PhaseRecord:
    pending = None
    if row.pending_phase is not None:
        pending = PendingSwitch(
            Phase(row.pending_phase),
            row.pending_fence_at,
            row.pending_expires_at,
            float(row.fence_in_s),
            float(row.expires_in_s),
            bool(row.pending_abandoned),
        )
    return PhaseRecord(Phase(row.phase), int(row.version), pending)
