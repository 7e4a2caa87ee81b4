"""``samerun doctor`` end to end: report, JSON, SARIF, exit codes, rule docs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli

UNSEEDED = "import numpy as np\nx = np.random.rand(3)\n"


def test_the_report_shows_findings_level_and_next_steps(project: Path, cli: Cli) -> None:
    (project / "noise.py").write_text(UNSEEDED)
    done = cli("doctor", cwd=project)
    assert done.exit_code == 0, done.stderr
    assert "noise.py:2:5 RNG001" in done.stdout
    assert "level 1 of 4" in done.stdout
    assert "next steps to level 2" in done.stdout


def test_json_and_gates(project: Path, cli: Cli) -> None:
    (project / "noise.py").write_text(UNSEEDED)
    done = cli("doctor", "--json", str(project))
    report = json.loads(done.stdout)
    assert report["level"] == 1
    assert [f["rule"] for f in report["findings"]] == ["RNG001"]
    assert cli("doctor", "--fail-under", "1", cwd=project).exit_code == 0
    failed = cli("doctor", "--fail-under", "2", cwd=project)
    assert failed.exit_code == 1
    assert "level 1 is below 2" in failed.stderr
    assert cli("doctor", "--fail-on", "ORD", cwd=project).exit_code == 0
    assert cli("doctor", "--fail-on", "RNG001", cwd=project).exit_code == 1
    ignored = cli("doctor", "--ignore", "RNG", "--fail-on", "ALL", cwd=project)
    assert ignored.exit_code == 0


def test_sarif_to_a_file_and_to_stdout(project: Path, cli: Cli) -> None:
    (project / "noise.py").write_text(UNSEEDED)
    done = cli("doctor", "--sarif", "out.sarif", cwd=project)
    assert done.exit_code == 0
    assert json.loads((project / "out.sarif").read_text())["runs"][0]["results"]
    printed = cli("doctor", "--sarif", "-", cwd=project)
    assert json.loads(printed.stdout)["version"] == "2.1.0"


def test_bad_input_is_one_clear_line(project: Path, cli: Cli) -> None:
    done = cli("doctor", "--select", "NOPE", cwd=project)
    assert done.exit_code == 2
    assert done.stderr.strip().splitlines() == [
        "error: no rule id starts with 'NOPE'; `samerun doctor --rules` lists them"
    ]
    missing = cli("doctor", "no/such/dir", cwd=project)
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


def test_rules_are_listed_and_explained(cli: Cli) -> None:
    listed = cli("doctor", "--rules")
    assert "RNG001" in listed.stdout
    assert "ORD002" in listed.stdout
    explained = cli("doctor", "--explain", "torch001", "--json")
    [doc] = json.loads(explained.stdout)
    assert doc["id"] == "TORCH001"
    assert "generator" in doc["fix"]
