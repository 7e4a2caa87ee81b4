"""Does an interpreter's environment match a run's record? ``env check``, and the last step of
``env restore``, ask this."""

from __future__ import annotations

from collections.abc import Collection

from samerun.capture.environment import Environment, capture_environment
from samerun.verify.compare import Change, environment_changes


def differences(
    recorded: Environment, current: Environment, *, ignore: Collection[str] = ()
) -> list[Change]:
    """What differs and can change results: Python, platform, packages, origins, conda.

    ``ignore`` names packages left out on purpose (the project's own editable install, which a
    replay brings from its worktree).
    """
    left_out = {f"package {name}" for name in ignore} | {f"origin {name}" for name in ignore}
    return [
        change
        for change in environment_changes(recorded, current)
        if change.kind != "equal" and not change.informational and change.key not in left_out
    ]


def check_interpreter(
    recorded: Environment, interpreter: str | None = None, *, ignore: Collection[str] = ()
) -> list[Change]:
    """:func:`differences` between the record and ``interpreter`` (default: this one)."""
    return differences(recorded, capture_environment(interpreter), ignore=ignore)
