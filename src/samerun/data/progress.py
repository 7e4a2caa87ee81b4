"""How far long data work got: what ``add``, ``checkout``, ``push`` and ``pull`` report.

The command line draws it as a progress bar on a terminal; everywhere else it is
:data:`NO_PROGRESS`. Calls come from one thread (the one that collects the workers' results).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def expect(self, files: int, size: int) -> None:
        """``files`` more files (``size`` bytes) are to be done."""

    def advance(self, files: int, size: int) -> None:
        """``files`` files (``size`` bytes) are done."""


class _NoProgress:
    def expect(self, files: int, size: int) -> None:
        pass

    def advance(self, files: int, size: int) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()
