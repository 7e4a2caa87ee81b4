"""Garbage collection and integrity checks of the project's object store.

``gc`` keeps every object a run, a model version, a pointer file in the workspace or a pointer
file in any git commit names (trees with all their files), and objects younger than a grace
period (a ``data add`` in progress has not written its pointer yet); it removes the rest, and what
writes killed midway left in the store (temp files untouched for :data:`STALE_TEMP_S`, a
bound of its own: a concurrent write's temp file is never removed, whatever the grace).
``fsck`` re-hashes every object and reports (optionally sets aside) the ones whose bytes
changed. Both read the objects as local files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samerun._exceptions import PointerError, StoreError
from samerun.data.pointer import SUFFIX, find_pointers, parse_pointer, read_pointer
from samerun.data.tree import load_tree, starts_as_tree
from samerun.hashing import hash_bytes, hash_file
from samerun.registry.store import RegistryStore
from samerun.store.objects import ObjectStore
from samerun.store.project import Store

_OID = re.compile(rb"blake3:[0-9a-f]{64}")
GRACE_S = 3600.0
#: A temp file of the store untouched this long was left by a write that was killed: one in
#: progress keeps writing to it, and none takes an hour between two writes.
STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class GcResult:
    removed: int
    kept: int
    freed_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _file_of(objects: ObjectStore, oid: str) -> Path:
    path = objects.path_of(oid)
    if path is None:
        raise StoreError("gc and fsck work on a local object store only")
    return path


def _pointer_oids(root: Path) -> set[str]:
    """Objects named by the workspace's pointers and by every pointer in git history."""
    found = {read_pointer(root, p).pointer.oid for p in find_pointers(root)}
    listing = subprocess.run(
        ["git", "rev-list", "--all", "--objects"], cwd=root, capture_output=True, check=False
    )
    blobs = [
        line.split(b" ", 1)[0]
        for line in listing.stdout.splitlines()
        if line.endswith(SUFFIX.encode()) and b" " in line
    ]
    if blobs:
        batch = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=root,
            input=b"\n".join(blobs) + b"\n",
            capture_output=True,
            check=True,
        )
        for match in _OID.finditer(batch.stdout):
            found.add(match.group().decode())
    return found


def _run_oids(store: Store) -> set[str]:
    """Objects named by recorded runs (their manifests too) and by journals of running runs."""
    found: set[str] = set()
    for row in store.meta.list_runs(limit=None):
        text = store.meta.manifest_json(row.id).encode()
        found.add(hash_bytes(text))
        found.update(m.group().decode() for m in _OID.finditer(text))
    runs = store.project.store_dir / "runs"
    if runs.is_dir():
        for journal in runs.glob("*/journal-*.jsonl"):
            found.update(m.group().decode() for m in _OID.finditer(journal.read_bytes()))
    return found


def referenced(store: Store) -> set[str]:
    """Every object something still names, trees expanded to their files."""
    objects = store.objects
    roots = (
        _pointer_oids(store.project.root)
        | _run_oids(store)
        | RegistryStore(store.meta).used_objects()
    )
    found = set(roots)
    for oid in roots:
        try:
            is_tree = starts_as_tree(_file_of(objects, oid))
        except FileNotFoundError:
            continue
        if is_tree:
            found.update(e.oid for e in load_tree(objects, oid).entries)
    return found


def gc(store: Store, *, grace_s: float = GRACE_S, dry_run: bool = False) -> GcResult:
    """Remove objects nothing names and that are older than ``grace_s`` seconds, and what
    killed writes left behind."""
    objects = store.objects
    keep = referenced(store)
    cutoff = time.time() - grace_s
    removed = freed = kept = 0
    for oid in list(objects.iter_oids()):
        st = _file_of(objects, oid).stat()
        if oid in keep or st.st_ctime > cutoff:  # when it came in: a linked file keeps its mtime
            kept += 1
            continue
        if not dry_run:
            objects.remove(oid)
        removed += 1
        freed += st.st_size
    if not dry_run:
        objects.remove_stale_temps(STALE_TEMP_S)
    return GcResult(removed, kept, freed)


@dataclass(frozen=True)
class FsckResult:
    checked: int
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # named by a pointer, not in the store
    set_aside: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def fsck(store: Store, *, repair: bool = False) -> FsckResult:
    """Re-hash every object; with ``repair``, move corrupt ones to ``.samerun/corrupt/``.

    A corrupt object set aside is fetched again by the next ``samerun data pull``.
    """
    objects = store.objects
    oids = list(objects.iter_oids())

    def bad(oid: str) -> bool:
        return hash_file(_file_of(objects, oid)) != oid

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        corrupt = [oid for oid, broken in zip(oids, pool.map(bad, oids), strict=True) if broken]
    if repair and corrupt:
        quarantine = store.project.store_dir / "corrupt"
        quarantine.mkdir(exist_ok=True)
        for oid in corrupt:
            shutil.move(_file_of(objects, oid), quarantine / oid.partition(":")[2])
    missing = []
    for pointer_file in find_pointers(store.project.root):
        try:
            oid = parse_pointer(pointer_file.read_bytes(), str(pointer_file)).oid
        except PointerError:
            continue
        if not objects.exists(oid):
            missing.append(pointer_file.relative_to(store.project.root).as_posix())
    return FsckResult(len(oids), [str(_file_of(objects, o)) for o in corrupt], missing, repair)
