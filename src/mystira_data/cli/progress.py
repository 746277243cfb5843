"""The progress bar of long copies (`mystira backfill`): documents per second over the recent
window, the ETA once 1% is done, and why the copy waits when the operator controls hold it.

A task's ``copied`` field is its `controls.progress.Progress` and ``pacer`` its pacer; both are
read at each refresh, so a paused copy says so even though no page arrives.
"""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TextColumn,
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


class EtaAndState(TextColumn):
    """The ETA (after 1%) from the recent rate, then the pacer's state when it is not running."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        copied, pacer = task.fields.get("copied"), task.fields.get("pacer")
        eta = getattr(copied, "eta_s", None)
        text = "" if eta is None or task.finished else f"ETA {_clock(eta)}"
        state = getattr(pacer, "state", "running")
        if state != "running" and not task.finished:
            text = f"{text} {state}".strip()
        return Text(text)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def progress_bar(quiet: bool) -> Progress:
    """A bar per container on stderr (stdout may carry `--json`); ``quiet`` hides it."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        DocsPerSecond(),
        EtaAndState(),
        console=err_console,
        disable=quiet,
        transient=False,
    )
