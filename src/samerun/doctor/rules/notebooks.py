"""Notebooks whose stored outputs did not come from one top-to-bottom run."""

from __future__ import annotations

from collections.abc import Iterator

from samerun.doctor.rule import NotebookRule, register
from samerun.doctor.sources import NotebookCell


@register
class OutOfOrder(NotebookRule):
    id = "NB001"
    name = "notebook-out-of-order"
    title = "Notebook cells were executed out of order"
    why = (
        "A cell that ran after a cell below it saw state the file does not describe: running "
        "the notebook top to bottom may not give the results stored in it."
    )
    fix = "Restart the kernel and run all cells, then save (or run it with `jupyter nbconvert "
    fix += "--execute`)."
    bad = "cell 1: [2] x = load()\ncell 2: [1] model = fit(x)"
    good = "cell 1: [1] x = load()\ncell 2: [2] model = fit(x)"

    @classmethod
    def check(cls, cells: list[NotebookCell]) -> Iterator[tuple[int, str]]:
        latest: NotebookCell | None = None
        for cell in cells:
            if cell.execution_count is None:
                continue
            if latest is not None and cell.execution_count <= (latest.execution_count or 0):
                yield (
                    cell.number,
                    f"cell {cell.number} ran as [{cell.execution_count}], before cell "
                    f"{latest.number} above it ([{latest.execution_count}])",
                )
                return
            latest = cell


@register
class NotExecuted(NotebookRule):
    id = "NB002"
    name = "notebook-not-executed"
    title = "Some notebook cells were never executed"
    why = (
        "The notebook holds outputs from a session in which some of its code never ran: "
        "its results do not come from the code as saved."
    )
    fix = "Restart the kernel, run all cells, and save; or clear every output before committing."
    bad = "cell 1: [1] x = load()\ncell 2: [ ] x = clean(x)\ncell 3: [2] fit(x)"
    good = "cell 1: [1] x = load()\ncell 2: [2] x = clean(x)\ncell 3: [3] fit(x)"

    @classmethod
    def check(cls, cells: list[NotebookCell]) -> Iterator[tuple[int, str]]:
        if not any(c.execution_count is not None for c in cells):
            return  # a cleared notebook claims no results
        for cell in cells:
            if cell.execution_count is None and not cell.empty:
                yield cell.number, f"cell {cell.number} was never executed, while others were"
                return
