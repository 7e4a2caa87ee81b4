"""``samerun verify`` and ``samerun diff`` as a user reads them: verdicts, deviations, layers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import samerun
from tests.conftest import Cli, git

#: A replay (which runs elsewhere) logs a loss 1e-9 higher: within a loose tolerance, not a tight.
NOISY = """\
import os, samerun
ORIGINAL = {root!r}
samerun.log_metric("loss", 0.5 if os.path.samefile(os.getcwd(), ORIGINAL) else 0.5 + 1e-9)
"""


def flat(text: str) -> str:
    """``text`` with every run of whitespace one space: how it reads whatever the width."""
    return " ".join(text.split())


@pytest.fixture
def noisy_run(project: Path, cli: Cli) -> str:
    (project / "noisy.py").write_text(NOISY.format(root=str(project)))
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "noisy")
    done = cli("record", "--json", "--seed", "3", "--", sys.executable, "noisy.py")
    assert done.exit_code == 0, done.stderr
    run_id: str = json.loads(done.stdout)["id"]
    return run_id


def test_within_tolerance_is_equivalent_with_the_largest_deviation(
    noisy_run: str, cli: Cli
) -> None:
    done = cli("verify", noisy_run, "--rtol", "1e-6")
    assert done.exit_code == 0, done.stderr
    text = flat(done.stdout)
    assert text.startswith(f"run {noisy_run[:8]}: equivalent (replay ")
    assert "metric loss equivalent 1e-09 2e-09" in text
    assert (
        "largest deviation: metric loss, max abs 1e-09, max rel 2e-09 (rtol 1e-06, atol 0)" in text
    )


def test_beyond_tolerance_diverges_from_nondeterminism_with_the_next_step(
    noisy_run: str, cli: Cli
) -> None:
    done = cli("verify", noisy_run, "--rtol", "1e-12")
    assert done.exit_code == 1, done.stderr
    text = flat(done.stdout)
    assert text.startswith(f"run {noisy_run[:8]}: diverged (replay ")
    assert "causes: - inputs identical: nondeterminism inside the run" in text
    assert "outputs that differ: loss" in text
    assert "next: run `samerun doctor`" in text


def test_a_negative_tolerance_is_refused_before_any_replay(noisy_run: str, cli: Cli) -> None:
    done = cli("verify", noisy_run, "--atol", "-1")
    assert done.exit_code == 2
    assert "tolerances cannot be negative" in done.stderr
    assert done.stdout == ""
    assert json.loads(cli("show", "last", "--json").stdout)["id"] == noisy_run  # none replayed


def api_runs(*learning_rates: float) -> list[str]:
    """Runs recorded through the API with one seed, differing only in ``lr`` and its loss."""
    ids = []
    for lr in learning_rates:
        with samerun.start_run(name=f"lr-{lr}", params={"lr": lr}, seed=1) as run:
            run.log_metric("loss", lr * 2)
        ids.append(run.id)
    return ids


def test_diff_shows_what_differs_and_names_the_input_layers(project: Path, cli: Cli) -> None:
    a, b = api_runs(0.1, 0.2)
    done = cli("diff", a, b)
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"A {a[:8]} lr-0.1   B {b[:8]} lr-0.2"
    assert re.search(r"^~ lr\s+0\.1\s+0\.2\s*$", done.stdout, re.MULTILINE)
    assert "metric loss diverged 0.2 0.5" in flat(done.stdout)
    assert "environment" not in done.stdout  # an equal layer is left out
    assert lines[-1] == "input layers that differ: params"


def test_diff_all_shows_what_is_equal_too(project: Path, cli: Cli) -> None:
    a, b = api_runs(0.1, 0.1)
    same = cli("diff", a, b)
    assert same.stdout.splitlines()[1:] == ["outputs: all identical", "inputs: identical"]
    everything = cli("diff", a, b, "--all").stdout
    for layer in ("code", "command", "params", "environment", "outputs"):
        assert re.search(rf"^{layer}\s*$", everything, re.MULTILINE), layer
    assert "metric loss identical" in flat(everything)


def test_env_must_be_a_virtual_environment(noisy_run: str, cli: Cli, tmp_path: Path) -> None:
    done = cli("verify", noisy_run, "--env", str(tmp_path))
    assert done.exit_code == 2
    assert done.stderr == f"error: {tmp_path} is not a virtual environment: it has no bin/python\n"
    assert done.stdout == ""


def test_env_restore_refuses_a_path_it_did_not_make(
    noisy_run: str, cli: Cli, project: Path
) -> None:
    taken = project / ".samerun" / "envs" / noisy_run
    taken.mkdir(parents=True)
    (taken / "mine.txt").write_text("keep me")
    done = cli("verify", noisy_run, "--env", "restore")
    assert done.exit_code == 1
    assert flat(done.stderr) == (
        f"error: {taken} already exists and is not a restored environment; restore into a path "
        "that does not exist"
    )
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]


def test_env_notes_a_command_that_names_another_interpreter(
    noisy_run: str, cli: Cli, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    done = cli("verify", noisy_run, "--json", "--rtol", "1e-6", "--env", str(venv))
    notes = json.loads(done.stdout)["notes"]
    assert f"replayed inside the virtual environment {venv}" in notes
    assert (
        f"the command runs {sys.executable}, not the Python of {venv}: the recorded command "
        "names its interpreter by its path"
    ) in notes


def test_diff_shows_the_changed_argument_and_no_informational_rows_unless_all(
    project: Path, cli: Cli
) -> None:
    for steps in ("3", "4"):
        done = cli("record", "--seed", "1", "--", "python", "train.py", "--steps", steps)
        assert done.exit_code == 0, done.stderr
    runs = json.loads(cli("runs", "--json").stdout)
    shown = cli("diff", runs[1]["id"], runs[0]["id"], env={"COLUMNS": "250"})
    assert "argv[3] (after --steps)" in shown.stdout
    assert "3" in shown.stdout
    assert "4" in shown.stdout
    assert "started" not in shown.stdout  # host facts and other informational rows: --all only
    assert "hostname" not in shown.stdout
    assert "hostname" in cli("diff", runs[1]["id"], runs[0]["id"], "--all").stdout
