"""NB001-NB002 and the code rules on notebook cells."""

from __future__ import annotations

import json

from tests.doctor.conftest import Analyse, rule_ids


def notebook(*cells: tuple[int | None, str]) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
            "cells": [
                {"cell_type": "markdown", "source": "# title", "metadata": {}},
                *(
                    {"cell_type": "code", "execution_count": n, "source": s, "outputs": []}
                    for n, s in cells
                ),
            ],
        }
    )


def test_out_of_order_execution_is_reported(analyse: Analyse) -> None:
    found = analyse({"nb.ipynb": notebook((1, "x = 1"), (3, "y = 2"), (2, "z = 3"))})
    assert [(f.rule, f.cell) for f in found.findings] == [("NB001", 3)]


def test_cells_never_executed_among_executed_ones_are_reported(analyse: Analyse) -> None:
    found = analyse({"nb.ipynb": notebook((1, "x = 1"), (None, "y = 2"), (2, "z = 3"))})
    assert [(f.rule, f.cell) for f in found.findings] == [("NB002", 2)]


def test_a_clean_run_and_a_cleared_notebook_are_fine(analyse: Analyse) -> None:
    ran = notebook((1, "x = 1"), (2, "y = 2"), (None, ""))
    cleared = notebook((None, "x = 1"), (None, "y = 2"))
    assert rule_ids(analyse({"a.ipynb": ran, "b.ipynb": cleared})) == []


def test_code_rules_run_on_cells_across_cells_with_magics(analyse: Analyse) -> None:
    found = analyse(
        {
            "nb.ipynb": notebook(
                (1, "%matplotlib inline\nimport numpy as np\n!pip list"),
                (2, "np.random.shuffle(rows)  # cell 2, line 1"),
                (3, "%%bash\nls"),
            )
        }
    )
    assert [(f.rule, f.cell, f.line) for f in found.findings] == [("RNG001", 2, 1)]
    assert found.findings[0].where == "nb.ipynb:cell 2:1:1"


def test_a_cell_that_does_not_parse_is_skipped_with_the_reason(analyse: Analyse) -> None:
    found = analyse({"nb.ipynb": notebook((1, "x = ("), (2, "import random\nrandom.random()"))})
    assert rule_ids(found) == ["RNG001"]
    assert [(s.path, s.reason.split(":")[0]) for s in found.skipped] == [("nb.ipynb", "cell 1")]
