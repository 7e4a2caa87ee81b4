"""DVC-tracked data as samerun datasets: ``samerun data import-dvc``.

Reads the outs of ``.dvc`` files and of ``dvc.lock`` stages as DVC 3 writes them (``hash: md5``,
objects under the cache's ``files/md5/``) and as DVC 2 did (no ``hash`` key, objects at the
cache's top, text files hashed with their CRLF line endings made LF), expands directory
manifests (the ``.dir`` objects), checks every object's md5 against what DVC recorded, stores
every file by blake3 and writes the samerun pointer next to the data. DVC's files are only read:
the DVC repository, its cache and its remote are never written.

DVC 2's rule for a text file's md5, as DVC 2 (dvc-data 0.x) applied it: the file is text when
its first 512 bytes hold no NUL and at most 30% bytes outside printable ASCII and ``\\n \\r \\t
\\f \\b``; a text file is hashed in 1 MiB chunks with each chunk's ``\\r\\n`` replaced by
``\\n`` (a pair split across two chunks stays as it is). DVC 3 reads legacy objects deciding
text-or-binary chunk by chunk instead; the two agree on files of up to 1 MiB, and a legacy object
is accepted when either matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from samerun._exceptions import InteropError, UnsafePath
from samerun.data.pointer import Pointer, pointer_for, write_pointer
from samerun.data.progress import NO_PROGRESS, Progress
from samerun.data.tree import Tree, TreeEntry
from samerun.paths import check_relative, project_relative
from samerun.status import EntryKind
from samerun.store.objects import ObjectStore

#: DVC hashes in chunks of this size; DVC 2 normalised line endings within each chunk.
CHUNK = 1024 * 1024
#: Files larger than this are streamed; smaller ones are read once, checked and stored.
LARGE = 16 * CHUNK
#: How much of a file DVC looks at to tell text from binary.
TEXT_PROBE = 512
_TEXT_BYTES = bytes(range(32, 127)) + b"\n\r\t\f\b"
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")


@dataclass(frozen=True)
class DvcObject:
    """An object of a DVC cache: its md5 as DVC recorded it, and which DVC wrote it."""

    md5: str  # 32 hex digits, with ".dir" for a directory manifest
    legacy: bool  # DVC 2: the cache's top level, text files hashed with LF line endings

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def relative(self) -> str:
        """Where the object lies under a cache (or a local remote) directory."""
        layout = "" if self.legacy else "files/md5/"
        return f"{layout}{self.md5[:2]}/{self.md5[2:]}"


@dataclass(frozen=True)
class DvcOut:
    """One output a ``.dvc`` file or a ``dvc.lock`` stage tracks."""

    named_in: str  # the DVC file, relative to the project root
    path: str  # the data, relative to the project root
    object: DvcObject


@dataclass(frozen=True)
class _File:
    """One file of an output: where it goes in the dataset, and the DVC object holding it."""

    relpath: str  # inside the output ("" for an output that is one file)
    object: DvcObject
    source: Path  # the object's file, in the cache or the remote
    executable: bool = False


@dataclass(frozen=True)
class PlannedOut:
    """An output with every file it holds located: what :func:`import_planned` takes."""

    out: DvcOut
    files: tuple[_File, ...]


@dataclass(frozen=True)
class ImportedDataset:
    """A DVC output, now a samerun dataset named by the pointer written next to it."""

    dvc_file: str
    path: str  # the dataset, relative to the project root
    pointer: str  # the pointer file written, relative to the project root
    kind: EntryKind
    oid: str
    size: int
    files: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading DVC's files ---------------------------------------------------------------------


def read_outs(root: Path, dvc_file: Path) -> list[DvcOut]:
    """The outputs ``dvc_file`` (a ``.dvc`` file or a ``dvc.lock``) tracks, paths checked."""
    named_in = project_relative(root, dvc_file)
    try:
        document = yaml.safe_load(dvc_file.read_bytes())
    except OSError as err:
        raise InteropError(f"{named_in} cannot be read ({err.strerror})") from None
    except yaml.YAMLError:
        raise InteropError(f"{named_in} is not valid YAML, so not a DVC file") from None
    if not isinstance(document, dict):
        raise InteropError(f"{named_in} is not a DVC file (expected a mapping)")
    if dvc_file.name == "dvc.lock":
        stages = document.get("stages")
        if not isinstance(stages, dict):
            raise InteropError(f"{named_in} has no stages: not a dvc.lock DVC 2 or 3 wrote")
        entries = [o for stage in stages.values() if isinstance(stage, dict) for o in _outs(stage)]
    else:
        entries = _outs(document)
    if not entries:
        raise InteropError(f"{named_in} tracks no outputs")
    return [_out(root, dvc_file.parent, named_in, entry) for entry in entries]


def _outs(document: dict[str, Any]) -> list[Any]:
    outs = document.get("outs", [])
    return outs if isinstance(outs, list) else [outs]


def _out(root: Path, base: Path, named_in: str, entry: Any) -> DvcOut:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise InteropError(f"{named_in}: an output without a path")
    where = f"{named_in}: output {entry['path']}"
    md5 = entry.get("md5")
    if not isinstance(md5, str) or not _MD5.fullmatch(md5):
        raise InteropError(f"{where} has no md5 (DVC has not hashed it: run `dvc commit`)")
    if entry.get("hash", "md5") != "md5":
        raise InteropError(f"{where} is hashed with {entry['hash']}, not md5")
    try:
        path = project_relative(root, base / check_relative(entry["path"], where))
    except UnsafePath as err:
        raise InteropError(f"{where}: the path is unsafe: {err.reason}") from None
    return DvcOut(named_in, path, DvcObject(md5, legacy="hash" not in entry))


def _locate(obj: DvcObject, places: Sequence[Path], what: str) -> Path:
    for place in places:
        candidate = place / obj.relative()
        if candidate.is_file():
            return candidate
    shown = " nor ".join(str(p) for p in places)
    raise InteropError(
        f"{what}: object {obj.md5} is in neither {shown}; fetch it (`dvc fetch`) or pass --remote"
        if len(places) > 1
        else f"{what}: object {obj.md5} is not in the cache {shown}; fetch it (`dvc fetch`) "
        "or pass --remote"
    )


def _plan(out: DvcOut, places: Sequence[Path]) -> PlannedOut:
    what = f"{out.named_in}: {out.path}"
    source = _locate(out.object, places, what)
    if not out.object.is_dir:
        return PlannedOut(out, (_File("", out.object, source),))
    manifest = source.read_bytes()
    _check(_chunks(manifest), out.object, what, source)
    try:
        listed = json.loads(manifest)
        entries = [(e["relpath"], e["md5"], bool(e.get("isexec"))) for e in listed]
    except (ValueError, TypeError, KeyError):
        raise InteropError(f"{what}: the directory manifest {source} is malformed") from None
    files = []
    for relpath, md5, executable in entries:
        if not isinstance(relpath, str) or not isinstance(md5, str) or not _MD5.fullmatch(md5):
            raise InteropError(f"{what}: the directory manifest {source} is malformed")
        try:
            check_relative(relpath, what)
        except UnsafePath as err:
            raise InteropError(f"{what}: refusing path {relpath!r}: {err.reason}") from None
        obj = DvcObject(md5, out.object.legacy)
        files.append(_File(relpath, obj, _locate(obj, places, f"{what}/{relpath}"), executable))
    return PlannedOut(out, tuple(sorted(files, key=lambda f: f.relpath)))


# -- md5 as DVC computes it ------------------------------------------------------------------


def is_text(block: bytes) -> bool:
    """DVC's guess from a file's first bytes: no NUL, at most 30% outside plain text."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    return len(block.translate(None, _TEXT_BYTES)) / len(block) <= 0.30


def md5_of(chunks: Iterable[bytes], legacy: bool) -> set[str]:
    """The md5s DVC may have recorded for a file read as ``chunks`` of :data:`CHUNK` bytes:
    one for DVC 3; for DVC 2, its own rule's and DVC 3's reading of it (see the module)."""
    plain = hashlib.md5(usedforsecurity=False)
    if not legacy:
        for chunk in chunks:
            plain.update(chunk)
        return {plain.hexdigest()}
    whole_file = hashlib.md5(usedforsecurity=False)  # DVC 2: text or not, decided once
    per_chunk = hashlib.md5(usedforsecurity=False)  # DVC 3 reading a DVC 2 object
    text = None
    for chunk in chunks:
        chunk_text = is_text(chunk[:TEXT_PROBE])
        text = chunk_text if text is None else text
        whole_file.update(chunk.replace(b"\r\n", b"\n") if text else chunk)
        per_chunk.update(chunk.replace(b"\r\n", b"\n") if chunk_text else chunk)
    return {whole_file.hexdigest(), per_chunk.hexdigest()}


def _check(chunks: Iterable[bytes], obj: DvcObject, what: str, source: Path) -> None:
    expected = obj.md5.removesuffix(".dir")
    found = md5_of(chunks, obj.legacy)
    if expected not in found:
        raise InteropError(
            f"{what}: the object {source} does not match its md5 {expected} "
            f"(it hashes to {sorted(found)[0]}); the DVC cache is corrupt"
        )


# -- import ----------------------------------------------------------------------------------


def plan_import(
    root: Path, dvc_files: Sequence[Path], *, cache: Path | None = None, remote: Path | None = None
) -> list[PlannedOut]:
    """Every output of ``dvc_files`` with every object it needs, found in ``cache`` (default:
    the DVC repository's ``.dvc/cache``) or the local ``remote``; raises before any write."""
    planned = []
    for dvc_file in dvc_files:
        places = [cache or _default_cache(dvc_file)] + ([remote] if remote is not None else [])
        planned += [_plan(out, places) for out in read_outs(root, dvc_file)]
    return planned


def _default_cache(dvc_file: Path) -> Path:
    for folder in dvc_file.absolute().parents:
        if (folder / ".dvc").is_dir():
            return folder / ".dvc" / "cache"
    raise InteropError(f"{dvc_file} is in no DVC repository (no .dvc/ above it); pass --cache")


def import_planned(
    root: Path,
    objects: ObjectStore,
    planned: Sequence[PlannedOut],
    *,
    progress: Progress = NO_PROGRESS,
) -> list[ImportedDataset]:
    """Check and store every file of ``planned`` (see :func:`plan_import`) on all cores, then
    write each output's pointer; a wrong md5 fails before any pointer is written."""
    work = [(p, f) for p in planned for f in p.files]
    progress.expect(len(work), sum(f.source.stat().st_size for _, f in work))
    stored = []
    # md5, blake3 and the writes release the GIL on whole files: threads keep every core busy
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for entry in pool.map(lambda item: _store(objects, *item), work):
            stored.append(entry)
            progress.advance(1, entry.size)
    done: list[tuple[PlannedOut, Pointer]] = []
    position = 0
    for plan in planned:
        entries = stored[position : position + len(plan.files)]
        position += len(plan.files)
        done.append((plan, _pointer(objects, plan, entries)))
    imported = []
    for plan, pointer in done:
        pointer_file = pointer_for(root / plan.out.path)
        pointer_file.parent.mkdir(parents=True, exist_ok=True)
        write_pointer(pointer_file, pointer)
        imported.append(
            ImportedDataset(
                plan.out.named_in,
                plan.out.path,
                project_relative(root, pointer_file),
                "dir" if pointer.kind == "dir" else "file",
                pointer.oid,
                pointer.size,
                pointer.files,
            )
        )
    return imported


def _store(objects: ObjectStore, plan: PlannedOut, file: _File) -> TreeEntry:
    what = f"{plan.out.named_in}: {'/'.join(p for p in (plan.out.path, file.relpath) if p)}"
    mode = 0o755 if file.executable else 0o644
    if file.source.stat().st_size > LARGE:  # streamed, never held whole; the store re-hashes it
        _check(_file_chunks(file.source), file.object, what, file.source)
        oid, size = objects.put_file(file.source)
    else:
        data = file.source.read_bytes()
        _check(_chunks(data), file.object, what, file.source)
        oid, size = objects.put_bytes(data), len(data)
    return TreeEntry(file.relpath, oid, size, mode)


def _pointer(objects: ObjectStore, plan: PlannedOut, entries: list[TreeEntry]) -> Pointer:
    name = Path(plan.out.path).name
    if not plan.out.object.is_dir:
        (entry,) = entries
        return Pointer(name, "file", entry.oid, entry.size, 1)
    tree = Tree(tuple(entries))
    return Pointer(name, "dir", objects.put_bytes(tree.encode()), tree.size, len(entries))


def _chunks(data: bytes) -> Iterator[bytes]:
    yield from (data[start : start + CHUNK] for start in range(0, len(data), CHUNK))


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


__all__ = [
    "CHUNK",
    "DvcObject",
    "DvcOut",
    "ImportedDataset",
    "PlannedOut",
    "import_planned",
    "is_text",
    "md5_of",
    "plan_import",
    "read_outs",
]
