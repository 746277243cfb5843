"""The end of a run: its segments' counts (and a verify's differences) in one report.

A verify's differences are re-read from both stores after settling, as a one-process verify
does, then recorded in ``_polyglot_verify_runs`` with the log position taken when the run
started, so the verify gate judges it like any other verify. Every worker that sees all
segments done may compute the report; only the one whose compare-and-set on the run's
status wins records it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from mystira_data import catalog, metrics
from mystira_data.polyglot.consistency.verify import Difference, VerifyReport, recheck
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.runs.record import Run, RunKind, Segment
from mystira_data.polyglot.runs.store import RunStore
from mystira_data.polyglot.state.verify_log import record_verify

__all__ = ["finish_run", "totals"]


def totals(segments: list[Segment]) -> dict[str, int]:
    out = {"read": 0, "written": 0, "compared": 0, "differences": 0, "quarantined": 0}
    for s in segments:
        for key in out:
            out[key] += getattr(s.counts, key)
    return out


async def finish_run(
    poly: Polyglot, store: RunStore, run: Run, segments: list[Segment], *, settle_s: float = 1.0
) -> bool:
    """Mark ``run`` done with its report; True if this worker was the one to do it."""
    now = datetime.now(UTC)
    if run.kind is RunKind.BACKFILL:
        report = {"container": run.container, "target": run.direction, **totals(segments)}
        won = await store.finish(run.id, {**report, "done": True}, now)
        if won:
            metrics.backfill_page(run.container, run.direction, 0, done=True)
        return won
    verified = await _verify_report(poly, run, segments, settle_s)
    if not await store.finish(run.id, verified.as_json(), datetime.now(UTC)):
        return False
    await record_verify(poly.raw_relational, verified, run.position)
    metrics.verified(run.container, verified.scanned, len(verified.differences))
    return True


async def _verify_report(
    poly: Polyglot, run: Run, segments: list[Segment], settle_s: float
) -> VerifyReport:
    primary, secondary = await poly.pair(run.container)
    report = VerifyReport(run.container, primary.name, secondary.name)
    if run.created_at is not None:
        report.started_at = run.created_at
    report.scanned = totals(segments)["compared"]
    report.differences = [_difference(d) for s in segments for d in s.diffs]
    if report.differences:
        await asyncio.sleep(settle_s)
        pk = catalog.get(run.container).pk_field
        report.differences = await recheck(run.container, primary, secondary, pk, report)
    report.finished_at = datetime.now(UTC)
    return report


def _difference(d: dict[str, Any]) -> Difference:
    return Difference(**d)
