"""`LeaseStore` on ``_polyglot_leases``: replication leases with a fencing token."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa

from mystira_data.polyglot.replication.leases import Lease
from mystira_data.relational import RelationalStore
from mystira_data.relational import tables as t


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
            .returning(le.c.checkpoint)  # as stored: the caller's copy may predate a save
        )
        async with self.store.transaction() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return replace(
            lease, owner=owner, expires_at=until, checkpoint=row.checkpoint, token=lease.token + 1
        )

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
