"""``samerun data status``, without Click: it runs often (prompts, hooks), so it starts fast.

``samerun data status [PATH...]`` comes straight here from :func:`samerun.cli.main`; with an
option (``--json``, ``--help``) it goes through Click, whose command calls :func:`show_status`.
Nothing on this path imports Click, Rich or the run-recording modules.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samerun.data.workspace import DatasetStatus

_COLORS = {"unchanged": "32", "modified": "33", "missing": "31"}  # ANSI green, yellow, red
_DIM = "2"
_SHOWN_PER_LIST = 20


def is_plain_status(args: list[str]) -> bool:
    """Whether ``args`` are ``data status`` and paths only, which :func:`show_status` takes."""
    return args[:2] == ["data", "status"] and not any(a.startswith("-") for a in args[2:])


def show_status(paths: list[str], *, as_json: bool = False) -> int:
    """Print each dataset's state; 1 when one is modified or missing, else 0."""
    from samerun.data.workspace import DataContext, select, status
    from samerun.store.project import Project, find_root

    ctx = DataContext.of(Project(find_root()))
    result = status(ctx, select(ctx.root, paths))
    if as_json:
        from samerun.cli.render import print_json

        print_json([s.to_dict() for s in result])
    elif not result:
        sys.stdout.write("no datasets yet: add one with `samerun data add PATH`\n")
    else:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        sys.stdout.write("".join(line + "\n" for s in result for line in _lines(s, color)))
    return 0 if all(s.state == "unchanged" for s in result) else 1


def _lines(s: DatasetStatus, color: bool) -> list[str]:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = [f"{paint(f'{s.state:9}', _COLORS[s.state])} {s.dataset}"]
    for label, files in (("added", s.added), ("modified", s.modified), ("deleted", s.deleted)):
        lines += [f"    {label}: {name}" for name in files[:_SHOWN_PER_LIST]]
        if len(files) > _SHOWN_PER_LIST:
            lines.append(f"    … and {len(files) - _SHOWN_PER_LIST} more {label}")
    if s.note:
        lines.append(paint(f"    {s.note}", _DIM))
    return lines
