"""``samerun import mlflow`` side by side with reading the same runs back through MLflow.

An MLflow SQLite store is filled through MLflow's own client with RUNS finished runs of a
``loss`` metric of POINTS values each (untimed). Timed, each in a fresh process: ``samerun
import mlflow`` of the whole store into a fresh project (which reads every run with
``search_runs`` and ``get_metric_history`` and writes them as samerun runs, metric rows and
series objects), against a script that only reads the same runs back with those same two
calls. Both sides use the MLflow client installed with samerun (``mlflow-skinny``), so the
ratio is what the import costs beyond MLflow's own read: below 1, as it does the peer's work
and then writes. The issue's size is 1,000 runs x 1,000 points (the default); ``--runs`` and
``--points`` scale it down for a quick run:

    .venv/bin/python benchmarks/bench_import_mlflow.py --runs 100 --points 1000
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    SAMERUN_CLI,
    SAMERUN_PY,
    WORKLOADS,
    BenchError,
    Result,
    git,
    median,
    run_timed,
    run_workload,
    say,
    scratch,
)
from suites import Config

RUNS = 1_000
POINTS = 1_000


def _fresh_project(directory: Path) -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir()
    git(directory, "init", "--quiet", "--initial-branch=main")
    git(directory, "commit", "--quiet", "--allow-empty", "-m", "empty")
    return directory


def bench_import_mlflow(config: Config, runs: int = RUNS, points: int = POINTS) -> list[Result]:
    reps = max(1, min(config.reps, 3))
    with scratch("import-mlflow") as root:
        uri = f"sqlite:///{root / 'mlflow.db'}"
        say(f"import_mlflow: filling MLflow's store with {runs:,} runs x {points:,} points")
        _, filled = run_workload(
            SAMERUN_PY, WORKLOADS / "mlflow_fill_runs.py", root, uri, str(runs), str(points)
        )
        ours, theirs = [], []
        for _ in range(reps):
            read = run_timed([SAMERUN_PY, WORKLOADS / "mlflow_read_runs.py", uri], root)
            theirs.append(read.wall_s)
            project = _fresh_project(root / "project")
            ours.append(
                run_timed([SAMERUN_CLI, "import", "mlflow", "--tracking-uri", uri], project).wall_s
            )
            with sqlite3.connect(project / ".samerun" / "meta.db") as conn:
                (stored,) = conn.execute("SELECT count(*) FROM runs").fetchone()
                (rows,) = conn.execute("SELECT count(*) FROM metrics").fetchone()
            if (stored, rows) != (runs, runs * points):
                raise BenchError(f"the import stored {stored} runs and {rows} metric values")
    ours_s, theirs_s = median(ours), median(theirs)
    details = {"runs": runs, "points": points, "reps": reps, "fill_s": filled["fill_s"]}
    return [
        Result(
            f"samerun import mlflow of {runs:,} runs x {points:,} points vs MLflow's "
            "search_runs + get_metric_history of the same (whole processes)",
            "s",
            ours_s,
            theirs_s,
            theirs_s / ours_s,
            details={**details, "samerun_each": ours, "mlflow_each": theirs},
        )
    ]


INTEROP_MLFLOW_BENCHMARKS = {"import_mlflow": bench_import_mlflow}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--points", type=int, default=POINTS)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    (result,) = bench_import_mlflow(Config(reps=args.reps), args.runs, args.points)
    print(result.name)
    print(
        f"samerun {result.samerun:.2f} s, MLflow {result.peer:.2f} s, "
        f"ratio {result.ratio:.2f}x (MLflow time / samerun time)"
    )


if __name__ == "__main__":
    main()
