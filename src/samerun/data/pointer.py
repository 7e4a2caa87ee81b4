"""Pointer files (``data/raw.samerun``): small YAML naming one version of a dataset.

::

    # samerun dataset pointer: commit it to git; the data lives in the object store
    format: samerun.pointer/1
    path: raw
    kind: dir
    oid: blake3:…
    size: 1073741824
    files: 10000

``path`` is relative to the pointer's directory and must stay inside the project.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from samerun._atomic import atomic_write
from samerun._exceptions import PointerError, UnsafePath
from samerun.hashing import split_oid
from samerun.paths import check_relative, leads_outside

POINTER_FORMAT = "samerun.pointer/1"
SUFFIX = ".samerun"
_HEADER = "# samerun dataset pointer: commit it to git; the data lives in the object store\n"
_KEYS = ("format", "path", "kind", "oid", "size", "files")
#: Values :func:`_as_dumped` reads as YAML would: plain words and plain decimal integers.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
_INT = re.compile(r"0|[1-9][0-9]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


class Pointer(NamedTuple):
    """One dataset version, as named by a pointer file."""

    path: str  # the dataset, relative to the pointer's directory
    kind: str  # "file" or "dir"
    oid: str  # the file's object, or the directory's tree object
    size: int
    files: int

    def dump(self) -> bytes:
        lines = [f"format: {POINTER_FORMAT}"]
        lines += [f"{key}: {getattr(self, key)}" for key in _KEYS[1:]]
        return (_HEADER + "\n".join(lines) + "\n").encode()

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _KEYS[1:]}


def parse_pointer(text: bytes, where: str) -> Pointer:
    """Parse and check a pointer's bytes; every problem is one :class:`PointerError`."""
    document = _as_dumped(text)
    if document is None:
        import yaml  # start-up: `data status` reads the pointers it wrote without it

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            raise PointerError(where, "not valid YAML") from None
    if not isinstance(document, dict):
        raise PointerError(where, "expected a mapping of format, path, kind, oid, size, files")
    missing = [key for key in _KEYS if key not in document]
    if missing:
        raise PointerError(where, f"missing {', '.join(missing)}")
    if document["format"] != POINTER_FORMAT:
        raise PointerError(where, f"format {document['format']!r} is not {POINTER_FORMAT}")
    path, kind, oid = document["path"], document["kind"], document["oid"]
    try:
        check_relative(path, where)
    except UnsafePath as err:
        raise PointerError(where, f"path {path!r} is unsafe: {err.reason}") from None
    if kind not in ("file", "dir"):
        raise PointerError(where, f"kind {kind!r} is neither file nor dir")
    try:
        split_oid(oid)
    except (ValueError, AttributeError):
        raise PointerError(where, f"oid {oid!r} is not a blake3:<hex> object id") from None
    size, files = document["size"], document["files"]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (size, files)):
        raise PointerError(where, "size and files must be non-negative integers")
    return Pointer(path, kind, oid, size, files)


def _as_dumped(text: bytes) -> dict[str, Any] | None:
    """The fields of a pointer exactly as :meth:`Pointer.dump` writes it, read without YAML.

    Anything else (edited by hand, or a value YAML would read as another type) gives None,
    and YAML reads it. This keeps ``samerun data status`` from importing a YAML parser.
    """
    lines = text.split(b"\n")
    if len(lines) != len(_KEYS) + 2 or lines[0] + b"\n" != _HEADER.encode() or lines[-1]:
        return None
    fields: dict[str, Any] = {}
    for key, line in zip(_KEYS, lines[1:-1], strict=True):
        name, _, value = line.decode("utf-8", "replace").partition(": ")
        if name != key:
            return None
        if key in ("size", "files"):
            if not _INT.fullmatch(value):
                return None
            fields[key] = int(value)
        elif _WORD.fullmatch(value) and value.lower() not in _YAML_WORDS:
            fields[key] = value
        else:
            return None
    return fields


def pointer_for(dataset: Path) -> Path:
    """Where the pointer of ``dataset`` lives: next to it, named ``<name>.samerun``."""
    return dataset.with_name(dataset.name + SUFFIX)


class Dataset(NamedTuple):
    """A pointer file of the project and the dataset it names, both resolved."""

    pointer_file: Path
    pointer: Pointer
    root: Path  # the project root
    linked: int = 0  # of its files, those the add that returned it hard-linked into the store

    @property
    def path(self) -> Path:
        return self.pointer_file.parent / self.pointer.path

    @property
    def rel(self) -> str:
        return self.path.relative_to(self.root).as_posix()

    @property
    def pointer_rel(self) -> str:
        return self.pointer_file.relative_to(self.root).as_posix()


def read_pointer(root: Path, pointer_file: Path) -> Dataset:
    """Read a pointer file of the project at ``root``; the dataset must resolve inside it."""
    where = _display(root, pointer_file)
    try:
        text = pointer_file.read_bytes()
    except OSError as err:
        raise PointerError(where, f"cannot be read ({err.strerror})") from None
    dataset = Dataset(pointer_file, parse_pointer(text, where), root)
    if leads_outside(dataset.path, root.resolve()):
        raise PointerError(where, f"path {dataset.pointer.path!r} leads outside the project")
    return dataset


def write_pointer(pointer_file: Path, pointer: Pointer) -> None:
    atomic_write(pointer_file, pointer.dump())


def _display(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def find_pointers(root: Path) -> list[Path]:
    """Every pointer file of the project: git's view when it is a repository, else a walk."""
    listed = _git_output(
        root, ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "*" + SUFFIX]
    )
    if listed is None:
        found = _walk_pointers(root)
    else:
        found = [root / name for name in sorted({n for n in listed.decode().split("\0") if n})]
    return [p for p in found if p.name != SUFFIX and p.is_file()]


def _git_output(root: Path, args: list[str]) -> bytes | None:
    """What ``git -C root ARGS`` prints; None if it fails or there is no git.

    Spawned with ``posix_spawn`` rather than :mod:`subprocess`, whose imports (threads,
    signals, selectors) cost ``data status`` 5 ms of its 40.
    """
    read_end, write_end = os.pipe()  # neither is inherited: git gets a copy as its stdout
    actions = [
        (os.POSIX_SPAWN_DUP2, write_end, 1),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    try:
        pid = os.posix_spawnp(
            "git", ["git", "-C", str(root), *args], os.environ, file_actions=actions
        )
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
    with open(read_end, "rb") as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    return output if status == 0 else None


def _walk_pointers(root: Path) -> list[Path]:
    found = []
    stack = [root]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as entries:
            names = {e.name: e for e in entries}
        for name, entry in names.items():
            if name.endswith(SUFFIX) and entry.is_file():
                found.append(Path(entry.path))
            elif (
                entry.is_dir(follow_symlinks=False)
                and not name.startswith(".")
                and name + SUFFIX not in names  # a dataset: no pointers inside
            ):
                stack.append(Path(entry.path))
    return sorted(found)
