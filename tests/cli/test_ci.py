"""``samerun ci init``: the CI file written, refused over an existing one, counted by doctor."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_app import assert_one_clear_line
from tests.conftest import Cli


def test_init_writes_the_workflow_that_doctor_counts_as_ci_evidence(
    project: Path, cli: Cli
) -> None:
    done = cli("ci", "init", "--github", "--python", "3.12")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("wrote .github/workflows/reproducibility.yml")
    workflow = (project / ".github/workflows/reproducibility.yml").read_text()
    assert 'python-version: "3.12"' in workflow
    report = json.loads(cli("doctor", "--json").stdout)
    ci = next(e for e in report["evidence"] if e["check"] == "ci")
    assert ci["holds"] is True
    assert ci["detail"] == ".github/workflows/reproducibility.yml runs samerun verify"


def test_an_existing_ci_file_is_refused_without_force(project: Path, cli: Cli) -> None:
    (project / ".gitlab-ci.yml").write_text("test:\n  script: [pytest]\n")
    done = cli("ci", "init", "--gitlab")
    assert_one_clear_line(done, ".gitlab-ci.yml already exists", "--force")
    assert (project / ".gitlab-ci.yml").read_text() == "test:\n  script: [pytest]\n"
    assert cli("ci", "init", "--gitlab", "--force").exit_code == 0
    assert "samerun verify last" in (project / ".gitlab-ci.yml").read_text()


def test_a_service_must_be_named(project: Path, cli: Cli) -> None:
    assert_one_clear_line(cli("ci", "init"), "--github or --gitlab")
    assert not (project / ".github").exists()
