"""CI templates that check reproducibility on every push: ``samerun ci init``.

One list of shell steps is rendered for each service: install the project, run ``samerun
doctor`` (its SARIF uploaded to GitHub's code scanning), pull the latest recorded run from the
team server when one is configured (and the datasets from the data remote), and ``samerun
verify`` it, which exits non-zero on ``diverged`` and so fails the job. The step that verifies
is also what ``samerun doctor`` counts as level-4 evidence (a CI file that runs samerun verify).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from samerun._atomic import atomic_write
from samerun._exceptions import UsageError

Service = Literal["github", "gitlab"]
SERVICES: tuple[Service, ...] = ("github", "gitlab")
TARGETS: dict[Service, str] = {
    "github": ".github/workflows/reproducibility.yml",
    "gitlab": ".gitlab-ci.yml",
}
SARIF_FILE = "samerun.sarif"


@dataclass(frozen=True)
class Step:
    """One shell step of the job: what it is for, and the commands it runs."""

    name: str
    script: str
    writes_sarif: bool = False


STEPS = (
    Step(
        "Install the project",
        "python -m pip install --upgrade pip\npython -m pip install -e . samerun\n",
    ),
    Step(
        "Find nondeterminism hazards", f"samerun doctor --sarif {SARIF_FILE}\n", writes_sarif=True
    ),
    Step(
        "Pull the latest recorded run",
        'if [ -n "${SAMERUN_SERVER_URL:-}" ]; then\n'
        '  samerun login "$SAMERUN_SERVER_URL" --token "$SAMERUN_TOKEN"\n'
        '  samerun pull last --project "$SAMERUN_PROJECT" --url "$SAMERUN_SERVER_URL"\n'
        "fi\n"
        "if [ -s .samerun/remotes.yaml ]; then\n"
        "  samerun data pull\n"
        "fi\n",
    ),
    Step("Verify that it reproduces (fails on diverged)", "samerun verify last\n"),
)

#: Where the team server is: repository variables and a secret, read by the pull step.
SERVER_SETTINGS = ("SAMERUN_SERVER_URL", "SAMERUN_PROJECT", "SAMERUN_TOKEN")


def _indented(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def github_workflow(python: str) -> str:
    """``.github/workflows/reproducibility.yml``."""
    steps = []
    for step in STEPS:
        steps.append(f"      - name: {step.name}\n        run: |\n{_indented(step.script, 10)}")
        if step.writes_sarif:
            steps.append(
                "      - name: Upload the findings to code scanning\n"
                "        if: always()\n"
                "        uses: github/codeql-action/upload-sarif@v3\n"
                "        with:\n"
                f"          sarif_file: {SARIF_FILE}\n"
                "          category: samerun-doctor\n"
            )
    return (
        "# Reproducibility checks, written by `samerun ci init --github`.\n"
        "name: reproducibility\n"
        "on:\n  push:\n  pull_request:\n  workflow_dispatch:\n"
        "permissions:\n  contents: read\n  security-events: write\n"
        "jobs:\n"
        "  reproducibility:\n"
        "    runs-on: ubuntu-latest\n"
        "    env:\n"
        "      SAMERUN_SERVER_URL: ${{ vars.SAMERUN_SERVER_URL }}\n"
        "      SAMERUN_PROJECT: ${{ vars.SAMERUN_PROJECT }}\n"
        "      SAMERUN_TOKEN: ${{ secrets.SAMERUN_TOKEN }}\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "        with:\n"
        "          fetch-depth: 0\n"
        "      - uses: actions/setup-python@v5\n"
        "        with:\n"
        f'          python-version: "{python}"\n' + "".join(steps)
    )


def gitlab_job(python: str) -> str:
    """``.gitlab-ci.yml`` with one job; the SARIF file is kept as an artifact."""
    script = "".join(f"    # {step.name}\n    - |\n{_indented(step.script, 6)}" for step in STEPS)
    return (
        "# Reproducibility checks, written by `samerun ci init --gitlab`.\n"
        "# Set SAMERUN_SERVER_URL, SAMERUN_PROJECT and SAMERUN_TOKEN (masked) as CI/CD variables.\n"
        "reproducibility:\n"
        f'  image: "python:{python}"\n'
        "  variables:\n"
        '    GIT_DEPTH: "0"\n'
        "  script:\n"
        f"{script}"
        "  artifacts:\n"
        "    when: always\n"
        "    paths:\n"
        f"      - {SARIF_FILE}\n"
    )


RENDERERS = {"github": github_workflow, "gitlab": gitlab_job}


def render(service: Service, python: str) -> str:
    """The CI file for ``service``, its jobs on Python ``python`` (``3.11``)."""
    return RENDERERS[service](python)


def init(root: Path, service: Service, python: str, *, force: bool = False) -> Path:
    """Write ``service``'s CI file under ``root``; an existing one is replaced only with
    ``force``. The path written."""
    target = root / TARGETS[service]
    if target.exists() and not force:
        raise UsageError(f"{TARGETS[service]} already exists; use --force to replace it")
    text = render(service, python)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text.encode())
    return target
