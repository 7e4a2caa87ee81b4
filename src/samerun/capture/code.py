"""The code pillar: commit, branch, remote, and the uncommitted change as a patch.

The code's identity is the content of the working tree, not the commit: in a git repository it
is the git tree id of the working state (tracked files as they are on disk plus untracked,
non-ignored text files), so a run on uncommitted code and a run after committing that code share
it. Outside git it is the blake3 tree of the directory's source files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from samerun._exceptions import CaptureError
from samerun.hashing import hash_file, hash_json
from samerun.sourcetree import walk_files

#: An untracked file larger than this, or one with a NUL byte, is left out of the patch.
UNTRACKED_FILE_CAP = 1 << 20
#: A patch larger than this is not stored; the run reports it.
PATCH_CAP = 16 << 20
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

#: Outside git, files with these suffixes make up the code identity.
SOURCE_SUFFIXES = frozenset(
    ".py .pyx .pxd .ipynb .sh .r .jl .sql .yaml .yml .json .toml .cfg .ini .txt .c .cc .cpp .h"
    " .hpp .cu .rs .go .java .scala .js .ts".split()
)

Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


@dataclass(frozen=True)
class CodeState:
    vcs: str  # "git" or "none"
    root: str
    tree: str  # content identity of the code: "git:<tree id>" or a blake3 tree hash
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    dirty: bool = False
    patch: str | None = None  # object id of the uncommitted change (git diff --binary)
    patch_size: int = 0
    left_out: list[str] = field(default_factory=list)  # untracked files kept out, with why
    warnings: list[str] = field(default_factory=list)

    def identity(self) -> dict[str, Any]:
        return {"vcs": self.vcs, "tree": self.tree}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeState:
        return cls(**data)


def strip_url_credentials(value: str) -> str:
    """Drop passwords and tokens from a URL (``https://tok@host/x`` → ``https://host/x``)."""
    if "@" not in value or "://" not in value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.netloc or "@" not in parts.netloc:
        return value
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    keep_user = parts.scheme in ("ssh", "git+ssh") and ":" not in userinfo
    netloc = f"{user}@{host}" if keep_user and user else host
    return urlunsplit(parts._replace(netloc=netloc))


class _Git:
    def __init__(self, root: Path, run: Runner, env: dict[str, str] | None = None) -> None:
        self.root = root
        self._run = run
        self._env = env

    def __call__(self, *args: str, stdin: bytes | None = None, ok: Sequence[int] = (0,)) -> str:
        return self.raw(*args, stdin=stdin, ok=ok).decode("utf-8", "surrogateescape").strip()

    def raw(self, *args: str, stdin: bytes | None = None, ok: Sequence[int] = (0,)) -> bytes:
        done = self._run(
            ["git", "-C", str(self.root), "-c", "core.quotepath=off", *args],
            input=stdin,
            capture_output=True,
            env=self._env,
        )
        if done.returncode not in ok:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {done.returncode}"
            raise CaptureError(f"cannot record the code: git {args[0]} failed: {detail}")
        return bytes(done.stdout)


def git_toplevel(start: Path, run: Runner = subprocess.run) -> Path | None:
    """The root of the git work tree containing ``start``, or None outside git (or without git)."""
    if shutil.which("git") is None:
        return None
    done = run(["git", "-C", str(start), "rev-parse", "--show-toplevel"], capture_output=True)
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode().strip())


def _is_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        return b"\0" not in handle.read(8192)


def is_bytecode_cache(name: str) -> bool:
    """Python's compiled caches: never code, never worth a warning."""
    return name.endswith((".pyc", ".pyo")) or "__pycache__/" in f"/{name}"


def uncommitted_files(start: Path, run: Runner = subprocess.run) -> list[str] | None:
    """Tracked files changed and untracked files not ignored (bytecode caches aside), relative
    to the repository root; None outside git."""
    root = git_toplevel(start, run)
    if root is None:
        return None
    listing = _Git(root, run).raw("status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = listing.decode("utf-8", "surrogateescape").split("\0")
    names = []
    skip_next = False
    for entry in entries:
        if skip_next or not entry:  # a rename's second field is its old name
            skip_next = False
            continue
        skip_next = entry[0] in "RC"
        if not is_bytecode_cache(entry[3:]):
            names.append(entry[3:])
    return names


def _select_untracked(
    root: Path, names: Iterable[str], exclude: set[str]
) -> tuple[list[str], list[str]]:
    keep: list[str] = []
    left_out: list[str] = []
    for name in names:
        path = root / name
        excluded = name in exclude or any(name.startswith(f"{e}/") for e in exclude)
        if excluded or is_bytecode_cache(name):
            continue
        try:
            if not path.is_file() or path.is_symlink():
                continue
            if path.stat().st_size > UNTRACKED_FILE_CAP:
                left_out.append(f"{name} (untracked, over {UNTRACKED_FILE_CAP >> 20} MiB)")
            elif not _is_text(path):
                left_out.append(f"{name} (untracked, binary)")
            else:
                keep.append(name)
        except OSError:
            left_out.append(f"{name} (unreadable)")
    return keep, left_out


def capture_code(
    start: Path,
    store_patch: Callable[[bytes], str],
    *,
    exclude: Iterable[str] = (),
    run: Runner = subprocess.run,
) -> CodeState:
    """Record the code at ``start``; ``store_patch`` stores the patch bytes and returns an oid.

    ``exclude`` names untracked paths (relative to the code root) that are outputs, not code.
    """
    root = git_toplevel(start, run)
    if root is None:
        return _capture_plain_directory(start, set(exclude))
    return _capture_git(root, store_patch, set(exclude), run)


def _capture_git(
    root: Path, store_patch: Callable[[bytes], str], exclude: set[str], run: Runner
) -> CodeState:
    git = _Git(root, run)
    index_path, objects_path = git(
        "rev-parse", "--git-path", "index", "--git-path", "objects"
    ).splitlines()
    head = git("rev-parse", "--verify", "-q", "HEAD", ok=(0, 1)) or None
    branch = git("symbolic-ref", "--short", "-q", "HEAD", ok=(0, 1)) or None
    remote = _remote_url(git)
    untracked = git.raw("ls-files", "--others", "--exclude-standard", "-z").decode(
        "utf-8", "surrogateescape"
    )
    keep, left_out = _select_untracked(root, [n for n in untracked.split("\0") if n], exclude)

    with tempfile.TemporaryDirectory(prefix="samerun-code-") as scratch:
        # A private index and object directory: the user's index and .git are never written.
        private_index = Path(scratch) / "index"
        real_index = root / index_path
        if real_index.exists():
            shutil.copyfile(real_index, private_index)
        (Path(scratch) / "objects").mkdir()
        env = {
            **os.environ,
            "GIT_INDEX_FILE": str(private_index),
            "GIT_OBJECT_DIRECTORY": str(Path(scratch) / "objects"),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str((root / objects_path).resolve()),
        }
        private = _Git(root, run, env)
        private("add", "--update")
        if keep:
            private(
                "add",
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
                stdin="\0".join(keep).encode(),
            )
        tree = private("write-tree")
        base = git("rev-parse", f"{head}^{{tree}}") if head else EMPTY_TREE
        dirty = tree != base
        patch_bytes = (
            private.raw(
                "diff", "--cached", "--binary", "--no-color", "--no-ext-diff", head or EMPTY_TREE
            )
            if dirty
            else b""
        )

    warnings: list[str] = []
    patch_oid = None
    if len(patch_bytes) > PATCH_CAP:
        warnings.append(
            f"the uncommitted change is {len(patch_bytes) >> 20} MiB, over the "
            f"{PATCH_CAP >> 20} MiB cap: it was not stored, so this run can be replayed only "
            "if you commit it"
        )
    elif patch_bytes:
        patch_oid = store_patch(patch_bytes)
    if head is None:
        warnings.append("the repository has no commit yet: the code is recorded as a patch")
    return CodeState(
        vcs="git",
        root=str(root),
        tree=f"git:{tree}",
        commit=head,
        branch=branch,
        remote=remote,
        dirty=dirty,
        patch=patch_oid,
        patch_size=len(patch_bytes),
        left_out=left_out,
        warnings=warnings,
    )


def _remote_url(git: _Git) -> str | None:
    listing = git("config", "--get-regexp", r"^remote\..*\.url$", ok=(0, 1))
    urls = dict(line.split(" ", 1) for line in listing.splitlines() if " " in line)
    url = urls.get("remote.origin.url") or next(iter(urls.values()), None)
    return strip_url_credentials(url) if url else None


def _capture_plain_directory(start: Path, exclude: set[str]) -> CodeState:
    entries: list[tuple[str, str, int]] = []
    for path in walk_files(start):
        rel = path.relative_to(start).as_posix()
        if path.suffix.lower() in SOURCE_SUFFIXES and rel not in exclude and not path.is_symlink():
            entries.append((rel, hash_file(path), path.stat().st_size))
    entries.sort()
    return CodeState(
        vcs="none",
        root=str(start),
        tree=hash_json(entries),
        warnings=[
            f"{start} is not in a git repository: the code is identified by a hash of its "
            f"{len(entries)} source files and cannot be restored; run `git init` and commit"
        ],
    )
