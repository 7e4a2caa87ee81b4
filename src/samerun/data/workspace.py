"""The data commands on a project's workspace: add, status and ls of its datasets."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from samerun._exceptions import UsageError
from samerun.data.pointer import (
    SUFFIX,
    Dataset,
    Pointer,
    find_pointers,
    parse_pointer,
    pointer_for,
    read_pointer,
    write_pointer,
)
from samerun.data.progress import NO_PROGRESS, Progress
from samerun.data.scan import Changes, changes_since, snapshot
from samerun.data.statcache import StatCache, project_cache
from samerun.paths import inside, project_relative
from samerun.store.project import STORE_DIRNAME, Project

if TYPE_CHECKING:
    from samerun.data.tree import TreeEntry
    from samerun.store.objects import ObjectStore


class DataContext:
    """What every data operation needs: the project root, its object store, its stat cache.

    ``objects`` may be given as a URL, opened on first use: ``data status`` with nothing
    changed never needs the store.
    """

    def __init__(self, root: Path, objects: ObjectStore | str, cache: StatCache) -> None:
        self.root = root
        self.cache = cache
        self._objects = objects

    @classmethod
    def of(cls, project: Project) -> DataContext:
        return cls(project.root, project.objects_url, project_cache(project.root))

    @property
    def objects(self) -> ObjectStore:
        if isinstance(self._objects, str):
            from samerun.store.objects import open_object_store  # start-up, as said above

            self._objects = open_object_store(self._objects)
        return self._objects


def add(
    ctx: DataContext, paths: list[str], *, link: bool = True, progress: Progress = NO_PROGRESS
) -> list[Dataset]:
    """Hash and store each path, then write its pointer file and ignore it in git.

    With ``link`` (the default), files are stored by hard-linking them into the object store
    where that is safe, as ``checkout`` places them: nothing is copied, and the files become
    read-only (:func:`unprotect` makes writable copies again).
    """
    targets = [_addable(ctx.root, p) for p in paths]
    snaps = [
        snapshot(path, ctx.cache, store=ctx.objects, link=link, progress=progress)
        for path in targets
    ]
    ctx.cache.save()
    added = []
    for path, snap in zip(targets, snaps, strict=True):
        pointer = Pointer(path.name, snap.kind, snap.oid, snap.size, snap.files)
        pointer_file = pointer_for(path)
        write_pointer(pointer_file, pointer)
        _ignore_in_git(path)
        added.append(Dataset(pointer_file, pointer, ctx.root, snap.linked))
    return added


def _addable(root: Path, path: str) -> Path:
    rel = project_relative(root, path)
    first = rel.split("/")[0]
    if rel == "." or first in (STORE_DIRNAME, ".git"):
        raise UsageError(f"{path}: add a file or directory of the project, not {rel}")
    if rel.endswith(SUFFIX):
        raise UsageError(f"{path} is a pointer file; add the data it names instead")
    target = inside(root, rel, "data add")
    if not target.exists():
        raise UsageError(f"{path}: no such file or directory")
    return target


def _ignore_in_git(dataset: Path) -> None:
    """Add ``/<name>`` to the ``.gitignore`` next to the dataset, once."""
    ignore = dataset.parent / ".gitignore"
    line = f"/{dataset.name}"
    existing = ignore.read_text().splitlines() if ignore.exists() else []
    if line not in existing:
        prefix = "" if not existing or ignore.read_text().endswith("\n") else "\n"
        with open(ignore, "a") as handle:
            handle.write(f"{prefix}{line}\n")


def select(root: Path, paths: list[str], *, rev: str | None = None) -> list[Dataset]:
    """The datasets named by ``paths`` (dataset or pointer paths), or all of the project's."""
    if not paths:
        if rev is not None:
            raise UsageError("--rev needs the PATH of a dataset")
        return [read_pointer(root, p) for p in find_pointers(root)]
    found = []
    for path in paths:
        rel = project_relative(root, path)
        pointer_file = root / rel if rel.endswith(SUFFIX) else pointer_for(root / rel)
        if rev is not None:
            found.append(_pointer_at(root, pointer_file, rev))
        elif pointer_file.is_file():
            found.append(read_pointer(root, pointer_file))
        else:
            raise UsageError(
                f"{path} is not a dataset (no {pointer_file.name}); `samerun data add` it first"
            )
    return found


def _pointer_at(root: Path, pointer_file: Path, rev: str) -> Dataset:
    import subprocess  # start-up: `data status` stays without it (see pointer._git_output)

    rel = pointer_file.relative_to(root).as_posix()
    done = subprocess.run(
        ["git", "show", f"{rev}:./{rel}"], cwd=root, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise UsageError(f"{rel} does not exist at git revision {rev!r}")
    dataset = Dataset(pointer_file, parse_pointer(done.stdout, f"{rel}@{rev}"), root)
    inside(root, dataset.rel, f"{rel}@{rev}")
    return dataset


class DatasetStatus(NamedTuple):
    """How the workspace differs from the version a pointer names."""

    dataset: str
    pointer: str
    state: str  # "unchanged", "modified" or "missing"
    added: list[str]
    modified: list[str]
    deleted: list[str]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def status(ctx: DataContext, datasets: list[Dataset]) -> list[DatasetStatus]:
    result = [_status(ctx, ds) for ds in datasets]
    ctx.cache.save()
    return result


def _status(ctx: DataContext, ds: Dataset) -> DatasetStatus:
    pointer = ds.pointer
    if not ds.path.exists():
        return _unlisted(ds, "missing")
    changes = changes_since(ds.path, ctx.cache, pointer.oid)
    if changes is None:  # no listing of this version: hash what is there, compare trees
        snap = snapshot(ds.path, ctx.cache)
        if snap.oid == pointer.oid:
            return _unlisted(ds, "unchanged")
        if snap.tree is None or pointer.kind == "file":
            damaged = _edited_in_place(ctx.objects, [(ds.path, pointer.oid)])
            return DatasetStatus(
                ds.rel, ds.pointer_rel, "modified", [], [ds.path.name], [], damaged
            )
        if not ctx.objects.exists(pointer.oid):
            note = "its version is not in the object store; `samerun data pull` it to see the files"
            return _unlisted(ds, "modified", note)
        from samerun.data.tree import load_tree  # start-up: an unchanged status reads no tree

        changes = Changes.between(load_tree(ctx.objects, pointer.oid), snap.tree)
    if not any(changes):
        return _unlisted(ds, "unchanged")
    return DatasetStatus(
        ds.rel,
        ds.pointer_rel,
        "modified",
        added=changes.added,
        modified=[p or ds.path.name for p in changes.modified],  # "": a file dataset itself
        deleted=changes.deleted,
        note=_edited_in_place(ctx.objects, [(ds.path / p, o) for p, o in changes.modified.items()]),
    )


def _unlisted(ds: Dataset, state: str, note: str | None = None) -> DatasetStatus:
    """A status that names no files."""
    return DatasetStatus(ds.rel, ds.pointer_rel, state, [], [], [], note)


def _edited_in_place(objects: ObjectStore, files: list[tuple[Path, str]]) -> str | None:
    """A warning when modified files are still the very inode of their stored version.

    That happens when a file linked to the store is written in place by someone the
    read-only mode does not stop (root): the stored version changed with it.
    """
    damaged = []
    for path, oid in files:
        stored = objects.path_of(oid)  # None where objects are no local files, never linked
        with suppress(OSError):
            if stored is not None and os.path.samefile(path, stored):
                damaged.append(path.name)
    if not damaged:
        return None
    return (
        f"{', '.join(damaged[:5])}{' …' if len(damaged) > 5 else ''} was edited in place "
        "while linked to the store, so the stored version changed too: `samerun fsck "
        "--repair` sets it aside and `samerun data pull` brings it back from a remote; "
        "run `samerun data unprotect` before editing"
    )


def entries(objects: ObjectStore, ds: Dataset) -> list[TreeEntry]:
    """The files of the version ``ds`` names (a file dataset is one entry)."""
    from samerun.data.tree import TreeEntry, load_tree  # start-up: status never lists files

    pointer = ds.pointer
    if pointer.kind == "file":
        return [TreeEntry(ds.path.name, pointer.oid, pointer.size, 0o644)]
    return list(load_tree(objects, pointer.oid).entries)
