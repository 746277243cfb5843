"""The `mystira` command line (Typer + Rich)."""
