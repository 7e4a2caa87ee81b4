from __future__ import annotations

from pathlib import Path

from samerun.sourcetree import walk_files


def test_walk_is_sorted_and_skips_hidden_tool_and_venv_folders(tmp_path: Path) -> None:
    for rel in (
        "b.py",
        "a/z.py",
        "a/y.txt",
        ".git/x",
        "node_modules/m.js",
        "venv/lib.py",
        ".hidden/h.py",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    found = [p.relative_to(tmp_path).as_posix() for p in walk_files(tmp_path)]
    assert found == ["b.py", "a/y.txt", "a/z.py"]
