"""`python -m mystira_data` runs the `mystira` command."""

from mystira_data.cli.app import main

main()
