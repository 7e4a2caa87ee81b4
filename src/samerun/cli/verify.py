"""``samerun verify`` and ``samerun diff``: both render the one comparison engine."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

import click

from samerun.cli import render

if TYPE_CHECKING:
    from collections.abc import Callable

    from samerun.store.project import Store
    from samerun.verify.compare import Comparison, LayerDiff, OutputDiff
    from samerun.verify.replay import Verification

VERDICT_STYLE = {
    "identical": "bold green",
    "equivalent": "bold green",
    "diverged": "bold red",
    "not-replayable": "bold yellow",
}
NEXT_STEP = (
    "next: run `samerun doctor` for nondeterminism hazards, use samerun.seed_everything(), and "
    "trace the run (samerun.trace) to find the first step where the runs part"
)


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        text = shlex.join(value)  # command-line arguments, as a shell would take them
    else:
        text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "…"


def layer_table(layer: LayerDiff, show_all: bool) -> None:
    from rich.table import Table

    # Informational rows (a commit id, the branch a replay's detached worktree lacks, how the
    # seed was given) are never causes: only --all shows them.
    changes = [c for c in layer.changes if show_all or (c.kind != "equal" and not c.informational)]
    if not changes:
        return
    title = layer.layer.replace("_", " ")
    if not layer.differs and any(c.kind != "equal" for c in changes):
        title += " [dim](informational)[/]"
    table = Table(title=title, title_justify="left", title_style="bold", box=None, pad_edge=False)
    table.add_column("", style="dim", no_wrap=True)
    table.add_column("A", overflow="fold")
    table.add_column("B", overflow="fold")
    for change in changes:
        marker = {"added": "[green]+[/] ", "removed": "[red]-[/] ", "changed": "[yellow]~[/] "}
        table.add_row(
            marker.get(change.kind, "  ") + change.key, _value(change.before), _value(change.after)
        )
    render.console().print(table)
    render.console().print()


def _outputs_table(outputs: list[OutputDiff], show_all: bool) -> None:
    from rich.table import Table

    rows = [o for o in outputs if show_all or o.status != "identical"]
    if not rows:
        render.console().print("[green]outputs: all identical[/]")
        return
    table = Table(
        title="outputs", title_justify="left", title_style="bold", box=None, pad_edge=False
    )
    for column in ("output", "status", "max abs", "max rel", "detail"):
        table.add_column(column, overflow="fold")
    style = {"identical": "green", "equivalent": "green", "diverged": "red"}
    for o in rows:
        graded = o.status == "equivalent" or (o.status == "diverged" and o.max_abs > 0)
        table.add_row(
            f"{o.kind} {o.name}",
            f"[{style.get(o.status, 'yellow')}]{o.status}[/]",
            f"{o.max_abs:.3g}" if graded else "",
            f"{o.max_rel:.3g}" if graded else "",
            o.detail,
        )
    render.console().print(table)


def show_comparison(comparison: Comparison, show_all: bool) -> None:
    for layer in comparison.inputs:
        layer_table(layer, show_all)
    layer_table(comparison.host, show_all)
    _outputs_table(comparison.outputs, show_all)


def show_verification(result: Verification) -> None:
    out = render.console()
    style = VERDICT_STYLE[result.verdict]
    replay = f"  (replay {result.replay.id[:8]})" if result.replay else ""
    partial = (
        f" through step {result.partial_until} (partial)"
        if result.partial_until is not None
        else ""
    )
    out.print(
        f"run {result.run_id[:8]}: [{style}]{result.verdict}[/]{partial}{replay}", highlight=False
    )
    if result.divergence is not None:
        out.print(
            f"first divergence: step {result.divergence.step}, {result.divergence.describe()}",
            highlight=False,
        )
    for line in result.missing:
        out.print(f"  [yellow]missing:[/] {line}", highlight=False)
    if result.drift:
        out.print("[bold]environment drift[/] (a possible cause):")
        for change in result.drift[:20]:
            before, after = _value(change.before), _value(change.after)
            out.print(f"  {change.key}: {before} → {after}", highlight=False)
    comparison = result.comparison
    if comparison is not None and result.partial_until is None:
        _outputs_table(comparison.outputs, show_all=False)
        largest = comparison.largest_deviation()
        if result.verdict == "equivalent" and largest is not None:
            out.print(
                f"largest deviation: {largest.kind} {largest.name}, max abs {largest.max_abs:.3g}, "
                f"max rel {largest.max_rel:.3g} (rtol {comparison.tolerance.rtol:g}, "
                f"atol {comparison.tolerance.atol:g})",
                highlight=False,
            )
        if result.verdict == "diverged":
            out.print("[bold]causes:[/]")
            for cause in result.causes:
                out.print(f"  - {cause}", highlight=False)
            for layer in comparison.inputs:
                layer_table(layer, show_all=False)
            if comparison.causes == ["inputs identical: nondeterminism inside the run"]:
                differing = [o.name for o in comparison.outputs if o.status == "diverged"]
                out.print(f"  outputs that differ: {', '.join(differing)}", highlight=False)
                out.print(f"  [dim]{NEXT_STEP}[/]", highlight=False)
    for note in result.notes:
        out.print(f"[dim]note: {note}[/]", highlight=False)
    if result.workspace:
        out.print(f"workspace kept at {result.workspace}", highlight=False)


def _pull_from(store: Store, name: str, ref: str, progress: Callable[[str], None]) -> str:
    """Pull run ``ref`` from team-server remote ``name`` into ``store``; its id."""
    from samerun.data.remote import server_url
    from samerun.sync import open_server, pull

    remote, project = open_server(server_url(store.project, name))
    try:
        pulled = pull(store, remote, project, ref)
    finally:
        remote.close()
    progress(f"pulled {pulled.run_id[:8]} from {name} ({pulled.objects_fetched} objects fetched)")
    return pulled.run_id


@click.command()
@click.argument("run")
@click.option("--rtol", default=1e-7, show_default=True, help="Relative tolerance for numbers.")
@click.option("--atol", default=0.0, show_default=True, help="Absolute tolerance for numbers.")
@click.option("--keep", is_flag=True, help="Keep the replay workspace and print its path.")
@click.option(
    "--until-step",
    type=click.IntRange(min=0),
    metavar="N",
    help="Compare the replay's trace live; stop at the first divergence or after step N.",
)
@click.option(
    "--env",
    "env",
    metavar="restore|PATH",
    help="Replay inside a virtual environment: `restore` rebuilds the recorded one "
    "(in .samerun/envs/, reused next time), a PATH is one you have.",
)
@click.option(
    "--force", is_flag=True, help="With --env restore: restore on another platform than the run's."
)
@click.option(
    "--from",
    "from_remote",
    metavar="REMOTE",
    help="Pull RUN from a team server's project first (a remote added with "
    "`samerun remote add`), with the objects it needs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verification as JSON.")
def verify(
    run: str,
    rtol: float,
    atol: float,
    keep: bool,
    until_step: int | None,
    env: str | None,
    force: bool,
    from_remote: str | None,
    as_json: bool,
) -> int:
    """Replay RUN in an isolated workspace and say whether its result came back.

    Verdicts: identical (every output bit for bit), equivalent (within tolerance), diverged
    (with the causes), not-replayable (with what is missing). Exits 0, 0, 1 or 2. With
    --until-step N a run that traced its steps (samerun.trace) is checked up to step N only:
    seconds instead of the whole training. With --env restore the replay runs in a fresh
    virtual environment with exactly the recorded packages, so a package upgraded here since
    cannot be the cause. With --from team a teammate's run is pulled from the team server
    first: does their result reproduce on this machine?

    \b
    Example:
      samerun verify last --rtol 1e-6
      samerun verify last --until-step 100
      samerun verify last --env restore
      samerun verify 3f2a --from team
    """
    from pathlib import Path

    from samerun.cli.store import open_project_store
    from samerun.verify.comparators import Tolerance
    from samerun.verify.replay import verify as replay

    if rtol < 0 or atol < 0:
        raise click.BadParameter("tolerances cannot be negative", param_hint="--rtol/--atol")
    store = open_project_store(create=from_remote is not None)
    err = render.error_console()

    def progress(message: str) -> None:
        err.print(f"[dim]samerun: {message}[/]", highlight=False, soft_wrap=True)

    try:
        if from_remote is not None:
            run = _pull_from(store, from_remote, run, progress)
        target = store.meta.resolve(run)
        environment = None if env is None else Path(env)
        if env == "restore":
            from samerun.env.restore import default_path, restore
            from samerun.manifest import load_manifest

            original = target.replay_of or target.id  # a replay is verified as its original
            restored = restore(
                load_manifest(store, original),
                default_path(store, original),
                force=force,
                on_event=progress,
            )
            for warning in restored.warnings:
                err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
            environment = restored.path
        result = replay(
            store,
            target.id,
            tolerance=Tolerance(rtol=rtol, atol=atol),
            keep=keep,
            until_step=until_step,
            environment=environment,
            on_event=progress,
        )
    finally:
        store.close()
    if as_json:
        render.print_json(result.to_dict())
    else:
        show_verification(result)
    return result.exit_code


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option("--all", "show_all", is_flag=True, help="Show what is equal too.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff(run_a: str, run_b: str, show_all: bool, as_json: bool) -> None:
    """Compare two runs layer by layer: code, params, data, environment, randomness, outputs.

    Only what differs is shown unless --all is given.

    \b
    Example:
      samerun diff 1a2b3c last
    """
    from samerun.api import RunReader
    from samerun.cli.store import open_project_store

    store = open_project_store()
    try:
        reader = RunReader(store)
        a, b = reader.get_run(run_a), reader.get_run(run_b)
        comparison = reader.compare(a.id, b.id)
    finally:
        store.close()
    if as_json:
        render.print_json(comparison.to_dict())
        return
    render.console().print(
        f"[bold]A[/] {a.id[:8]} {a.name or ''}   [bold]B[/] {b.id[:8]} {b.name or ''}"
    )
    show_comparison(comparison, show_all)
    causes = comparison.input_causes
    render.console().print(
        f"input layers that differ: {', '.join(causes)}" if causes else "inputs: identical",
        highlight=False,
    )
