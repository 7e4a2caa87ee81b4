"""``samerun doctor`` end to end: report, JSON, SARIF, exit codes, rule docs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CliRunner

UNSEEDED = "import numpy as np\nx = np.random.rand(3)\n"


def test_the_report_shows_findings_level_and_next_steps(
    project: Path, samerun_cli: CliRunner
) -> None:
    (project / "noise.py").write_text(UNSEEDED)
    done = samerun_cli("doctor", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "noise.py:2:5 RNG001" in done.stdout
    assert "level 1 of 4" in done.stdout
    assert "next steps to level 2" in done.stdout


def test_json_and_gates(project: Path, samerun_cli: CliRunner) -> None:
    (project / "noise.py").write_text(UNSEEDED)
    done = samerun_cli("doctor", "--json", str(project))
    report = json.loads(done.stdout)
    assert report["level"] == 1
    assert [f["rule"] for f in report["findings"]] == ["RNG001"]
    assert samerun_cli("doctor", "--fail-under", "1", cwd=project).returncode == 0
    failed = samerun_cli("doctor", "--fail-under", "2", cwd=project)
    assert failed.returncode == 1
    assert "level 1 is below 2" in failed.stderr
    assert samerun_cli("doctor", "--fail-on", "ORD", cwd=project).returncode == 0
    assert samerun_cli("doctor", "--fail-on", "RNG001", cwd=project).returncode == 1
    ignored = samerun_cli("doctor", "--ignore", "RNG", "--fail-on", "ALL", cwd=project)
    assert ignored.returncode == 0


def test_sarif_to_a_file_and_to_stdout(project: Path, samerun_cli: CliRunner) -> None:
    (project / "noise.py").write_text(UNSEEDED)
    done = samerun_cli("doctor", "--sarif", "out.sarif", cwd=project)
    assert done.returncode == 0
    assert json.loads((project / "out.sarif").read_text())["runs"][0]["results"]
    printed = samerun_cli("doctor", "--sarif", "-", cwd=project)
    assert json.loads(printed.stdout)["version"] == "2.1.0"


def test_bad_input_is_one_clear_line(project: Path, samerun_cli: CliRunner) -> None:
    done = samerun_cli("doctor", "--select", "NOPE", cwd=project)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: no rule id starts with 'NOPE'; `samerun doctor --rules` lists them"
    ]
    missing = samerun_cli("doctor", "no/such/dir", cwd=project)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_rules_are_listed_and_explained(samerun_cli: CliRunner) -> None:
    listed = samerun_cli("doctor", "--rules")
    assert "RNG001" in listed.stdout
    assert "ORD002" in listed.stdout
    explained = samerun_cli("doctor", "--explain", "torch001", "--json")
    [doc] = json.loads(explained.stdout)
    assert doc["id"] == "TORCH001"
    assert "generator" in doc["fix"]
