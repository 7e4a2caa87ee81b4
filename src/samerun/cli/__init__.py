"""The ``samerun`` command line: each command parses, calls the library once, and renders."""

from __future__ import annotations

import sys
from collections.abc import Callable

from samerun._exceptions import SamerunError, UsageError


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns every samerun error into one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    from samerun.cli.status import is_plain_status, show_status

    if is_plain_status(args):  # run often: skips Click's (and every other command's) imports
        sys.exit(_guarded(lambda: show_status(args[2:])))
    sys.exit(_guarded(lambda: _click_main(args)))


def _click_main(args: list[str]) -> int:
    import click

    from samerun.cli.app import app
    from samerun.cli.render import setup_logging

    setup_logging()
    try:
        result = app.main(args=args, prog_name="samerun", standalone_mode=False)
    except click.exceptions.Abort:
        _error("aborted")
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    return result if isinstance(result, int) else 0


def _guarded(command: Callable[[], int]) -> int:
    """``command``'s exit code; a samerun error is printed as one line and exits 1 (2 for usage)."""
    try:
        return command()
    except SamerunError as err:
        from rich.markup import escape

        _error(f"[bold red]error:[/] {escape(str(err))}")  # a message is text, never markup
        return 2 if isinstance(err, UsageError) else 1
    except KeyboardInterrupt:
        return 130


def _error(markup: str) -> None:
    from samerun.cli.render import error_console

    error_console().print(markup, highlight=False, soft_wrap=True)
