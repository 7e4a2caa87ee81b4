"""``samerun ci init``: a CI job that checks reproducibility (:mod:`samerun.integrations.ci`)."""

from __future__ import annotations

import sys

import click

from samerun.cli import render


@click.group()
def ci() -> None:
    """Reproducibility checked in CI: doctor, then verify the latest recorded run.

    \b
    Example:
      samerun ci init --github
    """


@ci.command()
@click.option(
    "--github", "service", flag_value="github", help="Write .github/workflows/reproducibility.yml."
)
@click.option("--gitlab", "service", flag_value="gitlab", help="Write a .gitlab-ci.yml job.")
@click.option(
    "--python",
    default=f"{sys.version_info.major}.{sys.version_info.minor}",
    show_default=True,
    help="The Python version the job runs on.",
)
@click.option("--force", is_flag=True, help="Replace the CI file if it exists.")
def init(service: str | None, python: str, force: bool) -> None:
    """Write a CI job that installs the project, runs `samerun doctor --sarif` (uploaded to
    code scanning on GitHub), pulls the latest recorded run from the team server
    (SAMERUN_SERVER_URL, SAMERUN_PROJECT, SAMERUN_TOKEN) and the datasets from the data remote,
    and runs `samerun verify`, which fails the job on diverged.

    \b
    Example:
      samerun ci init --github
      samerun ci init --gitlab --python 3.12
    """
    from samerun._exceptions import UsageError
    from samerun.integrations.ci import SERVER_SETTINGS
    from samerun.integrations.ci import init as write
    from samerun.store.project import find_root

    if service is None:
        raise UsageError("name the CI service: samerun ci init --github or --gitlab")
    root = find_root()
    written = write(root, "github" if service == "github" else "gitlab", python, force=force)
    out = render.console()
    out.print(f"wrote {written.relative_to(root)}", highlight=False)
    out.print(
        f"[dim]to pull runs from a team server, set {', '.join(SERVER_SETTINGS[:2])} "
        f"(variables) and {SERVER_SETTINGS[2]} (a secret)[/]",
        highlight=False,
    )
