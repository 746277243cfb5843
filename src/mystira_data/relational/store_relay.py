"""The outbox relay's verbs of `RelationalStore`: pending rows, marks, failures, pruning."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from mystira_data.relational import outbox as outbox_rows
from mystira_data.relational.outbox import OutboxEntry
from mystira_data.relational.store_base import StoreBase, utc_now
from mystira_data.relational.tables import outbox


class OutboxRelay(StoreBase):
    """Reads and marks the outbox rows that entity writes record (see `relational.outbox`)."""

    async def outbox_pending(
        self, *, limit: int = 100, after_id: int = 0, container: str | None = None
    ) -> list[OutboxEntry]:
        """Unrelayed outbox rows in id order (writes to one entity are in write order).

        ``after_id`` pages within one pass only: concurrent transactions commit out of id
        order, so a relay must not keep it as a checkpoint; ``relayed_at`` is the state.
        """
        async with self.reading() as conn:
            result = await conn.execute(outbox_rows.pending_query(limit, after_id, container))
            return [outbox_rows.entry(r) for r in result]

    async def mark_relayed(self, ids: Sequence[int]) -> int:
        """Mark outbox rows relayed; returns how many were still pending."""
        if not ids:
            return 0
        stmt = (
            sa.update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.relayed_at.is_(None))
            .values(relayed_at=utc_now())
        )
        async with self.transaction() as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def record_relay_failure(self, id: int, error: str) -> None:
        """Count a failed relay attempt of one outbox row (message kept for operators)."""
        stmt = (
            sa.update(outbox)
            .where(outbox.c.id == id)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )
        async with self.transaction() as conn:
            await conn.execute(stmt)

    async def prune_outbox(self, *, relayed_before: datetime) -> int:
        """Delete relayed rows older than ``relayed_before``; returns how many."""
        stmt = sa.delete(outbox).where(outbox.c.relayed_at < relayed_before)
        async with self.transaction() as conn:
            return int((await conn.execute(stmt)).rowcount)
