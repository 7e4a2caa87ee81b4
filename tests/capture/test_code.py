from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from samerun.capture.code import UNTRACKED_FILE_CAP, capture_code, strip_url_credentials
from tests.conftest import git


class PatchStore:
    def __init__(self) -> None:
        self.patches: dict[str, bytes] = {}

    def __call__(self, data: bytes) -> str:
        oid = f"blake3:{len(self.patches):064x}"
        self.patches[oid] = data
        return oid


def test_clean_checkout_has_commit_branch_and_no_patch(project: Path) -> None:
    store = PatchStore()
    state = capture_code(project, store)
    head = git(project, "rev-parse", "HEAD")
    assert state.vcs == "git"
    assert state.commit == head
    assert state.branch == "main"
    assert not state.dirty
    assert state.patch is None
    assert state.tree == "git:" + git(project, "rev-parse", "HEAD^{tree}")


def test_uncommitted_change_is_a_patch_that_applies_at_the_commit(
    project: Path, tmp_path: Path
) -> None:
    (project / "train.py").write_text("print('changed')\n")
    (project / "notes.txt").write_text("untracked text\n")
    store = PatchStore()
    state = capture_code(project, store)
    assert state.dirty
    assert state.patch is not None
    patch = store.patches[state.patch]
    assert b"changed" in patch
    assert b"untracked text" in patch
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    subprocess.run(["git", "apply", "--index"], cwd=clone, input=patch, check=True)
    assert (clone / "train.py").read_text() == "print('changed')\n"
    assert (clone / "notes.txt").read_text() == "untracked text\n"


def test_committing_the_change_keeps_the_code_identity(project: Path) -> None:
    (project / "train.py").write_text("print('v2')\n")
    (project / "new.py").write_text("x = 1\n")
    before = capture_code(project, PatchStore())
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "v2")
    after = capture_code(project, PatchStore())
    assert before.dirty
    assert not after.dirty
    assert before.tree == after.tree
    assert before.identity() == after.identity()


def test_the_users_index_and_objects_are_untouched(project: Path) -> None:
    (project / "train.py").write_text("print('changed')\n")
    (project / "extra.py").write_text("y = 2\n")
    index = (project / ".git" / "index").read_bytes()
    objects = sorted(p.name for p in (project / ".git" / "objects").rglob("*"))
    capture_code(project, PatchStore())
    assert (project / ".git" / "index").read_bytes() == index
    assert sorted(p.name for p in (project / ".git" / "objects").rglob("*")) == objects
    assert "extra.py" in git(project, "status", "--porcelain")


def test_ignored_binary_large_and_output_files_are_left_out(project: Path) -> None:
    (project / "model.pkl").write_bytes(b"\0" * 10)  # ignored by .gitignore
    (project / "blob.bin").write_bytes(b"\0\1\2")
    (project / "big.txt").write_text("x" * (UNTRACKED_FILE_CAP + 1))
    (project / "metrics.json").write_text("{}")
    state = capture_code(project, PatchStore(), exclude=["metrics.json"])
    assert not state.dirty
    assert state.tree == "git:" + git(project, "rev-parse", "HEAD^{tree}")
    assert any(item.startswith("blob.bin (untracked, binary)") for item in state.left_out)
    assert any(item.startswith("big.txt (untracked, over") for item in state.left_out)
    assert not any("model.pkl" in item or "metrics.json" in item for item in state.left_out)


def test_repository_without_commits_is_recorded_as_a_patch(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.py").write_text("print(1)\n")
    store = PatchStore()
    state = capture_code(tmp_path, store)
    assert state.commit is None
    assert state.dirty
    assert b"print(1)" in store.patches[state.patch or ""]
    assert any("no commit yet" in w for w in state.warnings)


def test_outside_git_the_source_files_are_hashed(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    (tmp_path / "data.bin").write_bytes(b"\0")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text("ignored\n")
    first = capture_code(tmp_path, PatchStore())
    (tmp_path / "data.bin").write_bytes(b"\1")
    (tmp_path / ".venv" / "lib.py").write_text("changed\n")
    assert capture_code(tmp_path, PatchStore()).tree == first.tree
    (tmp_path / "train.py").write_text("print(2)\n")
    second = capture_code(tmp_path, PatchStore())
    assert first.vcs == "none"
    assert second.tree != first.tree
    assert "not in a git repository" in first.warnings[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:ghp_token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("https://ghp_token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("ssh://git@host/repo.git", "ssh://git@host/repo.git"),
        ("ssh://git:pw@host/repo.git", "ssh://host/repo.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("https://github.com/a/b.git", "https://github.com/a/b.git"),
    ],
)
def test_remote_credentials_are_stripped(url: str, expected: str) -> None:
    assert strip_url_credentials(url) == expected


def test_remote_is_recorded_without_credentials(project: Path) -> None:
    git(project, "remote", "add", "origin", "https://me:s3cr3t@example.com/x.git")
    assert capture_code(project, PatchStore()).remote == "https://example.com/x.git"
