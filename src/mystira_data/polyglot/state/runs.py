"""`RunStore` on ``_polyglot_runs`` and ``_polyglot_run_segments`` (V0010)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mystira_data.polyglot.runs.record import Run, RunKind, RunStatus, Segment, SegmentCounts
from mystira_data.relational import RelationalStore
from mystira_data.relational import tables as t

__all__ = ["RelationalRunStore"]

RESERVE_TRIES = 50  # compare-and-set rounds on the budget clock before giving up


class RelationalRunStore:
    """`RunStore` in the relational store: every worker of a run, on any host, shares it."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def create(self, run: Run, segments: list[Segment]) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(sa.insert(t.runs).values(**_run_values(run)))
            if segments:
                await conn.execute(
                    sa.insert(t.run_segments), [_segment_values(s) for s in segments]
                )

    async def run(self, run_id: str) -> Run | None:
        async with self.store.reading() as conn:
            row = (await conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id))).first()
        return None if row is None else _run(row)

    async def segments(self, run_id: str) -> list[Segment]:
        rs = t.run_segments
        stmt = sa.select(rs).where(rs.c.run_id == run_id).order_by(rs.c.seq)
        async with self.store.reading() as conn:
            return [_segment(r) for r in await conn.execute(stmt)]

    async def claim(self, segment: Segment, owner: str, until: datetime) -> Segment | None:
        values = {"owner": owner, "lease_expires_at": until, "lease_token": segment.token + 1}
        return await self._update(segment, values)

    async def checkpoint(
        self,
        segment: Segment,
        checkpoint: str | None,
        counts: SegmentCounts,
        *,
        diffs: list[dict[str, Any]] | None = None,
        done: bool = False,
        until: datetime | None = None,
    ) -> Segment | None:
        values: dict[str, Any] = {
            "checkpoint": checkpoint,
            "docs_read": counts.read,
            "docs_written": counts.written,
            "compared": counts.compared,
            "differences": counts.differences,
            "quarantined": counts.quarantined,
            "done": done,
        }
        if diffs is not None:
            values["diffs"] = diffs
        if until is not None:
            values["lease_expires_at"] = until
        return await self._update(segment, values)

    async def release(self, segment: Segment) -> None:
        values = {"owner": None, "lease_expires_at": None, "lease_token": segment.token + 1}
        await self._update(segment, values)

    async def note(self, run_id: str, state: str, until: datetime, *, throttled: int = 0) -> None:
        r = t.runs
        stmt = (
            sa.update(r)
            .where(r.c.id == run_id)
            .values(state=state, state_until=until, throttled=r.c.throttled + throttled)
        )
        async with self.store.transaction() as conn:
            await conn.execute(stmt)

    async def reserve(self, run_id: str, cost_us: int, not_before_us: int) -> int:
        r = t.runs
        clock = sa.select(r.c.budget_next_us).where(r.c.id == run_id)
        if cost_us == 0:  # nothing to book, only wait out what others booked: a plain read
            async with self.store.reading() as conn:
                return max(int((await conn.execute(clock)).scalar_one()), not_before_us)
        # Compare-and-set, portable to SQLite: read the clock, move it if nobody else did.
        for _ in range(RESERVE_TRIES):
            async with self.store.transaction() as conn:
                seen = int((await conn.execute(clock)).scalar_one())
                start = max(seen, not_before_us)
                moved = await conn.execute(
                    sa.update(r)
                    .where(r.c.id == run_id, r.c.budget_next_us == seen)
                    .values(budget_next_us=start + cost_us)
                )
                if moved.rowcount == 1:
                    return start
        return not_before_us  # heavy contention: go on rather than stall the run

    async def finish(self, run_id: str, report: dict[str, Any], at: datetime) -> bool:
        r = t.runs
        stmt = (
            sa.update(r)
            .where(r.c.id == run_id, r.c.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.DONE.value, report=report, finished_at=at)
        )
        async with self.store.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount == 1)

    async def _update(self, segment: Segment, values: dict[str, Any]) -> Segment | None:
        rs = t.run_segments
        stmt = (
            sa.update(rs)
            .where(
                rs.c.run_id == segment.run_id,
                rs.c.seq == segment.seq,
                rs.c.lease_token == segment.token,
            )
            .values(**values, updated_at=datetime.now(UTC))
            .returning(*rs.c)
        )
        async with self.store.transaction() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _segment(row)


def _run_values(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind.value,
        "container": run.container,
        "direction": run.direction,
        "status": run.status.value,
        "lease_ttl_s": run.lease_ttl_s,
        "position": run.position,
        "created_at": run.created_at or datetime.now(UTC),
    }


def _segment_values(s: Segment) -> dict[str, Any]:
    return {
        "run_id": s.run_id,
        "seq": s.seq,
        "after_id": s.after,
        "upto_id": s.upto,
        "total": s.total,
    }


def _run(r: Any) -> Run:
    return Run(
        r.id,
        RunKind(r.kind),
        r.container,
        r.direction,
        RunStatus(r.status),
        r.created_at,
        float(r.lease_ttl_s),
        r.position,
        r.state,
        r.state_until,
        int(r.throttled),
        r.finished_at,
        r.report,
    )


def _segment(r: Any) -> Segment:
    counts = SegmentCounts(
        int(r.docs_read),
        int(r.docs_written),
        int(r.compared),
        int(r.differences),
        int(r.quarantined),
    )
    return Segment(
        r.run_id,
        int(r.seq),
        r.after_id,
        r.upto_id,
        int(r.total),
        r.owner,
        r.lease_expires_at,
        int(r.lease_token),
        r.checkpoint,
        counts,
        list(r.diffs or []),
        bool(r.done),
    )
