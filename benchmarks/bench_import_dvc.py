"""``samerun data import-dvc`` side by side with ``dvc checkout`` of the same data.

A DVC 3 repository gets FILES random files of SIZE MiB in all (``dvc add``, untimed), so DVC's
cache holds them. Timed, each in a fresh process: ``dvc checkout`` of the dataset into an empty
workspace (DVC copies each object out of its cache; it does not re-hash them), against
``samerun data import-dvc`` of its ``.dvc`` file into a fresh samerun store (which reads every
object, checks its md5, hashes it with blake3 and stores it, then writes the pointer). The
issue's size is 1 GiB in 10,000 files (the default); ``--files`` and ``--mib`` scale it down:

    .venv/bin/python benchmarks/bench_import_dvc.py --files 2000 --mib 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    REPO,
    SAMERUN_CLI,
    BenchError,
    Result,
    child_env,
    git,
    median,
    run_timed,
    say,
    scratch,
)
from suites import Config

FILES = 10_000
MIB = 1024
DVC = REPO / ".venv" / "bin" / "dvc"


def _dvc_repo(root: Path, files: int, mib: int) -> Path:
    git(root, "init", "--quiet", "--initial-branch=main")
    run_timed([DVC, "init", "-q"], root, _env())
    size = mib * 1024 * 1024 // files
    for index in range(files):
        folder = root / "data" / "raw" / f"{index % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:05d}.bin").write_bytes(os.urandom(size))
    run_timed([DVC, "add", "-q", "data/raw"], root, _env())
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "data")
    return root


def _env() -> dict[str, str]:
    return child_env({"DVC_NO_ANALYTICS": "1"})


def bench_import_dvc(config: Config, files: int = FILES, mib: int = MIB) -> list[Result]:
    reps = max(1, min(config.reps, 3))
    with scratch("import-dvc") as root:
        say(f"import_dvc: dvc add of {files:,} files, {mib:,} MiB (untimed)")
        repo = _dvc_repo(root, files, mib)
        ours, theirs = [], []
        for _ in range(reps):
            shutil.rmtree(repo / "data" / "raw")
            theirs.append(run_timed([DVC, "checkout", "-q", "data/raw.dvc"], repo, _env()).wall_s)
            shutil.rmtree(repo / ".samerun", ignore_errors=True)
            (repo / "data" / "raw.samerun").unlink(missing_ok=True)
            imported = run_timed([SAMERUN_CLI, "data", "import-dvc", "data/raw.dvc"], repo)
            ours.append(imported.wall_s)
            pointer = (repo / "data" / "raw.samerun").read_text()
            if f"files: {files}\n" not in pointer:
                raise BenchError(f"the pointer does not name {files} files:\n{pointer}")
        status = run_timed([SAMERUN_CLI, "data", "status", "data/raw"], repo)
        if "unchanged data/raw" not in status.stdout:
            raise BenchError(f"samerun does not find DVC's checkout unchanged: {status.stdout}")
    ours_s, theirs_s = median(ours), median(theirs)
    return [
        Result(
            f"samerun data import-dvc of {files:,} files ({mib:,} MiB) from DVC's cache vs "
            "dvc checkout of the same (whole processes)",
            "s",
            ours_s,
            theirs_s,
            theirs_s / ours_s,
            details={
                "files": files,
                "mib": mib,
                "reps": reps,
                "samerun_each": ours,
                "dvc_each": theirs,
            },
        )
    ]


INTEROP_DVC_BENCHMARKS = {"import_dvc": bench_import_dvc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--mib", type=int, default=MIB)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    (result,) = bench_import_dvc(Config(reps=args.reps), args.files, args.mib)
    print(result.name)
    print(
        f"samerun {result.samerun:.2f} s, dvc checkout {result.peer:.2f} s, "
        f"ratio {result.ratio:.2f}x (dvc time / samerun time)"
    )


if __name__ == "__main__":
    main()
