"""`mystira backfill`, `verify` and `repair`: prove and restore agreement between stores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mystira_data import catalog
from mystira_data.cli.common import console, err_console, fail, run
from mystira_data.cli.polyglot import polyglot
from mystira_data.polyglot.consistency.targets import one_copy

# An option's type (Typer reads it at start); the rules module is small, over the catalog.
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.record import LEASE_TTL_S, RunKind

# What the commands need is imported when they run (`cli.lazy`).
if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from mystira_data.cli.runs import RunOptions
    from mystira_data.polyglot.consistency.backfill import BackfillReport
    from mystira_data.polyglot.consistency.repair import RepairResult
    from mystira_data.polyglot.consistency.verify import VerifyReport
    from mystira_data.polyglot.layer import Polyglot
    from mystira_data.settings import Phase, Settings


def _targets(container: str | None, all_: bool) -> list[str]:
    if all_:
        return [c.name for c in catalog.relational_containers()]
    if container is None:
        fail("name a CONTAINER or pass --all")
    spec = catalog.BY_NAME.get(container or "")
    if spec is None or not spec.is_relational:
        fail(f"{container!r} is not a container with a relational mapping")
    return [container or ""]


# Runs shared by many workers (`cli.runs`): the options backfill and verify both take.
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        max=64,
        help="Run as a shared run: N worker processes claim its segments by lease.",
    ),
]
Resume = Annotated[
    str | None, typer.Option("--resume", help="Join (or continue) run RUN in this process.")
]
Status = Annotated[str | None, typer.Option("--status", help="Print run RUN's progress.")]
Segments = Annotated[
    int | None,
    typer.Option("--segments", min=1, max=4096, help="Id ranges of a new run (4 × workers)."),
]
LeaseTtl = Annotated[
    float,
    typer.Option("--lease-ttl", min=0.1, max=3600, help="Seconds a segment lease lasts."),
]


def _shared_run(ctx: typer.Context, names: list[str], opts: RunOptions | None) -> bool:
    """Run ``opts`` if it asks for a shared run (`cli.runs`); False: the one-process path."""
    from mystira_data.cli.runs import run_command

    if opts is None:
        return False
    if len(names) != 1:
        fail("--workers and --resume take one CONTAINER, not --all")
    run_command(ctx, opts)
    return True


def backfill_command(
    ctx: typer.Context,
    container: Annotated[str | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all")] = False,
    to: Annotated[Side, typer.Option("--to")] = Side.RELATIONAL,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=1000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore the saved checkpoint.")
    ] = False,
    workers: Workers = None,
    resume: Resume = None,
    status: Status = None,
    segments: Segments = None,
    lease_ttl: LeaseTtl = LEASE_TTL_S,
) -> None:
    """Copy CONTAINER into the other store (resumable, safe during live writes).

    With ``--workers N`` the copy is a run split into leased id-range segments that any
    number of processes share (``--resume RUN`` joins one, ``--status RUN`` shows it).
    """
    from mystira_data.cli.progress import progress_bar
    from mystira_data.polyglot.consistency.backfill import backfill, pending_total
    from mystira_data.polyglot.controls.progress import Progress as Copied
    from mystira_data.polyglot.controls.record import Task

    if status is not None:
        return _status(ctx, status, as_json)
    names = _targets(container, all_)
    kind = RunKind.BACKFILL
    opts = _run_options(kind, names, workers, resume, segments, lease_ttl, as_json)
    if _shared_run(ctx, names, opts and replace(opts, batch_size=batch_size, target=to)):
        return

    async def body(settings: Settings) -> list[BackfillReport]:
        out = []
        async with polyglot(settings) as poly:
            for name in names:
                total = await pending_total(poly, name, to)
                copied = Copied(total)
                pacer = poly.pacer(name, Task.BACKFILL)
                with progress_bar(as_json) as progress:
                    task = progress.add_task(name, total=total, copied=copied, pacer=pacer)

                    def advance(
                        n: int, task: TaskID = task, bar: Progress = progress, c: Copied = copied
                    ) -> None:
                        c.add(n)
                        bar.advance(task, n)

                    out.append(
                        await backfill(
                            poly, name, to, batch_size=batch_size, restart=restart, on_page=advance
                        )
                    )
        return out

    reports = run(ctx, body)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in reports], indent=2))
    for r in reports:
        err_console.print(
            f"{r.container} → {r.target}: read {r.read}, written {r.written}, "
            f"quarantined {len(r.quarantined)}{' (resumed)' if r.resumed else ''}"
        )
        for doc_id, reason in r.quarantined:
            err_console.print(f"  quarantined {doc_id}: {reason}", markup=False)


def verify_command(
    ctx: typer.Context,
    container: Annotated[str | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    report_file: Annotated[Path | None, typer.Option("--report")] = None,
    workers: Workers = None,
    resume: Resume = None,
    status: Status = None,
    segments: Segments = None,
    lease_ttl: LeaseTtl = LEASE_TTL_S,
) -> None:
    """Compare both stores; exit 0 clean, 1 differences, 2 could not run, 3 a store is down.

    ``--all`` compares the containers that have two live copies (the dual-write phases) and
    lists the others as not applicable, so it serves as a health check. ``--workers``,
    ``--resume`` and ``--status`` work as for `backfill`.
    """
    if status is not None:
        return _status(ctx, status, as_json)
    names = _targets(container, all_)
    opts = _run_options(RunKind.VERIFY, names, workers, resume, segments, lease_ttl, as_json)
    if _shared_run(ctx, names, opts):
        return
    if report_file is not None:
        _check_writable(report_file)  # before the run, not after it

    async def body(settings: Settings) -> tuple[list[VerifyReport], dict[str, Phase]]:
        async with polyglot(settings) as poly:
            single = await one_copy(poly, names) if all_ else {}
            compared = [n for n in names if n not in single]
            return [await _verified(poly, name, as_json) for name in compared], single

    reports, single = run(ctx, body)
    data = [r.as_json() for r in reports]
    if report_file is not None:
        report_file.write_text(json.dumps(data, indent=2))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for r in reports:
            c = r.counts()
            console.print(
                f"{r.container} ({r.primary} vs {r.secondary}): scanned {r.scanned}, "
                f"missing {c['missing']}, extra {c['extra']}, "
                f"different {c['different']} → {'clean' if r.clean else 'DIFFERENT'}",
                markup=False,
            )
    for name, phase in single.items():
        err_console.print(f"{name}: not applicable ({phase.value}: one live copy)", markup=False)
    if not all(r.clean for r in reports):
        raise typer.Exit(1)


async def _verified(poly: Polyglot, name: str, quiet: bool) -> VerifyReport:
    """`Polyglot.verify` with a progress bar (recent rate, ETA once 1% is compared)."""
    from mystira_data.cli.progress import progress_bar
    from mystira_data.polyglot.controls.progress import Progress as Scanned

    scanned = Scanned(await poly.verify_total(name))
    bar = progress_bar(quiet)
    task = bar.add_task(name, total=scanned.total, copied=scanned)

    def on_scanned(n: int) -> None:
        # Shown from the first tick: a verify that cannot start prints its one error line.
        if not bar.live.is_started:
            bar.start()
        scanned.reach(n)
        bar.update(task, completed=n)

    try:
        return await poly.verify(name, on_scanned=on_scanned)
    finally:
        if bar.live.is_started:
            bar.stop()


def _run_options(
    kind: RunKind,
    names: list[str],
    workers: int | None,
    resume: str | None,
    segments: int | None,
    lease_ttl: float,
    as_json: bool,
) -> RunOptions | None:
    """The shared run asked for, if any (no ``--workers``/``--resume``: one process)."""
    from mystira_data.cli.runs import RunOptions

    if workers is None and resume is None:
        return None
    return RunOptions(kind, names[0], workers, resume, segments, lease_ttl, as_json=as_json)


def _status(ctx: typer.Context, run_id: str, as_json: bool) -> None:
    from mystira_data.cli.runs import status_command

    status_command(ctx, run_id, as_json)


def _check_writable(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        fail(f"--report {path}: directory {folder} does not exist")
    if path.is_dir():
        fail(f"--report {path}: is a directory")


def repair_command(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument()],
    from_report: Annotated[Path | None, typer.Option("--from-report")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
) -> None:
    """Rewrite the secondary's differing documents from the primary.

    A document that cannot be written is reported and skipped; the exit code is then 1.
    """
    from mystira_data.polyglot.consistency.repair import repair_container
    from mystira_data.polyglot.state.audit_log import cli_actor

    _targets(container, False)
    loaded = _load(from_report, container) if from_report else None

    async def body(settings: Settings) -> RepairResult:
        async with polyglot(settings) as poly:
            return await repair_container(
                poly, container, loaded, dry_run=dry_run, actor=cli_actor()
            )

    result = run(ctx, body)
    for line in result.planned:
        console.print(f"  {line}", markup=False)
    for doc_id, reason in result.failed:
        err_console.print(f"  could not repair {doc_id}: {reason}", markup=False)
    verb = "would repair" if dry_run else "repaired"
    done = len(result.planned) if dry_run else result.repaired
    failed = f", failed {len(result.failed)}" if result.failed else ""
    console.print(f"{container}: {verb} {done}{failed}", markup=False)
    if result.failed:
        raise typer.Exit(1)


def _load(path: Path, container: str) -> VerifyReport:
    """The report of ``container`` in a `verify --report` file; malformed → one line, exit 2."""
    from mystira_data.polyglot.consistency.verify import Difference, VerifyReport

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = next((d for d in data if d.get("container") == container), None)
        if entry is None:
            fail(f"{path}: no report for {container}")
        report = VerifyReport(container, entry["primary"], entry["secondary"])
        report.differences = [Difference(**d) for d in entry["differences"]]
    except (OSError, ValueError) as exc:  # JSON and UTF-8 errors are ValueErrors
        fail(f"{path}: cannot read report ({exc})")
    except (KeyError, TypeError, AttributeError) as exc:
        fail(f"{path}: not a `verify --report` file ({type(exc).__name__}: {exc})")
    return report
