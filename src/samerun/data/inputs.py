"""The data a run reads, as recorded in ``inputs.data``: what is really in the workspace.

Each entry names the dataset's path, its pointer and the version the pointer names, and the
object of what the workspace holds. When the two differ, the workspace content is stored too
(and a warning says so), so the run can always be replayed from the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from samerun._exceptions import UsageError
from samerun.data.pointer import SUFFIX, Dataset, find_pointers, pointer_for, read_pointer
from samerun.data.scan import changes_since, snapshot
from samerun.data.statcache import StatCache, project_cache
from samerun.manifest import DataInput
from samerun.paths import inside, project_relative
from samerun.status import entry_kind
from samerun.store.objects import ObjectStore


def dataset_input(
    root: Path, objects: ObjectStore, path: str | os.PathLike[str], cache: StatCache
) -> tuple[DataInput, list[str]]:
    """The ``inputs.data`` entry for ``path`` (a dataset, its pointer, or any project path)."""
    rel = project_relative(root, path)
    if rel == ".":
        raise UsageError("the whole project cannot be a data input; name a file or directory")
    pointer_file = root / rel if rel.endswith(SUFFIX) else pointer_for(root / rel)
    if pointer_file.is_file():
        return _versioned(read_pointer(root, pointer_file), objects, cache)
    target = inside(root, rel, "data input")
    if not target.exists():
        raise UsageError(f"data input {rel}: no such file or directory")
    snap = snapshot(target, cache, store=objects)
    entry = DataInput(rel, None, None, snap.oid, entry_kind(snap.kind), snap.size, snap.files)
    return entry, []


def _versioned(ds: Dataset, objects: ObjectStore, cache: StatCache) -> tuple[DataInput, list[str]]:
    pointer = ds.pointer
    kind = entry_kind(pointer.kind)
    if not ds.path.exists():
        warning = f"{ds.rel} is not in the workspace (`samerun data checkout {ds.rel}`)"
        entry = DataInput(ds.rel, ds.pointer_rel, pointer.oid, None, kind, 0, 0)
        return entry, [warning]
    if objects.exists(pointer.oid):
        changes = changes_since(ds.path, cache, pointer.oid)
        if changes is not None and not any(changes):
            oid = pointer.oid
            entry = DataInput(ds.rel, ds.pointer_rel, oid, oid, kind, pointer.size, pointer.files)
            return entry, []
    snap = snapshot(ds.path, cache, store=objects)
    warnings = []
    if snap.oid != pointer.oid:
        warnings.append(
            f"{ds.rel} differs from the version {ds.pointer_rel} names; recorded and stored "
            f"what the workspace holds ({snap.oid[:19]}…) so the run can be replayed"
        )
    entry = DataInput(
        ds.rel, ds.pointer_rel, pointer.oid, snap.oid, entry_kind(snap.kind), snap.size, snap.files
    )
    return entry, warnings


def capture_datasets(
    root: Path, objects: ObjectStore, extra: Iterable[str] = ()
) -> tuple[list[DataInput], list[str]]:
    """Entries for every dataset of the project plus ``extra`` paths (relative to ``root``)."""
    cache = project_cache(root)
    entries: dict[str, DataInput] = {}
    warnings: list[str] = []
    for path in [*find_pointers(root), *(root / p for p in extra)]:
        entry, notes = dataset_input(root, objects, path, cache)
        if entry.path not in entries:
            entries[entry.path] = entry
            warnings.extend(notes)
    cache.save()
    return [entries[p] for p in sorted(entries)], warnings
