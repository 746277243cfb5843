"""Cutting a container's id space into segments of about equal size, by counting.

No id scan: the range is cut at id prefixes (the common prefix of its lowest and highest id,
plus one more character), each piece is counted with a range-filtered count query, and the
largest piece is cut again until the pieces are small next to the segment size; adjacent
pieces are then joined into ``n`` segments. A few dozen count queries, whatever the size of
the container; the counts are estimates (the game keeps writing) used for progress and ETA.
Any string is a valid cut (a segment is ``after < id <= upto``), so every id, present or
written later, falls in exactly one segment.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

from mystira_data.polyglot.consistency.streams import IdRange, by_id
from mystira_data.polyglot.ports import EntityStore
from mystira_data.query import Order

__all__ = ["Piece", "split"]

Piece = tuple[IdRange, int]  # an id range and how many documents it held
CUTS = 8  # pieces per refinement
FINE = 4  # pieces per segment wanted before joining
MAX_REFINES = 24


async def split(store: EntityStore, container: str, n: int) -> list[Piece]:
    """``n`` contiguous id ranges (fewer if the container is tiny) covering every id."""
    total = await store.count(container, by_id())
    pieces: list[Piece] = [((None, None), total)]
    if n <= 1 or total < 2 * n:
        return pieces
    whole: set[IdRange] = set()  # ranges that cannot be cut further (one id)
    for _ in range(MAX_REFINES):
        open_ = [p for p in pieces if p[0] not in whole]
        if not open_:
            break
        big = max(open_, key=lambda p: p[1])
        if big[1] * FINE * n <= total:
            break
        finer = await _refine(store, container, big[0])
        if len(finer) <= 1:
            whole.add(big[0])
            continue
        at = pieces.index(big)
        pieces[at : at + 1] = finer
    return _join(pieces, n, total)


async def _refine(store: EntityStore, container: str, ids: IdRange) -> list[Piece]:
    low, high = await _edge(store, container, ids, False), await _edge(store, container, ids, True)
    if low is None or high is None or low == high:
        return []
    k = _common(low, high)
    first = ord(low[k]) if len(low) > k else 0
    last = ord(high[k])
    step = max(1, (last - first) // CUTS)
    # Each cut lies above ``low`` and at most ``high``: no piece is empty by construction.
    cuts = [high[:k] + chr(c) for c in range(first + step, last + 1, step)][: CUTS - 1]
    bounds = [ids[0], *cuts, ids[1]]
    ranges = list(itertools.pairwise(bounds))
    counts = await asyncio.gather(*(store.count(container, by_id(*r)) for r in ranges))
    return list(zip(ranges, counts, strict=True))


async def _edge(store: EntityStore, container: str, ids: IdRange, highest: bool) -> str | None:
    query = replace(by_id(*ids), order_by=(Order("id", descending=highest),), page_size=1)
    page = await store.query(container, replace(query, limit=1))
    return str(page.items[0]["id"]) if page.items else None


def _common(a: str, b: str) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


def _join(pieces: list[Piece], n: int, total: int) -> list[Piece]:
    """Adjacent pieces joined into ``n`` runs of about ``total / n`` documents."""
    out: list[Piece] = []
    start, count, done = pieces[0][0][0], 0, 0
    for (_, upto), c in pieces:
        count += c
        if len(out) < n - 1 and done + count >= total * (len(out) + 1) / n and upto is not None:
            out.append(((start, upto), count))
            done += count
            start, count = upto, 0
    out.append(((start, None), count))
    return out
