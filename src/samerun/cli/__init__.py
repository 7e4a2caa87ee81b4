"""The ``samerun`` command line: each command parses, calls the library once, and renders."""

from __future__ import annotations

import sys

import click

from samerun._exceptions import SamerunError, UsageError


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns every samerun error into one line on stderr and an exit code."""
    from samerun.cli.app import app
    from samerun.cli.render import error_console, setup_logging

    setup_logging()
    try:
        result = app.main(args=argv, prog_name="samerun", standalone_mode=False)
    except click.exceptions.Abort:
        error_console().print("aborted")
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except SamerunError as err:
        error_console().print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(err, UsageError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
