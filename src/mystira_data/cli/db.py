"""`mystira db …` (schema migrations) and `mystira report …` (analytics on the relational store)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mystira_data.cli.common import console, fail, run

# SQLAlchemy and Alembic are imported when a command runs (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data.relational.analytics import Analytics
    from mystira_data.settings import Settings

    Query = Callable[[Analytics], Coroutine[Any, Any, Sequence[Any]]]

db_app = typer.Typer(help="Relational schema migrations (Alembic).", no_args_is_help=True)
report_app = typer.Typer(help="Analytics on the relational store.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(
    ctx: typer.Context,
    revision: str = "head",
    create_database: Annotated[
        bool, typer.Option("--create-database", help="Create the PostgreSQL database if missing.")
    ] = False,
) -> None:
    """Migrate the relational database up to REVISION (default: the latest)."""
    from mystira_data.bootstrap import relational_url
    from mystira_data.relational import database, migrate

    async def body(settings: Settings) -> str | None:
        url = relational_url(settings)
        if create_database and await database.create_database(url):
            console.print("created the database")
        with _alembic_errors():
            await migrate.upgrade(url, revision)
        return await migrate.current(url)

    console.print(f"relational schema at {run(ctx, body)}")


@db_app.command("downgrade")
def downgrade_command(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument()],
    yes: Annotated[
        bool, typer.Option("--yes", help="Downgrade even though tables hold data.")
    ] = False,
) -> None:
    """Migrate the relational database down to REVISION (e.g. base).

    A downgrade drops tables or columns: while any table holds rows it is refused unless
    ``--yes`` is given, and the refusal lists them.
    """
    from mystira_data.bootstrap import relational_url
    from mystira_data.relational import database, migrate

    async def body(settings: Settings) -> str | None:
        url = relational_url(settings)
        _check_revision(revision)
        if not yes:
            _refuse_if_populated(revision, await database.populated_tables(url))
        with _alembic_errors():
            await migrate.downgrade(url, revision)
        return await migrate.current(url)

    console.print(f"relational schema at {run(ctx, body)}")


def _check_revision(revision: str) -> None:
    """An unknown revision is refused before anything else is said about the database."""
    from alembic.script import ScriptDirectory

    from mystira_data.relational import migrate

    if revision == "base" or revision.startswith(("-", "+")):
        return  # relative steps are resolved by Alembic against the database
    with _alembic_errors():
        ScriptDirectory.from_config(migrate.config()).get_revisions(revision)


def _refuse_if_populated(revision: str, populated: dict[str, int]) -> None:
    if not populated:
        return
    what = "drops every table" if revision == "base" else "may drop tables and columns"
    held = ", ".join(f"{name} ({rows} rows)" for name, rows in populated.items())
    fail(
        f"downgrade to {revision} {what}, and these tables hold data: {held}; "
        "nothing was changed (pass --yes to downgrade anyway)"
    )


@contextmanager
def _alembic_errors() -> Iterator[None]:
    """Alembic's refusals (an unknown revision, a downgrade that is an upgrade) are input
    errors: one line, exit 2."""
    from alembic.util.exc import CommandError

    try:
        yield
    except CommandError as exc:
        fail(f"db: {exc}")


@db_app.command("current")
def current_command(ctx: typer.Context) -> None:
    """The relational database's current revision, and the latest one."""
    from mystira_data.bootstrap import relational_url
    from mystira_data.relational import migrate

    async def body(settings: Settings) -> str | None:
        return await migrate.current(relational_url(settings))

    console.print(f"current: {run(ctx, body)}; head: {migrate.head()}")



def _report(ctx: typer.Context, title: str, query: Query, as_json: bool) -> None:
    from mystira_data.bootstrap import open_stores
    from mystira_data.relational.analytics import Analytics

    async def body(settings: Settings) -> Sequence[Any]:
        async with open_stores(settings) as stores:
            assert stores.relational is not None
            return await query(Analytics(stores.relational))

    rows = [asdict(r) if is_dataclass(r) and not isinstance(r, type) else r
            for r in run(ctx, body)]
    if as_json:
        typer.echo(json.dumps(rows, default=_plain, indent=2))
        return
    table = Table(title=Text(title))
    for column in rows[0] if rows else ["(no rows)"]:
        table.add_column(column)
    for row in rows:
        # Text cells: stored strings (names, titles) are data, never Rich markup.
        table.add_row(*(Text(_plain(v)) for v in row.values()))
    console.print(table)


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


JsonOpt = Annotated[bool, typer.Option("--json")]


@report_app.command("leaderboard")
def leaderboard(ctx: typer.Context, scenario: str, axis: str, limit: int = 10,
                as_json: JsonOpt = False) -> None:
    """Best scores of SCENARIO on compass AXIS (`mystira report axes` lists the axes)."""
    _report(ctx, f"Leaderboard {scenario} / {axis}",
            lambda a: a.leaderboard(scenario, axis, limit=limit), as_json)


@report_app.command("axes")
def axes(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The compass axes the scores carry (the AXIS names `report leaderboard` takes)."""
    _report(ctx, "Compass axes", lambda a: a.axes(), as_json)


@report_app.command("completion")
def completion(ctx: typer.Context, scenario: str | None = None, as_json: JsonOpt = False) -> None:
    """Completion rate and median session length per scenario and age group."""
    _report(ctx, "Completion", lambda a: a.completion(scenario), as_json)


@report_app.command("accounts")
def accounts(ctx: typer.Context, limit: int = 100, as_json: JsonOpt = False) -> None:
    """Sessions and last activity per account."""
    _report(ctx, "Account activity", lambda a: a.account_activity(limit=limit), as_json)


@report_app.command("progress")
def progress(ctx: typer.Context, profile: str, as_json: JsonOpt = False) -> None:
    """A profile's scores over time with running totals per axis."""
    _report(ctx, f"Progress of {profile}", lambda a: a.profile_progress(profile), as_json)
