"""The ``samerun`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from samerun import __version__
from samerun._exceptions import UsageError
from samerun.cli import render
from samerun.cli.attest import attest
from samerun.cli.audit import audit
from samerun.cli.ci import ci
from samerun.cli.data import data, fsck, gc, remote
from samerun.cli.doctor import doctor
from samerun.cli.env import env
from samerun.cli.interop import export, import_
from samerun.cli.lineage import lineage
from samerun.cli.model import model
from samerun.cli.server import server
from samerun.cli.store import open_project_store
from samerun.cli.sync import login, pull, push, remote_for
from samerun.cli.trace import trace
from samerun.cli.ui import ui
from samerun.cli.verify import diff, verify

if TYPE_CHECKING:
    from samerun.store.project import Store
    from samerun.sync import Remote


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="samerun")
def app() -> None:
    """Record machine-learning runs and prove they reproduce.

    \b
    Example:
      samerun record --seed 42 --config config.yaml -- python train.py
      samerun runs
      samerun show last
    """


@app.command()
def init() -> None:
    """Create the project's store (.samerun/) at the project root.

    The store is also created on first use; its data is ignored by git.

    \b
    Example:
      samerun init
    """
    from samerun.store.project import Project, find_root

    project = Project(find_root())
    created = project.init()
    verb = "created" if created else "already had"
    render.console().print(f"{verb} a samerun store in {project.store_dir}", highlight=False)


@app.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--name", "-n", help="A name for the run.")
@click.option("--seed", "-s", help="The seed (0..4294967295); drawn and recorded when not given.")
@click.option("--config", "-c", "config", type=click.Path(), help="YAML or JSON file of params.")
@click.option(
    "--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Set a param (repeatable)."
)
@click.option(
    "--output",
    "-o",
    "outputs",
    multiple=True,
    metavar="PATH",
    help="A file or directory the run writes (repeatable).",
)
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="PATH",
    help="Data the run reads, hashed as it is (repeatable); dataset pointers are always recorded.",
)
@click.option(
    "--env",
    "env_vars",
    multiple=True,
    metavar="NAME",
    help="Also record this environment variable; globs allowed (repeatable).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    metavar="N",
    help="Pin OpenMP, MKL, OpenBLAS and torch to N threads (recorded with the run).",
)
@click.option(
    "--require-clean",
    is_flag=True,
    help="Refuse to start when tracked files are changed or untracked files exist.",
)
@click.option(
    "--push",
    "push_to",
    metavar="PROJECT",
    help="Push the run to this project of the team server (`samerun login`) when it ends.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(
    name: str | None,
    seed: str | None,
    config: str | None,
    params: tuple[str, ...],
    outputs: tuple[str, ...],
    inputs: tuple[str, ...],
    env_vars: tuple[str, ...],
    threads: int | None,
    require_clean: bool,
    push_to: str | None,
    as_json: bool,
    command: tuple[str, ...],
) -> int:
    """Run COMMAND and record its code, data, environment, randomness, params and outputs.

    The command gets SAMERUN_SEED and a pinned PYTHONHASHSEED; a Python script that calls
    samerun.log_metric() logs into this run. --threads N sets OMP_NUM_THREADS, MKL_NUM_THREADS,
    OPENBLAS_NUM_THREADS and the like, since multithreaded reductions change results. Exits
    with the command's exit status. Without --seed a seed is drawn (and recorded), unless the
    project's committed .samerun/config.yaml sets `seed: N`; `require_clean: true` there acts
    as --require-clean for everyone. With --push PROJECT the run is pushed to the team server
    when it ends; a push that fails leaves the run recorded here and exits 1.

    \b
    Example:
      samerun record --seed 42 --config config.yaml -p model.lr=0.05 \\
          --output model.pkl -- python train.py
    """
    from samerun.capture.params import parse_overrides
    from samerun.capture.randomness import check_seed
    from samerun.launcher import record as launch
    from samerun.recorder import RunRequest, prepare
    from samerun.store.project import Project, find_root

    root = find_root()
    settings = Project(root).settings  # .samerun/config.yaml: a team's default seed and rules
    request = RunRequest(
        argv=list(command),
        interpreter=None,
        name=name,
        params=parse_overrides(params),
        config=config,
        seed=settings.seed if seed is None else check_seed(seed),
        env_vars=env_vars,
        outputs=outputs,
        inputs=inputs,
        require_clean=require_clean or settings.require_clean,
    )
    prepared = prepare(root, request)  # bad input fails here, before a store is created
    # Not signed in to a server: said now, before the command runs, not after an hour of it.
    remote = None if push_to is None else remote_for(None)
    store = open_project_store(create=True)
    err = render.error_console()

    def started(manifest):  # type: ignore[no-untyped-def]
        for warning in manifest.warnings:
            err.print(f"[yellow]samerun: {warning}[/]", highlight=False)
        rnd = manifest.inputs.randomness
        how = (
            "drawn; pass --seed to repeat it"
            if rnd.seed_source == "drawn"
            else "from .samerun/config.yaml"
            if seed is None and rnd.seed == settings.seed
            else rnd.seed_source
        )
        err.print(
            f"[dim]samerun: recording run {manifest.id[:8]} (seed {rnd.seed}, {how}; "
            f"PYTHONHASHSEED {rnd.python_hash_seed})[/]",
            highlight=False,
            soft_wrap=True,
        )

    if threads is not None:
        import os

        from samerun.seeding import thread_environment

        os.environ.update(thread_environment(threads))  # the child inherits them; they are recorded
    pushed = None
    try:
        outcome = launch(store, request, prepared, on_start=started, stdout_to_stderr=as_json)
        if remote is not None and push_to is not None:
            pushed = _push_recorded(store, remote, push_to, outcome.manifest.id)
    finally:
        if remote is not None:
            remote.close()
        store.close()
    final = outcome.manifest
    if as_json:
        render.print_json(final.to_dict())
    else:
        line = f"samerun: run {final.id[:8]} {render.status(final.status)}"
        if final.error:
            line += f": {final.error}"
        metrics = "  ".join(
            f"{k}={render.number(m.last)}" for k, m in list(final.outputs.metrics.items())[:3]
        )
        err.print(line + (f"  {metrics}" if metrics else ""), highlight=False)
    if pushed is False:  # recorded, but not shared: a CI job must notice
        return outcome.exit_code or 1
    return outcome.exit_code


def _push_recorded(store: Store, remote: Remote, project: str, run_id: str) -> bool:
    """Push the run just recorded; a failure is one line saying the run is safe here."""
    from samerun._exceptions import SamerunError
    from samerun.sync import push as push_runs

    err = render.error_console()
    try:
        push_runs(store, remote, project, [run_id])
    except SamerunError as failure:
        err.print(
            f"samerun: run {run_id[:8]} is recorded here, but pushing it to {project} failed: "
            f"{failure}; push it later with `samerun push {run_id[:8]} --project {project}`",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        return False
    err.print(f"samerun: pushed run {run_id[:8]} to {project}", highlight=False)
    return True


@app.command()
@click.option(
    "--filter",
    "-f",
    "filter_",
    metavar="EXPR",
    help='Only runs matching EXPR, e.g. "metrics.accuracy > 0.9 and params.lr < 0.1".',
)
@click.option(
    "--sort",
    "-s",
    "order_by",
    multiple=True,
    metavar="FIELD [desc]",
    help='Order by a field, e.g. "metrics.accuracy desc" (repeatable; newest first by default).',
)
@click.option("--limit", "-l", default=20, show_default=True, help="How many runs a page shows.")
@click.option(
    "--page", "page_token", metavar="TOKEN", help="The page token a previous page printed."
)
@click.option("--all", "show_all", is_flag=True, help="Show every matching run.")
@click.option("--replays", is_flag=True, help="List the replays `samerun verify` recorded too.")
@click.option("--wide", is_flag=True, help="Show every column, even past the terminal's width.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs(
    filter_: str | None,
    order_by: tuple[str, ...],
    limit: int,
    page_token: str | None,
    show_all: bool,
    replays: bool,
    wide: bool,
    as_json: bool,
) -> None:
    """List runs, newest first: id, name, status, verdict, start, duration, seed, commit, metrics.

    Replays recorded by `samerun verify` are left out (their verdicts are in the verified
    column); --replays lists them. On a narrow terminal, columns are left out in this order,
    and the listing says which: duration, started, metrics, verified, commit (--wide keeps
    them all). Ids, seeds and commits are never cut.

    A filter compares metrics.KEY (the last value), params.KEY (dotted for nested params),
    tags.KEY and the attributes id, name, status, verdict, started, ended, duration, seed,
    commit, dirty and replay_of, with = != < <= > >= in (...) and like, joined by and, or,
    not and parentheses. Times are ISO dates: started >= '2026-11-01'.

    \b
    Example:
      samerun runs --filter "metrics.accuracy > 0.9 and status = 'finished'" \\
          --sort "metrics.accuracy desc" --limit 10
    """
    from samerun.api import RunReader
    from samerun.query import parse, parse_order

    if filter_ is not None:
        parse(filter_)  # a malformed filter is reported before any store is opened
    parse_order(list(order_by))
    store = open_project_store()
    try:
        reader = RunReader(store)
        limited = None if show_all else limit
        page = reader.runs(filter_, order_by, limited, page_token, replays=replays)
        if as_json:
            render.print_json_rows([r.to_dict() for r in page])
            return
        total = reader.count(filter_, replays=replays)
        hidden = 0 if replays else reader.count(filter_) - total
    finally:
        store.close()
    render.runs_table(
        list(page),
        total,
        focus=_metric_keys(filter_, order_by),
        filtered=filter_ is not None,
        next_page=page.next_page_token,
        wide=wide,
    )
    if hidden:
        replayed = "replay" if hidden == 1 else "replays"
        render.console().print(
            f"[dim]{hidden} {replayed} of verified runs not listed (--replays lists them)[/]",
            highlight=False,
        )


def _metric_keys(filter_: str | None, order_by: tuple[str, ...]) -> list[str]:
    """The metrics a listing should show first: those it is sorted or filtered by."""
    from samerun.query import metric_keys, parse, parse_order

    keys = [k.field.key for k in parse_order(list(order_by)) if k.field.kind == "metric"]
    return keys + [k for k in metric_keys(parse(filter_)) if k not in keys] if filter_ else keys


@app.command()
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def show(run: str, as_json: bool) -> None:
    """Show one run: its four pillars, params, metrics and artifacts.

    RUN is a full id, a unique id prefix, or `last`.

    \b
    Example:
      samerun show last
    """
    from samerun.api import RunReader

    store = open_project_store()
    try:
        recorded = RunReader(store).get_run(run)
    finally:
        store.close()
    manifest, verifications = recorded.manifest, recorded.verifications
    if as_json:
        render.print_json(
            {**manifest.to_dict(), "verifications": [v.to_dict() for v in verifications]}
        )
    else:
        render.show_manifest(manifest, verifications)


@export.command(name="manifest")
@click.argument("run")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout.",
)
def export_manifest(run: str, output: Path | None) -> None:
    """Print a run's manifest as canonical JSON (the bytes its fingerprints are built from).

    \b
    Example:
      samerun export last -o run.json
    """
    from samerun._atomic import atomic_write

    store = open_project_store()
    try:
        text = store.meta.manifest_json(store.meta.resolve(run).id)
    finally:
        store.close()
    data = text.encode()
    if output is None:
        click.echo(text)
    else:
        atomic_write(output, data)  # exactly the canonical bytes: the file hashes like the record
        render.error_console().print(f"wrote {output}", highlight=False)


@app.command()
@click.argument("run")
@click.argument("tags", nargs=-1, metavar="KEY=VALUE...")
@click.option("--remove", "-r", multiple=True, metavar="KEY", help="Remove a tag (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's tags as JSON.")
def tag(run: str, tags: tuple[str, ...], remove: tuple[str, ...], as_json: bool) -> None:
    """Label RUN with tags: filterable as tags.KEY, never part of its record or fingerprints.

    \b
    Example:
      samerun tag last stage=candidate owner=ana
      samerun runs --filter "tags.stage = 'candidate'"
    """
    from samerun.api import RunReader

    changes: dict[str, str | None] = dict.fromkeys(remove)
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"tag {item!r}: write KEY=VALUE, e.g. stage=candidate")
        changes[key.strip()] = value
    if not changes:
        raise UsageError("name a tag to set (KEY=VALUE) or to remove (--remove KEY)")
    store = open_project_store()
    try:
        reader = RunReader(store)
        reader.set_tags(run, changes)
        now = reader.get_run(run).info.tags
    finally:
        store.close()
    if as_json:
        render.print_json(now)
        return
    shown = "  ".join(f"{k}={v}" for k, v in sorted(now.items())) or "(no tags)"
    render.console().print(f"tags: {shown}", highlight=False)


@app.command()
@click.argument("run")
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why: kept with the deletion on the trail."
)
@click.option("--json", "as_json", is_flag=True, help="Print the deleted run ids as JSON.")
def delete(run: str, reason: str, as_json: bool) -> None:
    """Delete RUN (and its replays) from the store's listings, recording the deletion on the
    audit trail. Refused while it runs, when a model version was registered from it, or when a
    dataset version is its output. Its files stay in the store until `samerun gc`.

    \b
    Example:
      samerun delete 3f2a9c --reason "smoke test, not a result"
      samerun gc
    """
    import shutil

    from samerun.registry.registry import current_user

    if not reason.strip():
        raise UsageError("--reason cannot be empty: the trail keeps why a run was deleted")
    store = open_project_store()
    try:
        found = store.meta.resolve(run)
        ids = store.meta.delete_run(found.id, reason=reason, actor=current_user())
        for run_id in ids:  # its journal and logs; the database no longer names the run
            shutil.rmtree(store.project.run_dir(run_id), ignore_errors=True)
    finally:
        store.close()
    if as_json:
        render.print_json(ids)
        return
    named = f" ({found.name})" if found.name else ""
    replays = f" and {len(ids) - 1} replay(s)" if len(ids) > 1 else ""
    render.console().print(
        f"deleted run {found.id[:12]}{named}{replays}; its files stay in the store until "
        "`samerun gc`",
        highlight=False,
        markup=False,
    )


app.add_command(verify)
app.add_command(diff)
app.add_command(trace)
app.add_command(data)
app.add_command(remote)
app.add_command(gc)
app.add_command(fsck)
app.add_command(doctor)
app.add_command(import_)
app.add_command(export)
app.add_command(env)
app.add_command(ui)
app.add_command(server)
app.add_command(model)
app.add_command(audit)
app.add_command(lineage)
app.add_command(attest)
app.add_command(ci)
app.add_command(login)
app.add_command(push)
app.add_command(pull)
