"""Project evidence and the level, on real git repositories with a real store."""

from __future__ import annotations

from pathlib import Path

from samerun.doctor import diagnose
from samerun.store.project import Project, open_store
from tests.conftest import Cli, git


def evidence(root: Path) -> dict[str, tuple[bool, str]]:
    return {e.check: (e.holds, e.detail) for e in diagnose(root).evidence}


def make_reproducible(root: Path, cli: Cli) -> None:
    (root / "requirements.txt").write_text("numpy==1.26.4\n")
    (root / ".python-version").write_text("3.11\n")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("x,y\n1,2\n")
    done = cli("data", "add", "data/train.csv", cwd=root)
    assert done.exit_code == 0, done.stderr
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "jobs:\n  repro:\n    steps:\n      - run: samerun verify last\n"
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pin")


def test_a_directory_outside_git_is_level_0(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")
    report = diagnose(tmp_path)
    assert report.level == 0
    assert report.next_steps[0].startswith("put the code in git")


def test_a_committed_project_is_level_1_with_steps_to_level_2(project: Path) -> None:
    report = diagnose(project)
    assert report.level == 1
    found = evidence(project)
    assert found["git"][0]
    assert found["clean"][0]
    assert found["seeds"] == (True, "train.py seeds random")
    assert not found["dependencies"][0]
    assert not found["python"][0]
    assert [s.split(":")[0] for s in report.next_steps] == ["pin every dependency", "pin Python"]
    (project / "train.py").write_text("import random\nprint(random.random())\n")
    found = evidence(project)
    assert found["clean"] == (False, "1 changed files not committed")
    assert not found["seeds"][0]
    assert "train.py:2" in found["seeds"][1]


def test_recorded_verified_and_checked_in_ci_is_level_4(project: Path, cli: Cli) -> None:
    make_reproducible(project, cli)
    assert diagnose(project).level == 2  # no run recorded yet
    done = cli("record", "--seed", "1", "--", "python", "train.py", cwd=project)
    assert done.exit_code == 0, done.stderr
    report = diagnose(project)
    assert report.level == 3
    assert report.next_steps == ["prove a run reproduces: `samerun verify last`"]
    store = open_store(Project(project))
    try:
        run_id = store.meta.list_runs()[0].id
        store.meta.add_verification(run_id=run_id, replay_id=None, verdict="identical", details={})
    finally:
        store.close()
    report = diagnose(project)
    assert report.level == 4
    assert evidence(project)["verified"] == (True, "1 run proven to reproduce (1 identical)")


def test_a_dirty_run_has_no_full_provenance(project: Path, cli: Cli) -> None:
    (project / "train.py").write_text((project / "train.py").read_text() + "# edited\n")
    cli("record", "--", "python", "train.py", cwd=project)
    holds, detail = evidence(project)["runs"]
    assert not holds
    assert detail.startswith("1 runs, none finished from a clean commit")


def test_ci_that_runs_reproducibility_tests_counts(project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text("test:\n  script: pytest\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_reproducibility.py").write_text("def test_x():\n    pass\n")
    git(project, "add", "-A")
    holds, detail = evidence(project)["ci"]
    assert holds
    assert detail == "CI runs pytest, which runs tests/test_reproducibility.py"
    (project / "tests" / "test_reproducibility.py").rename(project / "tests" / "test_x.py")
    git(project, "add", "-A")
    assert evidence(project)["ci"] == (False, ".gitlab-ci.yml runs no reproducibility check")
