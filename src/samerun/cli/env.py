"""``samerun env …``: show, export, restore, check and compare a run's recorded environment."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from samerun.cli import render

if TYPE_CHECKING:
    from samerun.capture.environment import Environment
    from samerun.manifest import Manifest
    from samerun.verify.compare import Change


def _manifest(ref: str) -> Manifest:
    from samerun.api import RunReader
    from samerun.cli.store import open_project_store

    store = open_project_store()
    try:
        return RunReader(store).get_run(ref).manifest
    finally:
        store.close()


def _warn(lines: list[str]) -> None:
    err = render.error_console()
    for line in lines:
        err.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


def _changes_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [asdict(c) for c in changes]


@click.group()
def env() -> None:
    """Show, export, rebuild and check the environment a run was recorded in.

    \b
    Example:
      samerun env show last
      samerun env export last --format requirements -o requirements.lock
    """


@env.command()
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print the environment record as JSON.")
def show(run: str, as_json: bool) -> None:
    """Show RUN's Python, platform, index settings, and every package with where it came from.

    \b
    Example:
      samerun env show last
    """
    manifest = _manifest(run)
    environment = manifest.inputs.environment
    if as_json:
        render.print_json({"run": manifest.id, **environment.to_dict()})
        return
    _show_environment(manifest.id, environment)


def _show_environment(run_id: str, environment: Environment) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = render.console()
    unknown = "[dim]unknown (recorded before samerun captured it)[/]"
    out.print(f"[bold]environment of run {run_id[:8]}[/]", highlight=False)
    facts = [
        ("python", f"{environment.python} ({environment.implementation})"),
        ("build", escape(environment.build) if environment.build else unknown),
        ("platform", f"{environment.system} {environment.machine}"),
        ("platform tag", environment.platform_tag or unknown),
        ("libc", environment.libc or unknown),
        ("interpreter", escape(environment.executable)),
    ]
    index = environment.index
    if index is None:
        facts.append(("index", unknown))
    else:
        facts.append(("index", escape(index.index_url or "PyPI (the default)")))
        facts += [("extra index", escape(url)) for url in index.extra_index_urls]
        facts += [("find links", escape(link)) for link in index.find_links]
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in facts:
        table.add_row(key, value)
    out.print(table)
    packages = Table(title=f"{len(environment.packages)} packages", title_justify="left")
    packages.add_column("package", no_wrap=True)
    packages.add_column("version", no_wrap=True)
    packages.add_column("origin", overflow="fold")
    packages.add_column("installer", style="dim")
    origins = environment.origins
    for name, version in environment.packages.items():
        origin = None if origins is None else origins.get(name)
        installer = origin.installer if origin is not None else None
        packages.add_row(
            name,
            version,
            escape("unknown" if origin is None else origin.text),
            "-" if installer is None else installer,
        )
    out.print(packages)
    if environment.conda is not None:
        conda = Table(title=f"{len(environment.conda)} conda packages", title_justify="left")
        for column in ("package", "version", "build", "channel"):
            conda.add_column(column, overflow="fold")
        for package in environment.conda:
            conda.add_row(package.name, package.version, package.build, escape(package.channel))
        out.print(conda)


@env.command()
@click.argument("run")
@click.option(
    "--format",
    "fmt",
    default="requirements",
    show_default=True,
    help="requirements (pip, == pins), pylock (PEP 751), conda (environment.yml), dockerfile.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
@click.option(
    "--hashes", is_flag=True, help="Add --hash lines from the package index (requirements)."
)
def export(run: str, fmt: str, output: Path | None, hashes: bool) -> None:
    """Export RUN's environment as a lock file, a conda file or a Dockerfile.

    Every distribution is pinned to its recorded version; VCS installs to their commit. The
    project's own editable install is left out (a replay brings the code); what cannot be
    fetched again is named in a warning. No Docker engine is needed to write the Dockerfile.

    \b
    Example:
      samerun env export last --format requirements -o requirements.lock
      samerun env export last --format dockerfile -o Dockerfile
    """
    from samerun._atomic import atomic_write
    from samerun.api import RunReader
    from samerun.cli.store import open_project_store
    from samerun.env.export import export as export_environment
    from samerun.env.export import export_format

    export_as = export_format(fmt)
    store = open_project_store()
    try:
        manifest = RunReader(store).get_run(run).manifest
        patch_oid = manifest.inputs.code.patch
        patch = (
            store.objects.get_bytes(patch_oid)
            if export_as == "dockerfile" and patch_oid and store.objects.exists(patch_oid)
            else None
        )
    finally:
        store.close()
    exported = export_environment(manifest, export_as, hashes=hashes, patch=patch)
    _warn(exported.warnings)
    if output is None:
        sys.stdout.write(exported.text)
        return
    atomic_write(output, exported.text.encode(), durable=False)
    render.error_console().print(f"wrote {output} ({fmt})", highlight=False)


@env.command()
@click.argument("run")
@click.option(
    "--path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the environment [default: .samerun/envs/RUN].",
)
@click.option("--force", is_flag=True, help="Restore on a platform other than the recorded one.")
@click.option("--json", "as_json", is_flag=True, help="Print the restored environment as JSON.")
def restore(run: str, path: Path | None, force: bool, as_json: bool) -> None:
    """Build a fresh virtual environment with exactly RUN's recorded packages.

    The recorded Python must be on PATH. Packages come from the package index (pip's or uv's
    wheel cache is reused); your own environment is never touched. The result is checked
    against the record; a failed restore leaves nothing behind.

    \b
    Example:
      samerun env restore last --path .venvs/baseline
    """
    from samerun.api import RunReader
    from samerun.cli.store import open_project_store
    from samerun.env.restore import default_path
    from samerun.env.restore import restore as restore_environment

    store = open_project_store()
    try:
        manifest = RunReader(store).get_run(run).manifest
        target = path or default_path(store, manifest.id)
    finally:
        store.close()
    err = render.error_console()
    restored = restore_environment(
        manifest,
        target,
        force=force,
        on_event=lambda message: err.print(f"[dim]samerun: {message}[/]", highlight=False),
    )
    _warn(restored.warnings)
    if as_json:
        render.print_json({"run": manifest.id, **asdict(restored)})
        return
    how = "reused" if restored.reused else f"restored {restored.installed} packages into"
    render.console().print(
        f"{how} {restored.path} for run {manifest.id[:8]}; "
        f"activate with: source {restored.path}/bin/activate",
        highlight=False,
        soft_wrap=True,
    )


@env.command()
@click.argument("run")
@click.option(
    "--python",
    "interpreter",
    help="The interpreter to check [default: the `python` the run's command would use].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(run: str, interpreter: str | None, as_json: bool) -> int:
    """Check that the current interpreter matches RUN's recorded environment (for CI).

    Exits 0 when Python, platform and every package match, 1 with the differences otherwise.

    \b
    Example:
      samerun env check last || samerun env restore last
    """
    import os
    import shutil

    from samerun.env.check import check_interpreter
    from samerun.env.lock import lock_of
    from samerun.launcher import resolve_interpreter

    manifest = _manifest(run)
    if interpreter is None:
        argv = manifest.inputs.command.argv
        interpreter = resolve_interpreter(shutil.which(argv[0]) if argv else None, os.environ)
    ignore = [pin.name for pin in lock_of(manifest).project]
    changes = check_interpreter(manifest.inputs.environment, interpreter, ignore=ignore)
    if as_json:
        render.print_json(
            {
                "run": manifest.id,
                "interpreter": interpreter,
                "matches": not changes,
                "differences": _changes_json(changes),
            }
        )
    elif not changes:
        render.console().print(
            f"[green]{interpreter} matches the environment of run {manifest.id[:8]}[/]",
            highlight=False,
        )
    else:
        from samerun.cli.verify import layer_table
        from samerun.verify.compare import LayerDiff

        render.console().print(
            f"[red]{interpreter} differs from the environment of run {manifest.id[:8]}[/] "
            f"({len(changes)} differences; A is the record, B this interpreter)",
            highlight=False,
        )
        layer_table(LayerDiff("environment", changes), show_all=False)
    return 1 if changes else 0


@env.command(name="diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--all", "show_all", is_flag=True, help="Show the packages that are equal too.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff_command(run_a: str, run_b: str, show_all: bool, as_json: bool) -> None:
    """Compare two runs' environments: packages added, removed and changed, Python, platform.

    \b
    Example:
      samerun env diff 1a2b3c last
    """
    from samerun.cli.verify import layer_table
    from samerun.verify.compare import LayerDiff, environment_changes

    a, b = _manifest(run_a), _manifest(run_b)
    changes = environment_changes(a.inputs.environment, b.inputs.environment)
    if as_json:
        render.print_json(
            {
                "a": a.id,
                "b": b.id,
                "changes": _changes_json([c for c in changes if c.kind != "equal"]),
            }
        )
        return
    out = render.console()
    out.print(f"[bold]A[/] {a.id[:8]} {a.name or ''}   [bold]B[/] {b.id[:8]} {b.name or ''}")
    layer = LayerDiff("environment", changes)
    layer_table(layer, show_all)
    differing = [c for c in changes if c.kind != "equal"]
    counts = {
        kind: sum(c.kind == kind for c in differing) for kind in ("added", "removed", "changed")
    }
    out.print(
        "environments: identical"
        if not differing
        else f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed",
        highlight=False,
    )
