"""What the console page shows, gathered in one pass: the same sources as the admin API.

Store health (`health.check`), per container its phase record, lag, the evidence gates of
its next forward move (`phase.gates`), last verify, open dead letters and traffic numbers
(`numbers`), the audit log and recent jobs. A store that is down blanks only the parts that
need it (each says "unavailable"); the health strip says which store and since when.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mystira_data import catalog, health
from mystira_data.api.console.numbers import Traffic, traffic
from mystira_data.api.state import ApiState
from mystira_data.catalog import ContainerSpec
from mystira_data.errors import MystiraError
from mystira_data.placement.report import collect
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase import rules
from mystira_data.polyglot.phase.rules import ORDER, ROUTES, Side
from mystira_data.polyglot.state.audit_log import entries
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.polyglot.state.verify_log import last_verify
from mystira_data.settings import Phase
from mystira_data.status import lag_json

__all__ = ["ContainerRow", "JobRow", "Page", "gather", "job_row", "placement"]

T = TypeVar("T")
AUDIT_ROWS = 50
JOB_ROWS = 10
UNAVAILABLE = "unavailable"


@dataclass
class ContainerRow:
    container: str
    area: str
    relational: bool
    phase: str
    pending: dict[str, Any] | None = None
    forward: str | None = None  # the phase one step on, if the container may go there
    back: str | None = None
    lag: dict[str, Any] | None = None
    gates: list[dict[str, Any]] = field(default_factory=list)  # for the move to ``forward``
    gates_error: str = ""
    verify: dict[str, Any] | None = None
    dead_letters: int | str = 0
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    consistency: float | None = None
    comparisons: int = 0
    backfill_to: str = Side.RELATIONAL.value


@dataclass
class JobRow:
    job: dict[str, Any]
    done: float | None = None
    total: float | None = None
    percent: float | None = None
    rate: float | None = None
    eta_seconds: float | None = None


@dataclass
class Page:
    health: dict[str, Any]
    containers: list[ContainerRow]
    audit: list[dict[str, Any]] | str
    jobs: list[JobRow] | str


async def _or(work: Awaitable[T], fallback: T) -> T:
    try:
        return await work
    except MystiraError:
        return fallback


async def gather(state: ApiState) -> Page:
    poly = state.poly
    found = await health.check(poly)
    dead = await _or(RelationalDeadLetters(poly.raw_relational, "").open_count(), None)
    numbers = traffic()
    rows = [await _row(poly, spec, dead, numbers) for spec in catalog.CONTAINERS]
    audit: list[dict[str, Any]] | str = await _or(
        entries(poly.raw_relational, None, AUDIT_ROWS), UNAVAILABLE
    )
    jobs = await _or(state.jobs.store.recent(JOB_ROWS), None)
    return Page(
        found.as_json(),
        rows,
        audit,
        UNAVAILABLE if jobs is None else [job_row(j.as_json()) for j in jobs],
    )


async def placement(state: ApiState) -> dict[str, Any] | str:
    """The `mystira placement` report (catalog reasons, recorded workload, flags)."""
    report = await _or(collect(state.poly), None)
    return UNAVAILABLE if report is None else report.as_json()


async def _row(
    poly: Polyglot, spec: ContainerSpec, dead: dict[str, int] | None, numbers: Traffic
) -> ContainerRow:
    record = await _or(poly.control.record(spec.name), None)
    phase = record.phase if record is not None else None
    row = ContainerRow(spec.name, spec.area, spec.is_relational, phase.value if phase else "?")
    row.stores = _stores(numbers, spec.name)
    row.consistency = numbers.consistency(spec.name)
    row.comparisons = numbers.shadow.get(spec.name, (0, 0))[0]
    row.dead_letters = UNAVAILABLE if dead is None else dead.get(spec.name, 0)
    if record is None or phase is None or not spec.is_relational:
        return row
    row.pending = record.pending.as_json() if record.pending is not None else None
    row.forward, row.back = _neighbours(phase)
    if ROUTES[phase].primary is Side.RELATIONAL:
        row.backfill_to = Side.DOCUMENT.value  # the walk back fills the document store
    row.lag = await _or(lag_json(poly, spec.name), {"pending": UNAVAILABLE})
    row.verify = await _or(_verify(poly, spec.name), None)
    await _gates(poly, row, phase)
    return row


def _neighbours(phase: Phase) -> tuple[str | None, str | None]:
    at = rules.index(phase)
    forward = ORDER[at + 1].value if at + 1 < len(ORDER) else None
    back = ORDER[at - 1].value if at > 0 else None
    return forward, back


async def _verify(poly: Polyglot, container: str) -> dict[str, Any] | None:
    last = await last_verify(poly.raw_relational, container)
    if last is None:
        return None
    finished = last["finished_at"]
    return {
        "id": last["id"],
        "clean": bool(last["clean"]),
        "finishedAt": finished.isoformat() if finished is not None else None,
        "differences": sum(int(last[k] or 0) for k in ("missing", "extra", "different")),
    }


async def _gates(poly: Polyglot, row: ContainerRow, phase: Phase) -> None:
    """The gates' verdicts on the move forward, as a `phase set` would see them now."""
    if poly.gates is None or row.forward is None:
        return
    try:
        checks = await poly.gates.check(row.container, phase, Phase(row.forward))
    except MystiraError as exc:
        row.gates_error = f"{UNAVAILABLE} ({type(exc).__name__})"
        return
    row.gates = [{"number": c.number, **c.as_json()} for c in checks]


def _stores(numbers: Traffic, container: str) -> dict[str, dict[str, Any]]:
    out = {}
    for store, found in sorted(numbers.stores.get(container, {}).items()):
        out[store] = {
            "calls": found.calls,
            "p50": found.p(0.5),
            "p99": found.p(0.99),
            "errorRate": found.error_rate,
        }
    return out


def job_row(job: dict[str, Any]) -> JobRow:
    """A job with its progress as a bar: ``{done, total, rate, etaSeconds}`` when the job
    records them; a backfill's ``read`` counts as done."""
    progress = job.get("progress") or {}
    done = _number(progress.get("done", progress.get("read")))
    total = _number(progress.get("total"))
    percent = None
    if job.get("state") == "succeeded":
        percent = 100.0  # the last saved progress may predate the last step
    elif done is not None and total:
        percent = max(0.0, min(100.0, 100.0 * done / total))
    return JobRow(
        job,
        done,
        total,
        percent,
        _number(progress.get("rate")),
        _number(progress.get("etaSeconds")),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
