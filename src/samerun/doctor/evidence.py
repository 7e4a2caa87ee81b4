"""Project checks: what the project does to make its results reproducible, with evidence."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from samerun._exceptions import SamerunError
from samerun.doctor import pins
from samerun.doctor.model import Evidence, Finding
from samerun.doctor.programs import Program
from samerun.manifest import load_manifest
from samerun.store.meta import RunRow
from samerun.store.project import Project, find_root, open_store

#: Verdicts that prove a run reproduces.
PROVEN = ("identical", "equivalent")
#: How many of the latest runs are examined for provenance and verdicts.
RUNS_EXAMINED = 1000
_CI_ENTRIES = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".ci/**/*",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "Jenkinsfile",
    ".travis.yml",
    "bitbucket-pipelines.yml",
    ".buildkite/*.yml",
)
_CI_TASKS = ("Makefile", "tox.ini", "noxfile.py", "justfile", "Taskfile.yml")
_REPRO = re.compile(r"reproduc|determinis", re.IGNORECASE)
_SEED_RULES = ("RNG001", "RNG002", "RNG004")


def git_state(root: Path) -> tuple[Evidence, Evidence]:
    """Whether the code is in git with a commit, and whether the working tree is clean."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )

    try:
        head = git("rev-parse", "--verify", "-q", "HEAD")
        inside = git("rev-parse", "--show-toplevel")
    except OSError:
        head = inside = subprocess.CompletedProcess([], 1, "", "")
    if inside.returncode != 0:
        versioned = Evidence(
            "git",
            "code in git",
            1,
            False,
            "not a git repository",
            "put the code in git: `git init && git add -A && git commit -m 'initial'`",
        )
        return versioned, Evidence("clean", "working tree clean", 0, False, "not in git")
    if head.returncode != 0:
        versioned = Evidence(
            "git",
            "code in git",
            1,
            False,
            f"git repository {inside.stdout.strip()} has no commit",
            "commit the code: `git add -A && git commit -m 'initial'`",
        )
    else:
        versioned = Evidence("git", "code in git", 1, True, f"commit {head.stdout.strip()[:12]}")
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".").stdout.splitlines()
    clean = Evidence(
        "clean",
        "working tree clean",
        0,
        not status,
        "no uncommitted change" if not status else f"{len(status)} changed files not committed",
        "commit your changes before recording runs",
    )
    return versioned, clean


def environment(dirs: Sequence[Path]) -> list[Evidence]:
    return [pins.dependencies(dirs), pins.python(dirs)]


def data(files: Sequence[Path]) -> Evidence:
    """Whether datasets are versioned: samerun pointer files or DVC files."""
    pointers = [p for p in files if p.suffix == ".samerun"]
    dvc = [p for p in files if p.suffix == ".dvc" or p.name == "dvc.yaml"]
    found = [f"{len(pointers)} samerun pointer files"] if pointers else []
    found += [f"{len(dvc)} DVC files"] if dvc else []
    if found:
        return Evidence("data", "data versioned", 3, True, " and ".join(found))
    return Evidence(
        "data",
        "data versioned",
        3,
        False,
        "no samerun pointer (*.samerun) or DVC file",
        "version the datasets the code reads: commit samerun pointer files (*.samerun) or DVC "
        "files",
    )


def seeds(findings: Sequence[Finding], programs: Sequence[Program]) -> Evidence:
    """Whether every global generator each program draws from is seeded (from the analysis),
    and which programs (entry points) seed what."""
    hazards = [f for f in findings if f.rule in _SEED_RULES]
    seeding = [p for p in programs if p.facts.seeded]
    done = (
        "; ".join(f"{p.entry} seeds {', '.join(sorted(p.facts.seeded))}" for p in seeding[:3])
        + (f"; {len(seeding) - 3} more programs seed" if len(seeding) > 3 else "")
        if seeding
        else "no global generator is seeded"
    )
    if not hazards:
        detail = done if seeding else "no unseeded random generator is used"
        return Evidence("seeds", "seeds set", 3, True, detail)
    first = hazards[0]
    return Evidence(
        "seeds",
        "seeds set",
        3,
        False,
        f"{len(hazards)} unseeded or clock-seeded uses, the first at {first.where}; {done}",
        "seed every random generator the code uses (see the RNG findings)",
    )


def verdict_of(row: RunRow) -> str | None:
    """The run's latest verification verdict, or None when it was never verified."""
    return row.verdict


def runs(start: Path) -> list[Evidence]:
    """Recorded runs with full provenance, and verified runs, from the project's store."""
    project = Project(find_root(start))
    record = "record runs with `samerun record -- python train.py` from a clean, committed tree"
    verify = "prove a run reproduces: `samerun verify last`"
    if not project.exists:
        return [
            Evidence(
                "runs",
                "runs recorded with full provenance",
                3,
                False,
                "no samerun store: no run recorded",
                record,
            ),
            Evidence("verified", "runs verified", 4, False, "no verified runs", verify),
        ]
    try:
        rows, provenance = _examine(project)
    except SamerunError as err:
        detail = f"cannot read the store in {project.store_dir}: {err}"
        return [
            Evidence("runs", "runs recorded with full provenance", 3, False, detail, record),
            Evidence("verified", "runs verified", 4, False, detail, verify),
        ]
    recorded = Evidence(
        "runs",
        "runs recorded with full provenance",
        3,
        provenance is not None,
        f"{len(rows)} runs; {provenance[:8]} has a commit, a clean tree and its environment"
        if provenance
        else f"{len(rows)} runs, none finished from a clean commit with its environment",
        record,
    )
    verdicts = Counter(v for v in map(verdict_of, rows) if v)
    proven = sum(verdicts[v] for v in PROVEN)
    summary = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
    verified = Evidence(
        "verified",
        "runs verified",
        4,
        proven > 0,
        f"{proven} {'run' if proven == 1 else 'runs'} proven to reproduce ({summary})"
        if verdicts
        else "no verified runs",
        verify,
    )
    return [recorded, verified]


def _examine(project: Project) -> tuple[list[RunRow], str | None]:
    """The latest runs, and the id of the newest one with full provenance (or None)."""

    store = open_store(project)
    try:
        rows = store.meta.list_runs(limit=RUNS_EXAMINED)
        for row in rows:
            if row.status != "finished" or not row.commit_sha or row.dirty:
                continue
            manifest = load_manifest(store, row.id)
            code, env = manifest.inputs.code, manifest.inputs.environment
            if code.commit and not code.dirty and env.python and env.packages:
                return rows, row.id
        return rows, None
    finally:
        store.close()


def ci(root: Path, files: Sequence[Path]) -> Evidence:
    """Whether a CI configuration runs `samerun verify` or the reproducibility tests."""
    title = "reproduction checked in CI"
    step = "run `samerun verify` (or your reproducibility tests) in CI"
    entries = sorted({p for pattern in _CI_ENTRIES for p in root.glob(pattern) if p.is_file()})
    if not entries:
        return Evidence("ci", title, 4, False, "no CI configuration", step)
    tasks = [root / name for name in _CI_TASKS if (root / name).is_file()]
    texts = {p: p.read_text(errors="replace") for p in [*entries, *tasks]}
    for path, text in texts.items():
        if "samerun verify" in text:
            return Evidence("ci", title, 4, True, f"{path.relative_to(root)} runs samerun verify")
    for path, text in texts.items():
        if _REPRO.search(text):
            return Evidence(
                "ci", title, 4, True, f"{path.relative_to(root)} runs reproducibility checks"
            )
    repro_tests = [p for p in files if p.name.startswith("test") and _REPRO.search(p.name)]
    if repro_tests and any("pytest" in text for text in texts.values()):
        return Evidence(
            "ci", title, 4, True, f"CI runs pytest, which runs {repro_tests[0].relative_to(root)}"
        )
    names = ", ".join(str(p.relative_to(root)) for p in entries)
    return Evidence("ci", title, 4, False, f"{names} runs no reproducibility check", step)
