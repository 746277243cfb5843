"""Dead letters and the sync log of failed secondary writes, in ``_polyglot_*`` tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mystira_data.polyglot.replication.dead_letters import REASON_LIMIT, DeadLetter, summary
from mystira_data.polyglot.write.secondary import SyncFailure
from mystira_data.relational import RelationalStore, storable_payload, storable_text
from mystira_data.relational import tables as t


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
                    error=storable_text(letter.error)[:REASON_LIMIT],
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
                    letters.append(summary(row.entity_id, row._version, row.source, row.error))
        return found

    async def listing(self, container: str | None = None, limit: int = 100) -> list[OpenLetter]:
        """Open dead letters, newest first, with the row id that `find`/`resolve` take."""
        d = t.dead_letters
        stmt = sa.select(d).where(d.c.resolved_at.is_(None)).order_by(d.c.id.desc()).limit(limit)
        if container is not None:
            stmt = stmt.where(d.c.container == container)
        async with self.store.reading() as conn:
            return [_open_letter(r) for r in (await conn.execute(stmt)).mappings()]

    async def find(self, letter_id: int) -> OpenLetter | None:
        """One open dead letter by row id."""
        d = t.dead_letters
        stmt = sa.select(d).where(d.c.id == letter_id, d.c.resolved_at.is_(None))
        async with self.store.reading() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _open_letter(row) if row is not None else None

    async def resolve(self, letter_id: int) -> bool:
        """Close an open dead letter (retried or discarded); False if none is open."""
        d = t.dead_letters
        stmt = (
            sa.update(d)
            .where(d.c.id == letter_id, d.c.resolved_at.is_(None))
            .values(resolved_at=datetime.now(UTC))
        )
        async with self.store.transaction() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def open_count(self) -> dict[str, int]:
        d = t.dead_letters
        stmt = (
            sa.select(d.c.container, sa.func.count())
            .where(d.c.resolved_at.is_(None))
            .group_by(d.c.container)
        )
        async with self.store.reading() as conn:
            return {c: int(n) for c, n in await conn.execute(stmt)}


@dataclass(frozen=True)
class OpenLetter:
    """An open dead letter as stored (``document``: the change given up on)."""

    id: int
    container: str
    entity_id: str
    version: int | None
    source: str
    error: str
    attempts: int
    created_at: datetime
    document: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "container": self.container,
            "entityId": self.entity_id,
            "version": self.version,
            "source": self.source,
            "reason": self.error,
            "attempts": self.attempts,
            "createdAt": self.created_at.isoformat(),
        }


def _open_letter(row: Any) -> OpenLetter:
    return OpenLetter(
        int(row["id"]),
        row["container"],
        row["entity_id"],
        row["_version"],
        row["source"],
        row["error"],
        int(row["attempts"]),
        row["created_at"],
        row["payload"],
    )


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
