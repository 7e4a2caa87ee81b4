"""What ``samerun verify`` costs beyond the run's own time, for a run that read a 1 GiB dataset.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_verify.py [--gib 1.0] [--files 64] [--reps 3]

A git project holds a dataset of ``--files`` files totalling ``--gib`` GiB (``samerun data add``)
and a script that reads every byte of it. The script is recorded once, then verified
``--reps`` times. The overhead is verify's wall time minus the replay's own duration: the git
worktree, the patch, materializing the dataset, capturing the replay's inputs, and comparing.
Materialization links files where the filesystem allows; the same dataset is also materialized by
copying, to show what links save. No peer tool replays a run, so there is no ratio against one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [str(REPO / ".venv" / "bin" / "python"), "-m", "samerun.cli"]
READER = """\
from pathlib import Path
total = 0
for path in sorted(Path("data/big").iterdir()):
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            total += chunk[0]
Path("checksum.txt").write_text(str(total))
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return done


def make_project(root: Path, gib: float, files: int) -> None:
    data = root / "data" / "big"
    data.mkdir(parents=True)
    size = int(gib * (1 << 30)) // files
    block = os.urandom(1 << 20)
    for index in range(files):
        with open(data / f"part-{index:04d}.bin", "wb") as handle:
            for offset in range(0, size, len(block)):
                handle.write(block[: min(len(block), size - offset)])
            handle.write(index.to_bytes(8, "little"))
    (root / "read.py").write_text(READER)
    (root / ".gitignore").write_text("checksum.txt\n")
    run("git", "init", "-q", "-b", "main", cwd=root)
    run(*CLI, "data", "add", "data/big", cwd=root)
    run("git", "add", "-A", cwd=root)
    run("git", "commit", "-q", "-m", "data", cwd=root)


def materialize_seconds(root: Path, oid: str, link: bool) -> float:
    from samerun.data.checkout import materialize
    from samerun.store.objects import open_object_store

    objects = open_object_store(str(root / ".samerun" / "objects"))
    with tempfile.TemporaryDirectory(dir=root.parent) as scratch:
        start = time.perf_counter()
        materialize(oid, Path(scratch) / "big", objects, link=link)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="samerun-bench-verify-") as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        make_project(root, options.gib, options.files)
        recorded = json.loads(
            run(
                *CLI,
                "record",
                "--json",
                "-o",
                "checksum.txt",
                "--",
                sys.executable,
                "read.py",
                cwd=root,
            ).stdout
        )
        dataset = recorded["inputs"]["data"][0]
        walls, overheads = [], []
        for _ in range(options.reps):
            start = time.perf_counter()
            result = json.loads(run(*CLI, "verify", recorded["id"], "--json", cwd=root).stdout)
            wall = time.perf_counter() - start
            assert result["verdict"] == "identical", result
            replay = json.loads(run(*CLI, "show", result["replay"], "--json", cwd=root).stdout)
            own = _duration(replay)
            walls.append(wall)
            overheads.append(wall - own)
        linked = materialize_seconds(root, dataset["oid"], link=True)
        copied = materialize_seconds(root, dataset["oid"], link=False)

    print(
        f"dataset: {options.gib:g} GiB in {options.files} files; "
        f"verify repeated {options.reps} times"
    )
    print(f"  recorded run, own time:        {_duration(recorded):7.2f} s")
    print(f"  verify, wall (median):         {statistics.median(walls):7.2f} s")
    print(f"  verify overhead beyond the run: {statistics.median(overheads):6.2f} s (median)")
    print(f"  materialize by links:          {linked:7.3f} s")
    print(
        f"  materialize by copying:        {copied:7.3f} s ({copied / linked:.0f}x the linked time)"
    )


def _duration(manifest: dict[str, object]) -> float:
    from datetime import datetime

    started = datetime.fromisoformat(str(manifest["started_at"]))
    ended = datetime.fromisoformat(str(manifest["ended_at"]))
    return (ended - started).total_seconds()


if __name__ == "__main__":
    main()
