"""The progress bar of long copies (`mystira backfill`), in documents per second."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from mystira_data.cli.common import err_console


class DocsPerSecond(TextColumn):
    """Documents per second (Rich's speed column speaks bytes)."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} docs/s" if speed else "")


def progress_bar(quiet: bool) -> Progress:
    """A bar per container on stderr (stdout may carry `--json`); ``quiet`` hides it."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        DocsPerSecond(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )
