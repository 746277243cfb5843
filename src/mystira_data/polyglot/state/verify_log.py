"""Verify runs and named checkpoints (backfill) in ``_polyglot_*`` tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mystira_data.polyglot.consistency.verify import VerifyReport
from mystira_data.relational import RelationalStore
from mystira_data.relational import tables as t


async def record_verify(
    store: RelationalStore, report: VerifyReport, position: dict[str, Any] | None = None
) -> None:
    """Keep a verify result and the log position it started at (`log_position`); the newest
    per container feeds the verify gate."""
    counts = report.counts()
    async with store.transaction() as conn:
        await conn.execute(
            sa.insert(t.verify_runs).values(
                container=report.container,
                started_at=report.started_at,
                finished_at=report.finished_at,
                primary_store=report.primary,
                secondary_store=report.secondary,
                scanned=report.scanned,
                clean=report.clean,
                position=position,
                report=report.as_json()
                if len(report.differences) <= 1000
                else {**report.as_json(), "differences": "truncated"},
                **counts,
            )
        )


async def last_verify(store: RelationalStore, container: str) -> dict[str, Any] | None:
    v = t.verify_runs
    cols = (v.c.id, v.c.clean, v.c.finished_at, v.c.missing, v.c.extra, v.c.different)
    stmt = (
        sa.select(*cols, v.c.scanned, v.c.position)
        .where(v.c.container == container, v.c.finished_at.is_not(None))
        .order_by(v.c.id.desc())
        .limit(1)
    )
    async with store.reading() as conn:
        row = (await conn.execute(stmt)).first()
    return dict(row._mapping) if row is not None else None


async def verify_runs(
    store: RelationalStore, container: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest verify runs (without their difference lists), for the admin API."""
    v = t.verify_runs
    stmt = sa.select(*(c for c in v.c if c.name != "report")).order_by(v.c.id.desc()).limit(limit)
    if container is not None:
        stmt = stmt.where(v.c.container == container)
    async with store.reading() as conn:
        return [dict(r._mapping) for r in await conn.execute(stmt)]


async def verify_run(store: RelationalStore, run_id: int) -> dict[str, Any] | None:
    """One verify run with its report (differences with field paths)."""
    stmt = sa.select(t.verify_runs).where(t.verify_runs.c.id == run_id)
    async with store.reading() as conn:
        row = (await conn.execute(stmt)).first()
    return dict(row._mapping) if row is not None else None


async def read_checkpoint(store: RelationalStore, container: str, name: str) -> str | None:
    """A named checkpoint (backfill progress) kept beside the replication leases."""
    le = t.leases
    stmt = sa.select(le.c.checkpoint).where(le.c.container == container, le.c.feed_range == name)
    async with store.reading() as conn:
        row = (await conn.execute(stmt)).first()
    return None if row is None else row[0]


async def write_checkpoint(
    store: RelationalStore, container: str, name: str, checkpoint: str | None
) -> None:
    le = t.leases
    now = datetime.now(UTC)
    async with store.transaction() as conn:
        done = await conn.execute(
            sa.update(le)
            .where(le.c.container == container, le.c.feed_range == name)
            .values(checkpoint=checkpoint, updated_at=now)
        )
        if done.rowcount == 0:
            await conn.execute(
                sa.insert(le).values(
                    container=container, feed_range=name, checkpoint=checkpoint, updated_at=now
                )
            )


async def last_move(store: RelationalStore, container: str) -> tuple[int, datetime] | None:
    """The id and time of the newest phase move of ``container`` (its current phase began)."""
    h = t.phase_history
    stmt = (
        sa.select(h.c.id, h.c.at).where(h.c.container == container).order_by(h.c.id.desc()).limit(1)
    )
    async with store.reading() as conn:
        row = (await conn.execute(stmt)).first()
    return None if row is None else (int(row[0]), row[1])


async def log_position(store: RelationalStore, container: str) -> dict[str, Any]:
    """Where ``container`` stands in the logs now: the phase move its phase began with
    (``phaseMove``, the id the verify gate compares), the outbox's newest id and the change
    feed's replication checkpoints (recorded beside it, for operators)."""
    move = await last_move(store, container)
    o, le = t.outbox, t.leases
    async with store.reading() as conn:
        outbox_id = (await conn.execute(sa.select(sa.func.max(o.c.id)))).scalar()
        feed = await conn.execute(
            sa.select(le.c.feed_range, le.c.checkpoint).where(le.c.container == container)
        )
        checkpoints = {r[0]: r[1] for r in feed}
    return {
        "phaseMove": move[0] if move else 0,
        "outboxId": int(outbox_id or 0),
        "feed": checkpoints,
    }
