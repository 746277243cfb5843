"""The root command group lists commands without importing them (`cli.lazy`)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from mystira_data.cli.app import COMMANDS
from mystira_data.cli.lazy import LazyCommand


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda e: e.name)
def test_listed_help_is_the_commands_own(entry: LazyCommand) -> None:
    # `mystira --help` shows the first paragraph of the help; the loaded command must agree.
    loaded = entry.load()
    assert loaded.name == entry.name
    assert inspect.cleandoc(loaded.help or "").split("\n\n")[0] == entry.help


def test_help_imports_no_store_library() -> None:
    probe = (
        "import sys\n"
        "from mystira_data.cli.app import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('mystira_data.settings', 'mystira_data.catalog', 'sqlalchemy', 'alembic',\n"
        "         'azure', 'aiohttp', 'redis', 'pydantic')\n"
        "print(sorted({m.split('.')[0] if not m.startswith('mystira') else m\n"
        "              for m in sys.modules if m.startswith(heavy)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
