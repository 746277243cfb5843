"""Long admin operations (verify, repair, backfill) as jobs with an id and progress.

A job runs on the event loop of the instance that started it; its state and progress live
in ``_api_jobs``, so any instance answers ``GET /admin/v1/jobs/{id}``. A job still running
when its instance shuts down is marked ``interrupted`` (backfill resumes from its
checkpoint when started again).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from mystira_data.errors import MystiraError
from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore

log = logging.getLogger(__name__)
# Progress is saved at most this often (and always at the end): a job's writes stay cheap.
PROGRESS_EVERY_S = 0.5
# A running job touches its row this often; one untouched for LOST_AFTER_S lost its process
# (killed, host gone) and reads as "lost" (clocks of hosts may differ by a few seconds).
HEARTBEAT_S = 10.0
LOST_AFTER_S = 60.0

Progress = Callable[[dict[str, Any]], None]
Work = Callable[[Progress], Awaitable[dict[str, Any]]]


class JobState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    LOST = "lost"  # never stored: a running row whose heartbeat stopped


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    container: str | None
    state: JobState
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    started_by: str | None
    created_at: datetime
    updated_at: datetime

    def current_state(self, now: datetime) -> JobState:
        stale = (now - self.updated_at).total_seconds() > LOST_AFTER_S
        return JobState.LOST if self.state is JobState.RUNNING and stale else self.state

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "container": self.container,
            "state": self.current_state(datetime.now(UTC)).value,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "startedBy": self.started_by,
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
        }


class JobStore:
    """The ``_api_jobs`` table."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def create(self, kind: str, container: str | None, started_by: str) -> Job:
        now = datetime.now(UTC)
        job = Job(
            str(uuid.uuid4()),
            kind,
            container,
            JobState.RUNNING,
            None,
            None,
            None,
            started_by,
            now,
            now,
        )
        async with self.store.transaction() as conn:
            await conn.execute(
                sa.insert(t.api_jobs).values(
                    id=job.id,
                    kind=kind,
                    container=container,
                    state=job.state.value,
                    started_by=started_by,
                    created_at=now,
                    updated_at=now,
                )
            )
        return job

    async def update(self, job_id: str, **values: Any) -> None:
        stmt = (
            sa.update(t.api_jobs)
            .where(t.api_jobs.c.id == job_id)
            .values(updated_at=datetime.now(UTC), **values)
        )
        async with self.store.transaction() as conn:
            await conn.execute(stmt)

    async def get(self, job_id: str) -> Job | None:
        stmt = sa.select(t.api_jobs).where(t.api_jobs.c.id == job_id)
        async with self.store.reading() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _job(row) if row is not None else None

    async def recent(self, limit: int = 50) -> list[Job]:
        j = t.api_jobs
        stmt = sa.select(j).order_by(j.c.created_at.desc(), j.c.id).limit(limit)
        async with self.store.reading() as conn:
            return [_job(r) for r in (await conn.execute(stmt)).mappings()]


def _job(row: Any) -> Job:
    return Job(
        row["id"],
        row["kind"],
        row["container"],
        JobState(row["state"]),
        row["progress"],
        row["result"],
        row["error"],
        row["started_by"],
        row["created_at"],
        row["updated_at"],
    )


class JobRunner:
    """Starts jobs on this event loop and records how they go."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self, kind: str, container: str | None, started_by: str, work: Work) -> Job:
        job = await self.store.create(kind, container, started_by)
        task = asyncio.create_task(self._run(job.id, work), name=f"job-{kind}-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return job

    async def _run(self, job_id: str, work: Work) -> None:
        tracker = _Tracker(self.store, job_id)
        beat = asyncio.create_task(self._heartbeat(job_id))
        try:
            result = await work(tracker.report)
            await tracker.flush()
        except asyncio.CancelledError:
            await self._settle(job_id, state=JobState.INTERRUPTED.value, progress=tracker.last)
            raise
        except MystiraError as exc:
            await self._settle(
                job_id,
                state=JobState.FAILED.value,
                progress=tracker.last,
                error=f"{type(exc).__name__}: {exc}",
            )
        except Exception:
            log.exception("job %s failed", job_id)
            await self._settle(
                job_id,
                state=JobState.FAILED.value,
                progress=tracker.last,
                error="internal error (see the server log)",
            )
        else:
            await self._settle(
                job_id, state=JobState.SUCCEEDED.value, progress=tracker.last, result=result
            )
        finally:
            beat.cancel()

    async def _heartbeat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.store.update(job_id)
            except MystiraError as exc:
                log.warning("job %s heartbeat not saved: %s", job_id, exc)

    async def _settle(self, job_id: str, **values: Any) -> None:
        try:
            await self.store.update(job_id, **values)
        except MystiraError as exc:  # the store is down: the row keeps its last state
            log.warning("job %s ended but its state was not saved: %s", job_id, exc)

    async def close(self) -> None:
        """Interrupt the jobs still running (each records that it was)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Tracker:
    """Keeps the latest progress; saves it in the background, at most every half second."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self.last: dict[str, Any] | None = None
        self._saved_at = 0.0
        self._saving: asyncio.Task[None] | None = None

    def report(self, progress: dict[str, Any]) -> None:
        self.last = progress
        now = time.monotonic()
        if now - self._saved_at < PROGRESS_EVERY_S or (self._saving and not self._saving.done()):
            return
        self._saved_at = now
        self._saving = asyncio.create_task(self._save(dict(progress)))

    async def flush(self) -> None:
        """Wait for a save under way, so it cannot land after the final state."""
        if self._saving is not None:
            await asyncio.gather(self._saving, return_exceptions=True)

    async def _save(self, progress: dict[str, Any]) -> None:
        try:
            await self.store.update(self.job_id, progress=progress)
        except MystiraError as exc:
            log.warning("job %s progress not saved: %s", self.job_id, exc)
