"""Foreign writes: recent documents of a container that did not come through this platform.

The document store's latest-version change feed restricted to a window is exactly "every
document whose last write (``_ts``) falls in the window", which a query on ``_ts`` reads
without replaying the feed from the start (``_ts`` is indexed by Cosmos DB by default). A
document there whose writer mark is not ours (`marker`) was written by someone else; an
adopted one too, since adopting is how replication took in a foreign write. Hard deletes
leave no document, so they are not seen here (`consistency.reconcile` finds them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mystira_data.polyglot.replication.marker import Writer, writer_of
from mystira_data.query import Filter, Op, Pageable, Query, every

_PAGE = 500


@dataclass(frozen=True)
class ForeignWrites:
    count: int
    newest: datetime | None


async def foreign_writes(documents: Pageable, container: str, since: datetime) -> ForeignWrites:
    """Documents of ``container`` last written at or after ``since`` by another writer."""
    q = Query(
        filters=(Filter("_ts", Op.GE, int(since.timestamp())),),
        cross_partition=True,
        include_deleted=True,
        page_size=_PAGE,
    )
    count, newest = 0, 0
    async for doc in every(documents, container, q):
        if writer_of(doc) is not Writer.OURS:
            count += 1
            ts = doc.get("_ts")
            newest = max(newest, ts if isinstance(ts, int) else 0)
    return ForeignWrites(count, datetime.fromtimestamp(newest, UTC) if count else None)
