from __future__ import annotations

import os
from pathlib import Path

import pytest

from samerun._exceptions import PointerError
from samerun.data.pointer import (
    Pointer,
    _as_dumped,
    find_pointers,
    parse_pointer,
    read_pointer,
)
from samerun.hashing import hash_bytes

OID = hash_bytes(b"x")
GOOD = f"format: samerun.pointer/1\npath: raw\nkind: dir\noid: {OID}\nsize: 3\nfiles: 1\n"


def test_pointer_is_small_readable_yaml_that_round_trips() -> None:
    pointer = Pointer("raw", "dir", OID, 1024, 3)
    text = pointer.dump().decode()
    assert "path: raw\nkind: dir\n" in text
    assert f"oid: {OID}" in text
    assert parse_pointer(pointer.dump(), "p") == pointer


@pytest.mark.parametrize(
    ("path", "without_yaml"),
    [("raw", True), ("labels.csv", True), ("a/b_c-1", True)]
    + [(word, False) for word in ("yes", "Off", "010", ".inf", "~")],
)
def test_pointers_samerun_wrote_read_as_yaml_reads_them(path: str, without_yaml: bool) -> None:
    import yaml

    dumped = Pointer(path, "file", OID, 10**12, 1).dump()
    fast = _as_dumped(dumped)
    assert (fast is not None) == without_yaml
    assert fast is None or fast == yaml.safe_load(dumped)
    assert _as_dumped(dumped.replace(b"size: ", b"size: 0")) is None  # octal to YAML 1.1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("path: [unclosed", "not valid YAML"),
        ("- a list", "expected a mapping"),
        (GOOD.replace("files: 1\n", ""), "missing files"),
        (GOOD.replace("samerun.pointer/1", "dvc/2"), "format"),
        (GOOD.replace("path: raw", "path: ../../etc"), "unsafe"),
        (GOOD.replace("path: raw", "path: /etc/passwd"), "absolute"),
        (GOOD.replace(OID, "md5:abc"), "not a blake3"),
        (GOOD.replace("size: 3", "size: -1"), "non-negative"),
    ],
)
def test_malformed_pointers_get_one_line_naming_the_file(text: str, reason: str) -> None:
    with pytest.raises(PointerError, match=reason) as caught:
        parse_pointer(text.encode(), "data/raw.samerun")
    assert str(caught.value).startswith("pointer file data/raw.samerun:")
    assert "\n" not in str(caught.value)


def test_a_pointer_whose_data_is_a_symlink_out_of_the_project_is_rejected(project: Path) -> None:
    (project / "data").mkdir()
    (project / "data" / "raw.samerun").write_text(GOOD)
    os.symlink(project.parent, project / "data" / "raw")
    with pytest.raises(PointerError, match="leads outside the project"):
        read_pointer(project, project / "data" / "raw.samerun")


def test_pointers_are_found_in_git_and_outside_it(project: Path, tmp_path: Path) -> None:
    (project / "data").mkdir()
    (project / "data" / "raw.samerun").write_text(GOOD)
    assert find_pointers(project) == [project / "data" / "raw.samerun"]
    plain = tmp_path / "plain"
    (plain / "x").mkdir(parents=True)
    (plain / "x" / "raw.samerun").write_text(GOOD)
    assert find_pointers(plain) == [plain / "x" / "raw.samerun"]


def test_git_ignored_pointers_are_skipped_unless_git_is_missing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "kept").mkdir()
    (project / "kept" / "raw.samerun").write_text(GOOD)
    (project / "scratch").mkdir()
    (project / "scratch" / "raw.samerun").write_text(GOOD)
    (project / ".gitignore").write_text("/scratch/\n")
    assert find_pointers(project) == [project / "kept" / "raw.samerun"]
    monkeypatch.setenv("PATH", str(tmp_path))  # no git there: the walk finds both
    assert find_pointers(project) == [
        project / "kept" / "raw.samerun",
        project / "scratch" / "raw.samerun",
    ]
