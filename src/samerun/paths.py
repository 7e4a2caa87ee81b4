"""Checks on paths from records, pointer files, trees and the workspace: nothing leaves its root.

A bottom layer: the recorder, ``capture/`` and ``data/`` all check
paths here, and it imports nothing of theirs.
"""

from __future__ import annotations

import os
from pathlib import Path

from samerun._exceptions import PathOutsideProject, UnsafePath


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` (already resolved) lies inside ``root`` (already resolved)."""
    return path == root or root in path.parents


#: Parts that no normalized relative path has (checked on every entry of every tree read).
_NOT_NAMES = frozenset({"", ".", ".."})


def check_relative(path: str, where: str) -> str:
    """``path`` if it is a plain relative POSIX path (no ``..``, not absolute); else raises."""
    if not isinstance(path, str) or not path:
        raise UnsafePath(str(path), where, "it is empty or not a string")
    if "\\" in path or "\0" in path:
        raise UnsafePath(path, where, "it contains a backslash or a NUL byte")
    if path.startswith("/"):
        raise UnsafePath(path, where, "it is absolute")
    if not _NOT_NAMES.isdisjoint(path.split("/")):  # "a//b" and "a/" have an empty part
        raise UnsafePath(path, where, "it is not a normalized path inside the dataset (`..`)")
    return path


def leads_outside(target: Path, real_root: Path) -> bool:
    """Whether ``target``'s directory, or ``target`` itself when it is a symlink, resolves
    outside ``real_root`` (already resolved)."""
    return not is_within(target.parent.resolve(), real_root) or (
        target.is_symlink() and not is_within(target.resolve(), real_root)
    )


def inside(root: Path, relative: str, where: str) -> Path:
    """``root / relative`` after checking that no symlink on the way leads out of ``root``."""
    target = root / check_relative(relative, where)
    if leads_outside(target, root.resolve()):
        raise UnsafePath(relative, where, f"a symlink leads outside {root}")
    return target


def project_relative(root: Path, path: str | os.PathLike[str], *, base: Path | None = None) -> str:
    """``path`` as a POSIX path relative to ``root``; raises if it resolves outside the root."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = (base or Path.cwd()) / candidate
    resolved = candidate.resolve()
    real_root = root.resolve()
    if not is_within(resolved, real_root):
        raise PathOutsideProject(str(path), str(root))
    return resolved.relative_to(real_root).as_posix() or "."
