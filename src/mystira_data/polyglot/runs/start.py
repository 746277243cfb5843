"""Starting a run: split the container's ids into segments and record the run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.record import LEASE_TTL_S, Run, RunKind, Segment
from mystira_data.polyglot.runs.split import split
from mystira_data.polyglot.runs.store import RunStore
from mystira_data.polyglot.state.verify_log import log_position

__all__ = ["start_run"]


async def start_run(
    poly: Polyglot,
    store: RunStore,
    kind: RunKind,
    container: str,
    *,
    segments: int,
    target: Side = Side.RELATIONAL,
    lease_ttl_s: float = LEASE_TTL_S,
) -> Run:
    """A new run of ``kind`` over ``container`` in ``segments`` id ranges (by the source's
    counts: the store read from for a backfill, the primary for a verify)."""
    position = None
    if kind is RunKind.BACKFILL:
        source = poly.relational if target is Side.DOCUMENT else poly.documents
        direction = target.value
    else:
        position = await log_position(poly.raw_relational, container)  # before any read
        source, other = await poly.pair(container)
        direction = f"{source.name}→{other.name}"
    pieces = await split(source, container, segments)
    run = Run(
        f"run-{uuid.uuid4().hex[:12]}",
        kind,
        container,
        direction,
        created_at=datetime.now(UTC),
        lease_ttl_s=lease_ttl_s,
        position=position,
    )
    await store.create(
        run, [Segment(run.id, i, ids[0], ids[1], total=n) for i, (ids, n) in enumerate(pieces)]
    )
    return run
