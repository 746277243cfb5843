"""The `mystira` command line (Typer + Rich)."""

# The entry point is ``mystira_data.cli.app:app``; this package imports nothing itself, so
# ``mystira --help`` loads only the commands' names (see ``cli.lazy``).
__all__: list[str] = []
