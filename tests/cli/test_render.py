"""How values read on the terminal, and ``samerun show`` of a run recorded through the API."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import samerun
from samerun.cli.render import commit_label, duration, number, print_json, when
from tests.conftest import Cli


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (4.0, "4.0s"),
        (59.94, "59.9s"),
        (61, "1m01s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (7322, "2h02m"),
    ],
)
def test_a_duration_reads_in_seconds_minutes_or_hours(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_times_numbers_and_commits_are_short() -> None:
    moment = time.mktime((2025, 3, 4, 5, 6, 7, 0, 0, -1))
    assert when(moment) == "2025-03-04 05:06:07"
    assert when(moment, short=True) == "03-04 05:06"
    assert when(None) == "-"
    assert number(0.1 + 0.2) == "0.3"
    assert number(123456789.0) == "1.23457e+08"
    assert commit_label("0123456789abcdef", dirty=False) == "01234567"
    assert commit_label("0123456789abcdef", dirty=True) == "01234567[yellow]+dirty[/]"
    assert commit_label(None, dirty=None) == "-"


def test_json_is_sorted_indented_and_takes_any_value(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"b": Path("out/model.pkl"), "a": [1, 2.5]})
    printed = capsys.readouterr().out
    assert printed == '{\n  "a": [\n    1,\n    2.5\n  ],\n  "b": "out/model.pkl"\n}\n'
    assert json.loads(printed)["b"] == "out/model.pkl"


def test_show_marks_uncommitted_code_and_what_a_run_never_had(project: Path, cli: Cli) -> None:
    (project / "train.py").write_text("# edited, not committed\n")
    with samerun.start_run(name="api-run", params={"lr": 0.05}) as run:
        run.log_metric("loss", 0.25, step=3)
    done = cli("show", "last")
    assert done.exit_code == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"run {run.id}  api-run  finished")
    assert "+dirty" in out
    assert re.search(r"exit code\s+-\s*\n", out)  # a run from the API has no exit code
    assert re.search(r"loss\s+0\.25\s+3\s+1\s+0\.25\s+0\.25", out)
    assert "never verified" in out
    assert re.search(r"Artifacts\n\s+\(none\)", out)


def test_show_at_80_columns_marks_short_hashes_and_says_what_was_not_observed(
    project: Path, cli: Cli
) -> None:
    done = cli("record", "--seed", "3", "--config", "config.yaml", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    shown = cli("show", "last", env={"COLUMNS": "80"}).stdout
    tree = json.loads(cli("show", "last", "--json").stdout)["inputs"]["code"]["tree"]
    assert len(tree) > 40  # whole in JSON
    assert f"{tree[:16]}…" in shown  # git:<12 hex>… on the terminal, on one line
    assert tree not in shown
    assert shown.count("PYTHONHASHSEED") == 1
    assert "not observed" in shown
