"""The polyglot layer's durable state in the relational store's ``_polyglot_*`` tables.

Phase record + history, replication leases (with a fencing token), dead letters, the sync log,
and the outbox seen as a change source for the relay.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mystira_data.documents.port import Document
from mystira_data.polyglot.leases import Lease
from mystira_data.polyglot.phase_record import PendingSwitch, PhaseRecord, Transition
from mystira_data.polyglot.replication import DeadLetter
from mystira_data.polyglot.secondary import SyncFailure
from mystira_data.polyglot.verify import VerifyReport
from mystira_data.query import ChangeBatch
from mystira_data.relational import bulk
from mystira_data.relational import tables as t
from mystira_data.relational.limits import storable_payload, storable_text
from mystira_data.relational.store import RelationalStore
from mystira_data.settings import Phase

OUTBOX_RANGE = "outbox"


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
            insert = bulk.insert_for(p, self.store.dialect).values(
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


class RelationalLeaseStore:
    """`LeaseStore` on ``_polyglot_leases``; ``lease_token`` fences a lost owner's checkpoint."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def leases(self, container: str) -> list[Lease]:
        le = t.leases
        stmt = sa.select(le).where(le.c.container == container).order_by(le.c.feed_range)
        async with self.store.reading() as conn:
            return [
                Lease(
                    r.container,
                    r.feed_range,
                    r.owner,
                    r.lease_expires_at,
                    r.checkpoint,
                    int(r.lease_token),
                )
                for r in await conn.execute(stmt)
            ]

    async def ensure(self, container: str, ranges: list[str]) -> None:
        existing = {lease.feed_range for lease in await self.leases(container)}
        missing = [r for r in ranges if r not in existing]
        if not missing:
            return
        async with self.store.transaction() as conn:
            for r in missing:
                exists = await conn.execute(
                    sa.select(t.leases.c.container).where(
                        t.leases.c.container == container, t.leases.c.feed_range == r
                    )
                )
                if exists.first() is None:
                    await conn.execute(
                        sa.insert(t.leases).values(container=container, feed_range=r)
                    )

    async def claim(self, lease: Lease, owner: str, until: datetime) -> Lease | None:
        le = t.leases
        stmt = (
            sa.update(le)
            .where(*self._key(lease), le.c.lease_token == lease.token)
            .values(
                owner=owner,
                lease_expires_at=until,
                lease_token=lease.token + 1,
                updated_at=datetime.now(UTC),
            )
        )
        async with self.store.transaction() as conn:
            if (await conn.execute(stmt)).rowcount != 1:
                return None
        return replace(lease, owner=owner, expires_at=until, token=lease.token + 1)

    async def save_checkpoint(self, lease: Lease, checkpoint: str | None) -> bool:
        stmt = (
            sa.update(t.leases)
            .where(*self._key(lease), t.leases.c.lease_token == lease.token)
            .values(checkpoint=checkpoint, updated_at=datetime.now(UTC))
        )
        async with self.store.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount == 1)

    async def release(self, lease: Lease) -> None:
        stmt = (
            sa.update(t.leases)
            .where(*self._key(lease), t.leases.c.lease_token == lease.token)
            .values(owner=None, lease_expires_at=None, lease_token=lease.token + 1)
        )
        async with self.store.transaction() as conn:
            await conn.execute(stmt)

    @staticmethod
    def _key(lease: Lease) -> tuple[sa.ColumnElement[bool], ...]:
        return (t.leases.c.container == lease.container, t.leases.c.feed_range == lease.feed_range)


class RelationalDeadLetters:
    """`DeadLetters` on ``_polyglot_dead_letters``."""

    def __init__(self, store: RelationalStore, source: str) -> None:
        self.store = store
        self.source = source

    async def add(self, letter: DeadLetter) -> None:
        d = t.dead_letters
        same = sa.select(d.c.id).where(
            d.c.container == letter.container,
            d.c.entity_id == storable_text(letter.entity_id),
            d.c._version == letter.version,
            d.c.source == self.source,
            d.c.resolved_at.is_(None),
        )
        async with self.store.transaction() as conn:
            if (await conn.execute(same)).first() is not None:
                return  # already recorded (a resumed or repeated run met it again)
            await conn.execute(
                sa.insert(t.dead_letters).values(
                    container=letter.container,
                    entity_id=storable_text(letter.entity_id),
                    _version=letter.version,
                    source=self.source,
                    payload=storable_payload(letter.document),
                    error=storable_text(letter.error)[:4000],
                    attempts=letter.attempts,
                    created_at=letter.at,
                )
            )

    async def open_letters(self, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
        """Per container, its newest open dead letters: id, version, source and reason."""
        d = t.dead_letters
        stmt = (
            sa.select(d.c.container, d.c.entity_id, d.c._version, d.c.source, d.c.error)
            .where(d.c.resolved_at.is_(None))
            .order_by(d.c.id.desc())
        )
        found: dict[str, list[dict[str, Any]]] = {}
        async with self.store.reading() as conn:
            for row in await conn.execute(stmt):
                letters = found.setdefault(row.container, [])
                if len(letters) < limit:
                    letters.append(
                        {"id": row.entity_id, "version": row._version, "source": row.source,
                         "reason": row.error}
                    )
        return found

    async def open_count(self) -> dict[str, int]:
        d = t.dead_letters
        stmt = (
            sa.select(d.c.container, sa.func.count())
            .where(d.c.resolved_at.is_(None))
            .group_by(d.c.container)
        )
        async with self.store.reading() as conn:
            return {c: int(n) for c, n in await conn.execute(stmt)}


async def persist_sync_failures(store: RelationalStore, failures: list[SyncFailure]) -> None:
    """Write secondary-write failures to V001's ``_polyglot_sync_log`` (status 'failed')."""
    if not failures:
        return
    rows = [
        {
            "entity_type": f.container,
            "entity_id": f.entity_id[:36],
            "operation": "UPSERT",
            "source_backend": "postgres" if f.target == "document" else "cosmos",
            "sync_status": "failed",
            "error_message": f.error[:4000],
            "created_at": f.at,
        }
        for f in failures
    ]
    async with store.transaction() as conn:
        await conn.execute(sa.insert(t.sync_log), rows)


class OutboxSource:
    """The relational outbox as a change source with one range.

    Outbox ids come from a sequence, and PostgreSQL may commit a lower id after a higher one,
    so "id > checkpoint" could skip a row. Instead every call reads the oldest *unrelayed*
    rows; the checkpoint names exactly the ids of the batch last handed out, which the
    processor saves only after applying them, so the next call marks those relayed first.
    """

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def feed_ranges(self, container: str) -> list[str]:
        return [OUTBOX_RANGE]

    async def changes(
        self, container: str, feed_range: str, checkpoint: str | None, *, max_items: int = 100
    ) -> ChangeBatch:
        if checkpoint:
            await self.store.mark_relayed([int(i) for i in checkpoint.split(",")])
        entries = await self.store.outbox_pending(limit=max_items, container=container)
        items: list[Document] = [e.payload for e in entries if e.payload is not None]
        token = ",".join(str(e.id) for e in entries) or None
        return ChangeBatch(items=items, checkpoint=token)

    async def pending(self, container: str) -> tuple[int, datetime | None]:
        """Unrelayed rows and the age anchor of the oldest, for the lag report."""
        o = t.outbox
        stmt = sa.select(sa.func.count(), sa.func.min(o.c.created_at)).where(
            o.c.relayed_at.is_(None), o.c.container == container
        )
        async with self.store.reading() as conn:
            count, oldest = (await conn.execute(stmt)).one()
        return int(count), oldest


async def record_verify(store: RelationalStore, report: VerifyReport) -> None:
    """Keep a verify result; the newest per container feeds the phase guard."""
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
                report=report.as_json()
                if len(report.differences) <= 1000
                else {**report.as_json(), "differences": "truncated"},
                **counts,
            )
        )


async def last_verify(store: RelationalStore, container: str) -> dict[str, Any] | None:
    v = t.verify_runs
    stmt = (
        sa.select(v.c.clean, v.c.finished_at, v.c.missing, v.c.extra, v.c.different, v.c.scanned)
        .where(v.c.container == container, v.c.finished_at.is_not(None))
        .order_by(v.c.id.desc())
        .limit(1)
    )
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
