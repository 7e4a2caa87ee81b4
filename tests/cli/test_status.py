"""``samerun data status`` on its Click-free path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from samerun.cli.status import _lines, is_plain_status
from samerun.data.workspace import DatasetStatus
from tests.conftest import Cli, age

_IMPORTED = """\
import sys
from samerun.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    # The start-up budget of the command run most often: no CLI framework, no store, no record
    # types; not even dataclasses (with inspect and ast behind it), which is why the types on
    # this path (Project, Pointer, Dataset, FileStat, ...) are named tuples.
    heavy = {"click", "rich", "yaml", "sqlalchemy", "sqlite3", "subprocess", "dataclasses",
             "inspect", "ast", "json", "samerun.manifest", "samerun.store.meta"}
    heavy = sorted(heavy & set(sys.modules))
    print("exit", done.code, "imported", heavy, file=sys.stderr)
"""


def test_only_paths_after_data_status_take_the_fast_path() -> None:
    assert is_plain_status(["data", "status"])
    assert is_plain_status(["data", "status", "data/raw", "labels.csv"])
    assert not is_plain_status(["data", "status", "--json"])
    assert not is_plain_status(["data", "status", "-h"])
    assert not is_plain_status(["data", "add", "x"])
    assert not is_plain_status(["status"])


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A process: what `samerun data status` imports from a cold start is the point.
    return subprocess.run(
        [sys.executable, "-c", _IMPORTED, *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def test_status_imports_neither_click_nor_rich(project: Path, cli: Cli) -> None:
    (project / "data").mkdir()
    (project / "data" / "a.csv").write_text("a,b\n1,2\n")
    age(project / "data")  # trusted from the stat cache: status hashes nothing
    assert cli("data", "add", "data").exit_code == 0
    done = _run(project, "data", "status")
    assert done.stdout == "unchanged data\n"
    assert "exit 0 imported []" in done.stderr
    (project / "data" / "b.csv").write_text("new\n")
    done = _run(project, "data", "status", "data")
    assert done.stdout.splitlines() == ["modified  data", "    added: b.csv"]
    assert "exit 1 imported ['sqlite3']" in done.stderr  # the stat cache, to hash b.csv


def test_a_file_dataset_unchanged_needs_no_stat_cache(project: Path, cli: Cli) -> None:
    (project / "labels.csv").write_text("a,b\n1,2\n")
    age(project / "labels.csv")
    assert cli("data", "add", "labels.csv").exit_code == 0
    done = _run(project, "data", "status")
    assert done.stdout == "unchanged labels.csv\n"
    assert "exit 0 imported []" in done.stderr
    (project / "labels.csv").write_text("a,b\n1,3\n")
    done = _run(project, "data", "status")
    assert done.stdout.splitlines() == ["modified  labels.csv", "    modified: labels.csv"]


def test_errors_and_options_are_those_of_the_click_command(project: Path, cli: Cli) -> None:
    missing = cli("data", "status", "nowhere")
    assert missing.exit_code == 2
    assert missing.stderr.strip().splitlines() == [
        "error: nowhere is not a dataset (no nowhere.samerun); `samerun data add` it first"
    ]
    assert cli("data", "status", "--json").stdout == "[]\n"
    assert "Example:" in cli("data", "status", "--help").stdout
    empty = cli("data", "status")
    assert (empty.exit_code, empty.stdout) == (
        0,
        "no datasets yet: add one with `samerun data add PATH`\n",
    )


def test_states_are_coloured_on_a_terminal_only() -> None:
    names = [f"f{i}" for i in range(25)]
    status = DatasetStatus("data/raw", "data/raw.samerun", "modified", [], names, [], "n")
    plain = _lines(status, color=False)
    assert plain[0] == "modified  data/raw"
    assert plain[1:3] == ["    modified: f0", "    modified: f1"]
    assert plain[-2:] == ["    … and 5 more modified", "    n"]
    coloured = _lines(status, color=True)
    assert coloured[0] == "\x1b[33mmodified \x1b[0m data/raw"
    assert coloured[-1] == "\x1b[2m    n\x1b[0m"
