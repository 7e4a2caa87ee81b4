"""Files that cannot be analysed are skipped with the reason; suppression comments."""

from __future__ import annotations

import subprocess
from pathlib import Path

from samerun.doctor.sources import MAX_SOURCE_BYTES, project_files
from tests.doctor.conftest import Analyse, rule_ids

UNSEEDED = "import random\nx = random.random()\n"


def test_unanalysable_files_are_skipped_with_the_reason(analyse: Analyse) -> None:
    found = analyse(
        {
            "broken.py": "def f(:\n",
            "binary.py": b"\x00\x01\x02",
            "huge.py": "x = 1\n" * (MAX_SOURCE_BYTES // 6 + 10),
            "bad.ipynb": "{not json",
            "old.ipynb": '{"worksheets": []}',
            "ok.py": UNSEEDED,
        }
    )
    reasons = {s.path: s.reason for s in found.skipped}
    assert reasons["broken.py"].startswith("syntax error at line 1")
    assert reasons["binary.py"] == "binary file"
    assert reasons["huge.py"].startswith("larger than 1 MiB")
    assert reasons["bad.ipynb"].startswith("unreadable notebook: not valid JSON")
    assert reasons["old.ipynb"].startswith("unreadable notebook: no `cells`")
    assert found.files == 1
    assert rule_ids(found) == ["RNG001"]


def test_inline_comments_silence_the_named_rules_only(analyse: Analyse) -> None:
    found = analyse(
        {
            "a.py": "import random\nx = random.random()  # samerun: ignore[RNG001]\n",
            "b.py": "import random\nx = random.random()  # samerun: ignore[ORD]\n",
            "c.py": "import random\nx = random.random()  # samerun: ignore\n",
            "d.py": "import random\nx = random.random(  # samerun: ignore[rng]\n)\n",
        }
    )
    assert [f.path for f in found.findings] == ["b.py"]


def test_git_ignored_files_and_virtualenvs_are_not_the_projects(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "venv" / "lib" / "site-packages").mkdir(parents=True)
    (root / "venv" / "lib" / "site-packages" / "dep.py").write_text(UNSEEDED)
    (root / "build").mkdir()
    (root / "build" / "gen.py").write_text(UNSEEDED)
    (root / ".gitignore").write_text("build/\n")
    (root / "train.py").write_text(UNSEEDED)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    names = [p.relative_to(root).as_posix() for p in project_files(root)]
    assert names == [".gitignore", "train.py"]
    (root / ".git").rename(root / "not-git")  # outside git: a directory walk
    names = [p.relative_to(root).as_posix() for p in project_files(root)]
    assert "train.py" in names
    assert not any("site-packages" in n for n in names)
