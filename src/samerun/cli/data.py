"""``samerun data …``, ``samerun remote …``, ``samerun gc`` and ``samerun fsck``."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from samerun.cli import render

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from samerun.data.pointer import Dataset
    from samerun.data.progress import Progress
    from samerun.data.remote import Transfer
    from samerun.data.workspace import DataContext
    from samerun.store.project import Project


def _project() -> Project:
    from samerun.store.project import Project, find_root

    return Project(find_root())


def _context(project: Project | None = None) -> DataContext:
    from samerun.data.workspace import DataContext

    return DataContext.of(project or _project())


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


_REDRAW_S = 0.1


class _Bar:
    """A progress bar of files and bytes, drawn from the first :meth:`expect` on.

    Not before: a checkout may first ask to confirm deletions, and a prompt under a live
    bar would be garbled. It is redrawn from the reporting thread, at most every
    :data:`_REDRAW_S`, never by a thread of its own: hashing forks worker processes only
    while the process has a single thread.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: RichProgress | None = None
        self.task: TaskID | None = None
        self.files = self.files_total = self.size_total = 0
        self.drawn_at = 0.0

    def expect(self, files: int, size: int) -> None:
        self.files_total += files
        self.size_total += size
        self._show(0)

    def advance(self, files: int, size: int) -> None:
        self.files += files
        self._show(size)

    def _show(self, advanced: int) -> None:
        if self.bar is None:
            from rich import progress as rich

            self.bar = rich.Progress(
                rich.TextColumn("{task.description}"),
                rich.BarColumn(),
                rich.TextColumn("{task.fields[files]}"),
                rich.DownloadColumn(),
                rich.TransferSpeedColumn(),
                rich.TimeRemainingColumn(),
                console=render.error_console(),
                transient=True,
                auto_refresh=False,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=0, files="")
        assert self.task is not None
        shown = f"{self.files:,}/{self.files_total:,} files"
        self.bar.update(self.task, total=self.size_total, advance=advanced, files=shown)
        if time.monotonic() - self.drawn_at >= _REDRAW_S:
            self.bar.refresh()
            self.drawn_at = time.monotonic()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Progress]:
    """A progress bar on stderr while long data work runs, on a terminal and unless --json."""
    from samerun.data.progress import NO_PROGRESS

    if quiet or not sys.stderr.isatty():
        yield NO_PROGRESS
        return
    bar = _Bar(label)
    try:
        yield bar
    finally:
        bar.close()


def _print(text: str) -> None:
    render.console().print(text, highlight=False, soft_wrap=True)


@click.group()
def data() -> None:
    """Version datasets: content-addressed, with small pointer files committed to git.

    \b
    Example:
      samerun data add data/raw
      git add data/raw.samerun data/.gitignore && git commit -m "raw data v1"
    """


@data.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--copy", is_flag=True, help="Copy into the store; leave the files writable.")
@click.option(
    "--record-key",
    metavar="COLUMN",
    help="Also index the records by this key column (CSV, TSV, JSON Lines, Parquet; in a "
    "directory, each such file that has the column), for `samerun lineage record`; only "
    "keyed hashes of the values are stored.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the pointers written as JSON.")
def add(paths: tuple[str, ...], copy: bool, record_key: str | None, as_json: bool) -> None:
    """Hash and store PATHS (files or directories) and write a PATH.samerun pointer for each.

    The data is ignored in git (a .gitignore entry next to it); commit the pointer. Files
    are hard-linked into the store where that is safe (nothing copied, no space used twice)
    and become read-only, as after a checkout; `samerun data unprotect` makes writable
    copies, --copy stores copies from the start.

    \b
    Example:
      samerun data add data/raw data/labels.csv
      samerun data add data/customers.csv --record-key customer_id
    """
    from samerun.data.workspace import add as add_data
    from samerun.lineage.records import indexes_for, record_version, shown_files
    from samerun.paths import project_relative
    from samerun.store.meta import open_meta_store

    project = _project()
    if not project.exists:
        project.init()
    meta = open_meta_store(project.metadata_url, create=True)
    try:
        targets = [(project_relative(project.root, p), Path(p)) for p in paths]
        indexes = indexes_for(meta, project.store_dir, targets, record_key)
        with _progress("storing", as_json) as progress:
            added = add_data(_context(project), list(paths), link=not copy, progress=progress)
        for ds, index in zip(added, indexes, strict=True):
            record_version(meta, ds.rel, ds.pointer.oid, index=index)
    finally:
        meta.close()
    if as_json:
        render.print_json(
            [{"pointer": d.pointer_rel, **d.pointer.to_dict(), "linked": d.linked} for d in added]
        )
        return
    for ds, index in zip(added, indexes, strict=True):
        p = ds.pointer
        _print(
            f"added {ds.rel}: {p.files} files, {_size(p.size)} → {ds.pointer_rel} ({p.oid[:19]}…)"
        )
        if index is None:
            continue
        in_files = f" in {len(index.files)} files" if index.files else ""
        _print(f"  indexed {index.rows:,} records{in_files} by {index.column} (keyed hashes only)")
        if index.skipped:
            _print(
                f"  skipped {len(index.skipped)} file(s) without {index.column} or not "
                f"indexable: {shown_files(index.skipped)}"
            )
    linked = sum(ds.linked for ds in added)
    if linked:
        _print(
            f"[dim]{linked} files are now read-only links into the store; "
            "`samerun data unprotect PATH` makes writable copies[/]"
        )


@data.command(name="import-dvc")
@click.argument("dvc_files", nargs=-1, required=True, metavar="DVC_FILE...")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="DVC's cache directory (default: .dvc/cache of the DVC repository).",
)
@click.option(
    "--remote",
    type=click.Path(file_okay=False, path_type=Path),
    help="A local DVC remote to read objects the cache lacks from.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the pointers written as JSON.")
def import_dvc(
    dvc_files: tuple[str, ...], cache: Path | None, remote: Path | None, as_json: bool
) -> None:
    """Make DVC-tracked data samerun datasets: read each DVC_FILE (a .dvc file or dvc.lock,
    DVC 2 or 3), check every object's md5, store the files and write PATH.samerun pointers.

    DVC's files, cache and remote are only read, never changed.

    \b
    Example:
      samerun data import-dvc data/raw.dvc
      samerun data import-dvc dvc.lock --remote /mnt/dvc-remote
    """
    from samerun.integrations.dvc import import_planned, plan_import  # start-up

    project = _project()
    planned = plan_import(project.root, [Path(f) for f in dvc_files], cache=cache, remote=remote)
    if not project.exists:
        project.init()
    with _progress("importing", as_json) as progress:
        imported = import_planned(
            project.root, _context(project).objects, planned, progress=progress
        )
    if as_json:
        render.print_json([d.to_dict() for d in imported])
        return
    for ds in imported:
        _print(
            f"imported {ds.path} from {ds.dvc_file}: {ds.files} files, {_size(ds.size)} "
            f"→ {ds.pointer} ({ds.oid[:19]}…)"
        )


@data.command()
@click.argument("paths", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(paths: tuple[str, ...], as_json: bool) -> int:
    """Show, per dataset, whether the workspace matches the version its pointer names.

    Exits 1 when a dataset is modified or missing.

    \b
    Example:
      samerun data status
    """
    from samerun.cli.status import show_status

    return show_status(list(paths), as_json=as_json)


def _confirm(paths: list[str]) -> bool:
    if not sys.stdin.isatty():
        return False
    _print(f"not in this version and stored nowhere: {', '.join(paths[:10])}")
    return click.confirm(f"delete these {len(paths)} files?", default=False)


@data.command()
@click.argument("paths", nargs=-1)
@click.option("--rev", help="Check out the version the pointer names at this git revision.")
@click.option("--force", "-f", is_flag=True, help="Overwrite or delete files stored nowhere.")
@click.option("--copy", is_flag=True, help="Write independent copies instead of links.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def checkout(
    paths: tuple[str, ...], rev: str | None, force: bool, copy: bool, as_json: bool
) -> None:
    """Make each dataset in the workspace match the version its pointer names, exactly.

    Files are reflinked, else hardlinked read-only, else copied. Files whose content is
    stored nowhere are never overwritten without --force; files that are not part of the
    version are deleted only after confirmation or with --force. With --rev the pointer file
    is also restored from that revision.

    \b
    Example:
      samerun data checkout data/raw --rev v1.0
    """
    from samerun.data.checkout import checkout as run_checkout
    from samerun.data.pointer import write_pointer
    from samerun.data.workspace import select

    ctx = _context()
    done = []
    for ds in select(ctx.root, list(paths), rev=rev):
        with _progress(f"checking out {ds.rel}", as_json) as progress:
            result = run_checkout(
                ctx, ds, force=force, confirm=_confirm, link=not copy, progress=progress
            )
        done.append(result)
        if rev is not None:
            write_pointer(ds.pointer_file, ds.pointer)
    if as_json:
        render.print_json([r.to_dict() for r in done])
        return
    for r in done:
        how = f" ({', '.join(r.methods)})" if r.methods else ""
        _print(
            f"{r.dataset}: {r.written} written{how}, {r.removed} removed, {r.unchanged} unchanged"
        )


@data.command()
@click.argument("paths", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the files copied as JSON.")
def unprotect(paths: tuple[str, ...], as_json: bool) -> None:
    """Replace the read-only links of datasets (all without PATHS) with writable copies.

    `data add` and `data checkout` link files to the store; edit a file only after this.

    \b
    Example:
      samerun data unprotect data/raw
    """
    from samerun.data.checkout import unprotect as run_unprotect
    from samerun.data.workspace import select

    ctx = _context()
    done = []
    for ds in select(ctx.root, list(paths)):
        with _progress(f"copying {ds.rel}", as_json) as progress:
            done.append({"dataset": ds.rel, "copied": run_unprotect(ctx, ds, progress)})
    if as_json:
        render.print_json(done)
        return
    for d in done:
        _print(f"{d['dataset']}: {d['copied']} files made writable copies")


@data.command(name="ls")
@click.argument("path")
@click.option("--rev", help="List the version the pointer names at this git revision.")
@click.option("--json", "as_json", is_flag=True, help="Print the files as JSON.")
def ls_(path: str, rev: str | None, as_json: bool) -> None:
    """List the files of a dataset version: path, size and hash.

    \b
    Example:
      samerun data ls data/raw --rev HEAD~1
    """
    from samerun.data.workspace import entries, select

    ctx = _context()
    (ds,) = select(ctx.root, [path], rev=rev)
    files = entries(ctx.objects, ds)
    if as_json:
        render.print_json([{"path": e.path, "size": e.size, "oid": e.oid} for e in files])
        return
    for e in files:
        click.echo(f"{e.size:>14,}  {e.oid}  {e.path}")
    _print(f"[dim]{len(files)} files, {_size(sum(e.size for e in files))}[/]")


def _transfer(
    direction: str, paths: tuple[str, ...], remote_name: str | None, jobs: int, progress: Progress
) -> tuple[DataContext, list[Dataset], Transfer]:
    from samerun.data import remote as remotes
    from samerun.data.workspace import select

    project = _project()
    ctx = _context(project)
    store = remotes.open_remote(project, remote_name)
    datasets = select(ctx.root, list(paths))
    move = remotes.push if direction == "push" else remotes.pull
    return ctx, datasets, move(ctx, store, datasets, jobs=jobs, progress=progress)


_remote_option = click.option(
    "--remote", "-r", "remote_name", help="Remote name (default: the default remote)."
)
_jobs_option = click.option(
    "--jobs", "-j", default=16, show_default=True, help="Parallel transfers."
)


@data.command()
@click.argument("paths", nargs=-1)
@_remote_option
@_jobs_option
@click.option("--json", "as_json", is_flag=True, help="Print what was sent as JSON.")
def push(paths: tuple[str, ...], remote_name: str | None, jobs: int, as_json: bool) -> None:
    """Send the objects of datasets (default: all) that the remote lacks, in parallel.

    \b
    Example:
      samerun data push --remote origin
    """
    with _progress("pushing", as_json) as progress:
        _, _, done = _transfer("push", paths, remote_name, jobs, progress)
    if as_json:
        render.print_json(done.to_dict())
    else:
        _print(
            f"pushed {done.transferred} objects ({_size(done.bytes)}); {done.present} already there"
        )


@data.command()
@click.argument("paths", nargs=-1)
@_remote_option
@_jobs_option
@click.option("--force", "-f", is_flag=True, help="Overwrite or delete files stored nowhere.")
@click.option("--json", "as_json", is_flag=True, help="Print what was fetched as JSON.")
def pull(
    paths: tuple[str, ...], remote_name: str | None, jobs: int, force: bool, as_json: bool
) -> None:
    """Fetch the objects of datasets (default: all) this store lacks, then check them out.

    \b
    Example:
      samerun data pull data/raw
    """
    from samerun.data.checkout import checkout as run_checkout

    with _progress("pulling", as_json) as progress:
        ctx, datasets, done = _transfer("pull", paths, remote_name, jobs, progress)
    with _progress("checking out", as_json) as progress:
        results = [
            run_checkout(ctx, ds, force=force, confirm=_confirm, progress=progress)
            for ds in datasets
        ]
    if as_json:
        render.print_json({**done.to_dict(), "checkouts": [r.to_dict() for r in results]})
        return
    _print(f"pulled {done.transferred} objects ({_size(done.bytes)}); {done.present} already here")
    for r in results:
        _print(f"{r.dataset}: {r.written} written, {r.removed} removed, {r.unchanged} unchanged")


@click.group()
def remote() -> None:
    """Name the places datasets are pushed to: a local/NFS path or any fsspec URL (s3://…).

    \b
    Example:
      samerun remote add origin s3://bucket/datasets
    """


@remote.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "make_default", is_flag=True, help="Make it the default remote.")
@click.option(
    "--local", is_flag=True, help="For this clone only (.samerun/remotes.local.yaml, not in git)."
)
@click.option(
    "--project",
    "server_project",
    help="URL is a team server: keep data in its project PROJECT (URL/projects/PROJECT).",
)
def remote_add(
    name: str, url: str, make_default: bool, local: bool, server_project: str | None
) -> None:
    """Add remote NAME at URL (the first one becomes the default).

    URL is a directory, an fsspec URL (s3://, gs://, ...) or a team server's project
    (https://HOST/projects/NAME, or the server's URL and --project NAME; sign in to it with
    `samerun login` first). Remotes are shared through git in .samerun/remotes.yaml: commit
    it, and every clone can `samerun data pull`. --local keeps one to this clone (a private
    mount, credentials).

    \b
    Examples:
      samerun remote add origin s3://bucket/datasets && git add .samerun/remotes.yaml
      samerun remote add team https://samerun.example.com --project vision
    """
    from samerun.data.remote import REMOTES_FILE, add_remote

    if server_project is not None:
        url = f"{url.rstrip('/')}/projects/{server_project}"
    remotes = add_remote(_project(), name, url, default=make_default, local=local)
    _print(f"remote {name} → {url}" + (" (default)" if remotes.default == name else ""))
    if not local:
        _print(f"[dim]commit .samerun/{REMOTES_FILE} to share it with every clone[/]")


@remote.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the remotes as JSON.")
def remote_list(as_json: bool) -> None:
    """List the remotes; the default one is marked.

    \b
    Example:
      samerun remote list
    """
    from samerun.data.remote import load_remotes

    remotes = load_remotes(_project())
    if as_json:
        render.print_json(remotes.to_dict())
        return
    if not remotes.urls:
        _print("no remotes yet: add one with `samerun remote add NAME URL`")
    for name, url in sorted(remotes.urls.items()):
        marks = ["default"] if name == remotes.default else []
        marks += ["local"] if name in remotes.local else []
        _print(f"{name}\t{url}" + (f"\t({', '.join(marks)})" if marks else ""))


@remote.command(name="remove")
@click.argument("name")
def remote_remove(name: str) -> None:
    """Forget remote NAME (its data stays where it is).

    \b
    Example:
      samerun remote remove backup
    """
    from samerun.data.remote import remove_remote

    remove_remote(_project(), name)
    _print(f"removed remote {name}")


@click.command()
@click.option(
    "--keep-recent",
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Keep objects younger than this (a `data add` may not have written its pointer yet).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def gc(keep_recent: float, dry_run: bool, as_json: bool) -> None:
    """Remove objects that no run and no pointer file (in the workspace or any git commit) names.

    \b
    Example:
      samerun gc --dry-run
    """
    from samerun.cli.store import open_project_store
    from samerun.data.gc import gc as collect

    store = open_project_store()
    try:
        result = collect(store, grace_s=keep_recent, dry_run=dry_run)
    finally:
        store.close()
    if as_json:
        render.print_json(result.to_dict())
        return
    verb = "would remove" if dry_run else "removed"
    _print(f"{verb} {result.removed} objects ({_size(result.freed_bytes)}); kept {result.kept}")


@click.command()
@click.option(
    "--repair", is_flag=True, help="Move corrupt objects aside so a pull fetches them again."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def fsck(repair: bool, as_json: bool) -> int:
    """Re-hash every object in the store and report the corrupt ones. Exits 1 if any.

    \b
    Example:
      samerun fsck --repair
    """
    from samerun.cli.store import open_project_store
    from samerun.data.gc import fsck as check

    store = open_project_store()
    try:
        result = check(store, repair=repair)
    finally:
        store.close()
    if as_json:
        render.print_json(result.to_dict())
    else:
        _print(f"checked {result.checked} objects: {len(result.corrupt)} corrupt")
        for path in result.corrupt:
            _print(f"[red]corrupt[/] {path}" + (" (moved aside)" if repair else ""))
        for pointer in result.missing:
            _print(f"[yellow]missing[/] the version {pointer} names is not in the store")
    return 1 if result.corrupt else 0
