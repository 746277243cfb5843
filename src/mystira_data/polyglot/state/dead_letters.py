"""Dead letters and the sync log of failed secondary writes, in ``_polyglot_*`` tables."""

from __future__ import annotations

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
