"""Garbage-collector pacing for bulk work (backfill, verify).

Bulk passes allocate millions of small, acyclic containers (parsed documents, models, COPY
records). With CPython's default thresholds a young-generation collection runs every 700
allocations and keeps re-walking the pages still in flight, which measured at about half the
cost of parsing a page. Raising the first threshold while a bulk pass runs removes most of
those walks; reference counting still frees everything at once, only cycles wait longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 100_000

_saved: tuple[int, int, int] | None = None
_depth = 0


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect young objects less often inside; the previous thresholds come back after.

    Re-entrant and safe for overlapping passes on one event loop: the last one out restores.
    """
    global _saved, _depth
    if _depth == 0:
        _saved = gc.get_threshold()
        first, *rest = _saved
        gc.set_threshold(max(first, BULK_THRESHOLD), *rest)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
