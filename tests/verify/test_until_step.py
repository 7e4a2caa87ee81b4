"""``samerun verify --until-step``: a partial verification that compares traces live."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import Cli, git

TRAINING = """\
import random, sys, time
import samerun

run = samerun.start_run()
rng = random.Random(run.seed if "--seeded" in sys.argv else None)
weight = 0.0
for step in range(600):
    batch = [rng.randrange(1000) for _ in range(4)]
    weight += sum(batch) * 1e-3
    samerun.trace(step, batch=batch, weight=weight)
    time.sleep(0.005)
samerun.log_metric("weight", weight)
"""


def record(cli: Cli, *args: str) -> str:
    done = cli("record", "--json", "--seed", "3", "--", sys.executable, "train.py", *args)
    assert done.exit_code == 0, done.stderr
    return str(json.loads(done.stdout)["id"])


def test_partial_verification_stops_after_the_step(project: Path, cli: Cli) -> None:
    (project / "train.py").write_text(TRAINING)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "train")
    run = record(cli, "--seeded")
    done = cli("verify", run, "--until-step", "20", "--json")
    result = json.loads(done.stdout)
    assert done.exit_code == 0, done.stderr
    assert result["verdict"] == "identical"
    assert result["partial"] is True
    assert result["until_step"] == 20
    replay = json.loads(cli("show", result["replay"], "--json").stdout)
    assert replay["status"] == "killed"
    assert "after step 20" in replay["error"]
    assert replay["outputs"]["trace"]["steps"] < 600  # stopped well before the end
    text = cli("verify", run, "--until-step", "5")
    assert "through step 5 (partial)" in text.stdout


def test_partial_verification_names_the_first_divergence(project: Path, cli: Cli) -> None:
    (project / "train.py").write_text(TRAINING)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "train")
    run = record(cli)  # unseeded: the batches differ from step 0
    done = cli("verify", run, "--until-step", "50", "--json")
    result = json.loads(done.stdout)
    assert done.exit_code == 1, done.stderr
    assert result["verdict"] == "diverged"
    assert result["divergence"]["step"] == 0
    assert result["divergence"]["label"].endswith("batch")
    assert any(cause.startswith("first divergence at step 0") for cause in result["causes"])


def test_until_step_needs_a_traced_run(project: Path, cli: Cli) -> None:
    done = cli("record", "--", sys.executable, "-c", "print(1)")
    assert done.exit_code == 0, done.stderr
    failed = cli("verify", "last", "--until-step", "3")
    assert failed.exit_code != 0
    assert "recorded no trace" in failed.stderr
    assert "Traceback" not in failed.stderr
