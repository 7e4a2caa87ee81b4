from __future__ import annotations

from pathlib import Path

import pytest

from samerun._exceptions import PathOutsideProject, UnsafePath
from samerun.paths import check_relative, inside, project_relative


@pytest.mark.parametrize("path", ["a", "a/b.csv", "dir.d/..x/.hidden", "caf\u00e9/\u00fc"])
def test_a_normalized_relative_path_passes(path: str) -> None:
    assert check_relative(path, "tree t") == path


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("//etc", "absolute"),
        ("../up", "normalized"),
        ("a/../../up", "normalized"),
        ("a/./b", "normalized"),
        (".", "normalized"),
        ("a//b", "normalized"),
        ("a/", "normalized"),
        ("a\\b", "backslash"),
        ("a\0b", "NUL"),
    ],
)
def test_anything_else_is_refused_saying_why(path: str, reason: str) -> None:
    with pytest.raises(UnsafePath, match=reason):
        check_relative(path, "tree t")


def test_inside_refuses_a_symlink_that_leads_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "out").symlink_to(tmp_path)
    (root / "real" / "link").symlink_to(tmp_path / "elsewhere")
    assert inside(root, "real/file.csv", "pointer p") == root / "real" / "file.csv"
    with pytest.raises(UnsafePath, match="a symlink leads outside"):
        inside(root, "out/file.csv", "pointer p")  # through a directory
    with pytest.raises(UnsafePath, match="a symlink leads outside"):
        inside(root, "real/link", "pointer p")  # the path itself
    with pytest.raises(UnsafePath, match="normalized"):
        inside(root, "../root/real", "pointer p")


def test_project_relative_paths_are_posix_and_stay_in_the_project(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert project_relative(tmp_path, tmp_path / "sub" / "a.csv") == "sub/a.csv"
    assert project_relative(tmp_path, "a.csv", base=tmp_path / "sub") == "sub/a.csv"
    assert project_relative(tmp_path, tmp_path) == "."
    with pytest.raises(PathOutsideProject):
        project_relative(tmp_path / "sub", tmp_path / "a.csv")
