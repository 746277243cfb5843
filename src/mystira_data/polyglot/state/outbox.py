"""The relational outbox seen as a change source for the relay (relational → documents)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from mystira_data.query import ChangeBatch
from mystira_data.relational import RelationalStore
from mystira_data.relational import tables as t
from mystira_data.types import JsonDoc

OUTBOX_RANGE = "outbox"


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
        items: list[JsonDoc] = [e.payload for e in entries if e.payload is not None]
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
