from __future__ import annotations

import pytest

from samerun._exceptions import UnsafePath
from samerun.data.paths import check_relative


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
