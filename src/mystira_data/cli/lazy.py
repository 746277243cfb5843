"""Commands imported when they are used, so `mystira --help` stays quick.

A command module pulls in what its command needs (the polyglot layer, SQLAlchemy, Alembic,
the Azure SDK, redis: seconds together). Typer builds every registered command when the
program starts, which would import all of them for any command line. Instead the root group
holds a placeholder per command (its name and first help paragraph) and imports the module
the moment the command is resolved to run or to show its own help.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand

from mystira_data.cli.common import ErrorMappingGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives and what `mystira --help` says about it without importing it."""

    name: str
    target: str  # "package.module:attribute", a Typer app (a group) or a command function
    help: str  # the first paragraph of the command's help (a test keeps the two equal)

    def placeholder(self) -> Command:
        return _Placeholder(name=self.name, help=self.help)

    def load(self) -> Command:
        """Import the module and build the command Typer would have built at start."""
        module, _, attribute = self.target.partition(":")
        found: Any = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            command: Command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)
            single.command(self.name)(found)
            command = typer.main.get_command(single)
        command.name = self.name
        return command


class _Placeholder(TyperCommand):
    """Stands in for a command not imported yet; only its name and help are ever read."""


class LazyGroup(ErrorMappingGroup):
    """The root group over `lazy_commands`: placeholders until a command is resolved."""

    lazy_commands: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._lazy = {entry.name: entry for entry in self.lazy_commands}
        self._listing = False
        # In `commands` too: the order of `--help` and "Did you mean …?" suggestions read it.
        for entry in self.lazy_commands:
            self.commands[entry.name] = entry.placeholder()

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Placeholder) and not self._listing:
            command = self.commands[cmd_name] = self._lazy[cmd_name].load()
        return command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        # Listing the commands reads their help only: the placeholders answer that.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
