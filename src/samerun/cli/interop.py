"""``samerun import mlflow`` and ``samerun export mlflow``: runs in from MLflow and out to it."""

from __future__ import annotations

from collections import Counter

import click

from samerun.cli import render
from samerun.cli.store import open_project_store


def _print(text: str) -> None:
    render.console().print(text, highlight=False, soft_wrap=True)


@click.group(name="import")
def import_() -> None:
    """Bring runs recorded by another tool into this project's store.

    \b
    Example:
      samerun import mlflow --tracking-uri sqlite:///mlflow.db
    """


@import_.command(name="mlflow")
@click.option(
    "--tracking-uri",
    required=True,
    metavar="URI",
    help="MLflow's tracking store: sqlite:///FILE, a file-store directory, or http(s)://SERVER.",
)
@click.option("--experiment", metavar="NAME", help="Import this experiment only (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print what happened to each run as JSON.")
def import_mlflow(tracking_uri: str, experiment: str | None, as_json: bool) -> None:
    """Import MLflow runs as samerun runs: params, metric histories with steps and timestamps,
    tags, artifacts and the git commit MLflow recorded.

    MLflow never records the command line, the environment, the seeds or the data a run read:
    they are marked unknown, so the runs are listed, compared and shown, and `samerun verify`
    says they are not replayable, and why. Importing again creates nothing new.

    \b
    Example:
      samerun import mlflow --tracking-uri sqlite:///mlflow.db --experiment churn
      samerun runs
    """
    # start-up: MLflow's client takes seconds to import; only this command pays for it
    from samerun.integrations.mlflow import find_experiments, import_runs, open_tracking

    tracking = open_tracking(tracking_uri)
    experiments = find_experiments(tracking, experiment)  # bad input refused before a store is made
    store = open_project_store(create=True)
    try:
        done = import_runs(store, tracking, experiments)
    finally:
        store.close()
    if as_json:
        render.print_json([r.to_dict() for r in done])
        return
    for run in done:
        if run.outcome == "created":
            _print(
                f"imported MLflow run {run.mlflow_run[:8]} ({run.experiment}) as run "
                f"{(run.run_id or '')[:8]}: {run.metric_points:,} metric points, "
                f"{run.artifacts} artifacts"
            )
        elif run.outcome == "changed":
            _print(
                f"[yellow]MLflow run {run.mlflow_run[:8]} changed since it was imported; "
                "the run imported first is kept[/]"
            )
    counts = Counter(r.outcome for r in done)
    _print(
        f"{counts['created']} runs imported, {counts['unchanged']} already here, "
        f"{counts['changed']} changed in MLflow since, {counts['running']} still running, "
        f"{counts['from-samerun']} exported from this store (skipped)"
    )


class _RunOrTool(click.Group):
    """``samerun export RUN`` prints a run's manifest, as it always has; ``samerun export
    mlflow RUN...`` writes runs into MLflow. A run reference (an id, a prefix of one, or
    ``last``) is never the name of a tool, so the first word tells which is meant."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["manifest", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RunOrTool)
def export() -> None:
    """Print a run's manifest as canonical JSON (samerun export RUN), or write runs into another
    tool's store (samerun export mlflow RUN...).

    \b
    Example:
      samerun export last -o run.json
      samerun export mlflow last --tracking-uri sqlite:///mlflow.db
    """


@export.command(name="mlflow")
@click.argument("runs", nargs=-1, required=True)
@click.option(
    "--tracking-uri",
    required=True,
    metavar="URI",
    help="MLflow's tracking store (made if missing): sqlite:///FILE, a directory, or a server.",
)
@click.option(
    "--experiment",
    metavar="NAME",
    default="Default",
    show_default=True,
    help="The MLflow experiment to write into (made if missing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the MLflow run of each run as JSON.")
def export_mlflow(runs: tuple[str, ...], tracking_uri: str, experiment: str, as_json: bool) -> None:
    """Export RUNS (ids, prefixes or `last`) to MLflow: params, metrics with their steps, tags
    (commit, seed, verdict), artifacts and the datasets each run read.

    Each MLflow run carries the tag samerun.run_id: exporting again creates nothing new.

    \b
    Example:
      samerun export mlflow last 1a2b --tracking-uri sqlite:///mlflow.db --experiment churn
    """
    # start-up: MLflow's client takes seconds to import; only this command pays for it
    from samerun.integrations.mlflow import export_runs

    store = open_project_store()
    try:
        done = export_runs(store, list(runs), tracking_uri, experiment=experiment)
    finally:
        store.close()
    if as_json:
        render.print_json([r.to_dict() for r in done])
        return
    for run in done:
        verb = "exported" if run.created else "already in MLflow:"
        _print(f"{verb} run {run.run_id[:8]} → MLflow run {run.mlflow_run} ({run.experiment})")
