"""The CI templates: they parse, name only real samerun commands and flags, and their shell
steps run for real in a project (no CI service is reachable here, so bash runs them)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from samerun.cli.app import app
from samerun.integrations.ci import SARIF_FILE, SERVICES, STEPS, Service, render
from tests.conftest import Cli

#: Needs a package index, which is not reachable here; the test's interpreter has samerun.
INSTALL_STEP = "Install the project"


def github_shell_steps(text: str) -> list[tuple[str, str]]:
    steps = yaml.safe_load(text)["jobs"]["reproducibility"]["steps"]
    return [(step["name"], step["run"]) for step in steps if "run" in step]


def gitlab_scripts(text: str) -> list[str]:
    scripts: list[str] = yaml.safe_load(text)["reproducibility"]["script"]
    return scripts


def shell_scripts(service: Service) -> list[str]:
    text = render(service, "3.11")
    if service == "github":
        return [script for _, script in github_shell_steps(text)]
    return gitlab_scripts(text)


def samerun_calls(script: str) -> list[list[str]]:
    """Every ``samerun ...`` command line of a shell script, as its words."""
    calls = []
    for line in script.splitlines():
        for part in re.split(r"&&|\|\||;", line):
            words = shlex.split(part.strip())
            if words and words[0] == "samerun":
                calls.append(words[1:])
    return calls


def command_of(words: list[str]) -> tuple[click.Command, list[str]]:
    """The Click command ``samerun WORDS`` runs, and the words left for it."""
    command: click.Command = app
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command, words = command.commands[words[0]], words[1:]
    return command, words


def test_the_github_workflow_parses_and_uploads_the_sarif() -> None:
    workflow: dict[Any, Any] = yaml.safe_load(render("github", "3.12"))
    assert workflow["name"] == "reproducibility"
    assert set(workflow[True]) == {"push", "pull_request", "workflow_dispatch"}  # YAML 1.1: on
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["reproducibility"]["steps"]
    uses = [step["uses"] for step in steps if "uses" in step]
    assert uses == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "github/codeql-action/upload-sarif@v3",
    ]
    assert steps[1]["with"]["python-version"] == "3.12"
    upload = steps[[s.get("uses") for s in steps].index(uses[2])]
    assert upload["with"]["sarif_file"] == SARIF_FILE
    assert upload["if"] == "always()"


def test_the_gitlab_job_parses_and_keeps_the_sarif() -> None:
    job = yaml.safe_load(render("gitlab", "3.12"))["reproducibility"]
    assert job["image"] == "python:3.12"
    assert job["artifacts"]["paths"] == [SARIF_FILE]
    assert job["artifacts"]["when"] == "always"


@pytest.mark.parametrize("service", SERVICES)
def test_both_services_run_the_same_steps(service: Service) -> None:
    assert shell_scripts(service) == [step.script for step in STEPS]


@pytest.mark.parametrize("service", SERVICES)
def test_only_real_samerun_commands_and_flags(service: Service) -> None:
    calls = [call for script in shell_scripts(service) for call in samerun_calls(script)]
    assert [command_of(call)[0].name for call in calls] == [
        "doctor",
        "login",
        "pull",
        "pull",
        "verify",
    ]
    for call in calls:
        command, words = command_of(call)
        assert not isinstance(command, click.Group), call
        known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
        for word in words:
            if word.startswith("-"):
                assert word.split("=")[0] in known, f"samerun {' '.join(call)}: {word}"


def run_steps(root: Path) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
    """The workflow's shell steps in order, as GitHub runs them (``bash -e``), until one fails."""
    done = []
    for name, script in github_shell_steps(render("github", "3.11")):
        if name == INSTALL_STEP:
            continue
        step = subprocess.run(
            ["bash", "-e", "-c", script], cwd=root, capture_output=True, text=True, check=False
        )
        done.append((name, step))
        if step.returncode != 0:
            break
    return done


def test_the_steps_pass_when_the_latest_run_reproduces(
    project: Path, cli: Cli, tmp_path: Path
) -> None:
    (project / "score.py").write_text("open('score.txt', 'w').write('0.93')\n")
    assert cli("record", "-o", "score.txt", "--", sys.executable, "score.py").exit_code == 0
    assert cli("remote", "add", "store", str(tmp_path / "remote")).exit_code == 0
    steps = run_steps(project)
    assert [name for name, _ in steps] == [
        "Find nondeterminism hazards",
        "Pull the latest recorded run",
        "Verify that it reproduces (fails on diverged)",
    ]
    assert all(step.returncode == 0 for _, step in steps), steps[-1][1].stderr
    assert "identical" in steps[-1][1].stdout
    assert json.loads((project / SARIF_FILE).read_text())["version"] == "2.1.0"


def test_the_verify_step_fails_the_job_on_diverged(project: Path, cli: Cli) -> None:
    (project / "score.py").write_text(
        "import os\nopen('score.txt', 'w').write(os.urandom(8).hex())\n"
    )
    assert cli("record", "-o", "score.txt", "--", sys.executable, "score.py").exit_code == 0
    name, verify = run_steps(project)[-1]
    assert name == "Verify that it reproduces (fails on diverged)"
    assert verify.returncode == 1
    assert "diverged" in verify.stdout
