from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

SCRIPT = """\
import os, samerun
for step in range(6):
    bump = step >= int(os.environ.get("PART_AT", "99"))
    loss = 1.0 / (step + 1) + (0.5 if bump else 0)
    samerun.trace(step, batch=[step, step + 1, step + 2], loss=loss)
    samerun.trace(step, weights=[float(step) + (0.25 if bump else 0)] * 3)
"""


@pytest.fixture
def record(project: Path, cli: Cli):  # type: ignore[no-untyped-def]
    (project / "traced.py").write_text(SCRIPT)
    (project / "plain.py").write_text("print('no trace')\n")

    def run(script: str = "traced.py", **env: str) -> str:
        done = cli("record", "--json", "--", sys.executable, script, env=env)
        assert done.exit_code == 0, done.stderr
        run_id: str = json.loads(done.stdout)["id"]
        return run_id

    return run


def test_identical_traces(record, cli: Cli) -> None:  # type: ignore[no-untyped-def]
    a, b = record(), record()
    done = cli("trace", "diff", a, b)
    assert done.exit_code == 0, done.stderr
    assert f"traces of {a[:8]} and {b[:8]} are identical: 6 steps, 18 values" in done.stdout


def test_the_first_step_and_value_that_part_then_the_spread(  # type: ignore[no-untyped-def]
    record, cli: Cli
) -> None:
    a, b = record(), record(PART_AT="4")
    done = cli("trace", "diff", a[:10], "last")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"traces of {a[:8]} and {b[:8]} first part at step 4:"
    assert lines[1].strip() == "value loss (float): differs by 0.5"
    assert lines[2] == "then: 2 of 6 steps both traced differ"
    assert [line.split()[1] for line in lines[3:]] == ["loss", "weights"]

    as_json = json.loads(cli("trace", "diff", a, b, "--json").stdout)
    assert as_json["identical"] is False
    assert as_json["runs"] == [a, b]
    first = as_json["first_divergence"]
    assert (first["step"], first["index"], first["label"]) == (4, 1, "value loss")
    assert first["expected"]["values"] == [0.2]
    assert first["difference"]["max_abs"] == pytest.approx(0.5)
    assert as_json["spread"]["first_differs"] == [
        {"label": "value loss", "step": 4},
        {"label": "value weights", "step": 4},
    ]


def test_a_run_without_a_trace_is_one_clear_error(  # type: ignore[no-untyped-def]
    record, cli: Cli
) -> None:
    a, b = record(), record("plain.py")
    done = cli("trace", "diff", a, b)
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        f"error: run {b[:8]} recorded no trace; call samerun.trace(step, ...) or "
        "samerun.torch.trace_model(model) in its script to record one"
    )
    missing = cli("trace", "diff", a, "0000dead")
    assert missing.exit_code == 1
    assert "0000dead" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_help_ends_with_an_example(cli: Cli) -> None:
    for args in (("trace", "--help"), ("trace", "diff", "--help")):
        done = cli(*args)
        assert done.exit_code == 0
        assert "Example:\n  samerun trace diff" in done.stdout.replace("    ", "  ")
