"""The five benchmarks of issue 2, each samerun and MLflow side by side.

Every measurement runs in a fresh interpreter in a fresh temporary directory; each is repeated
and the median kept. samerun runs from the project's ``.venv``, MLflow from ``.venv-peers``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import populate
from harness import (
    PEERS_PY,
    SAMERUN_CLI,
    SAMERUN_PY,
    WORKLOADS,
    BenchError,
    Result,
    child_env,
    make_project,
    median,
    mlflow_env,
    repeat,
    run_timed,
    run_workload,
    say,
    scratch,
)


@dataclass(frozen=True)
class Config:
    reps: int = 5
    metric_values: int = 100_000
    mlflow_calls: int = 1_500
    listed_runs: int = 10_000


# -- 1. import ---------------------------------------------------------------------------------
def _import_times(python: Path, module: str, cwd: Path, reps: int) -> tuple[float, float]:
    """Median in-process import time and median whole-process wall time, after one warm-up."""
    argv: list[str | Path] = [python, WORKLOADS / "import_time.py", module]
    run_timed(argv, cwd)  # warm-up: compiles bytecode, fills the page cache
    imports: list[float] = []
    walls: list[float] = []
    for _ in range(reps):
        wall, report = run_workload(python, WORKLOADS / "import_time.py", cwd, module)
        imports.append(float(report["import_s"]))
        walls.append(wall)
    return median(imports), median(walls)


def _bare_start(python: Path, cwd: Path, reps: int) -> float:
    run_timed([python, "-c", "pass"], cwd)
    return median(repeat(reps, lambda _: run_timed([python, "-c", "pass"], cwd).wall_s))


def bench_import(config: Config) -> list[Result]:
    say("import samerun vs import mlflow")
    reps = max(config.reps, 5)
    with scratch("import") as cwd:
        ours, our_wall = _import_times(SAMERUN_PY, "samerun", cwd, reps)
        theirs, their_wall = _import_times(PEERS_PY, "mlflow", cwd, reps)
        our_bare, their_bare = _bare_start(SAMERUN_PY, cwd, reps), _bare_start(PEERS_PY, cwd, reps)
    details = {
        "reps": reps,
        "samerun_process_wall_s": our_wall,
        "mlflow_process_wall_s": their_wall,
        "samerun_bare_interpreter_s": our_bare,
        "mlflow_bare_interpreter_s": their_bare,
        "process_ratio_minus_bare": (their_wall - their_bare) / max(our_wall - our_bare, 1e-6),
    }
    return [Result("import (in-process)", "s", ours, theirs, theirs / ours, 10, details=details)]


# -- 2. log_metric -----------------------------------------------------------------------------
def _log_metric_reports(python: Path, side: str, calls: int, reps: int) -> list[dict[str, Any]]:
    reports = []
    for _ in range(reps):
        with scratch(f"log-metric-{side}") as project:
            script = make_project(project, f"{side}_log_metric.py")
            env = mlflow_env(project) if side == "mlflow" else child_env()
            _, report = run_workload(python, script, project, str(calls), env=env)
        if report["stored"] != calls:
            raise BenchError(f"{side}: logged {calls} values, the store holds {report['stored']}")
        if not report.get("exact", True):
            raise BenchError(f"{side}: the stored values differ from those logged")
        if report["status"].lower() != "finished":
            raise BenchError(f"{side}: the run ended {report['status']}, not finished")
        reports.append(report)
    return reports


def _throughput(reports: list[dict[str, Any]], *, with_end: bool) -> float:
    return median([r["calls"] / (r["loop_s"] + (r["end_s"] if with_end else 0.0)) for r in reports])


def bench_log_metric(config: Config) -> list[Result]:
    reps = max(config.reps - 2, 2)
    say(f"log_metric: samerun {config.metric_values:,} values vs MLflow {config.mlflow_calls:,}")
    ours = _log_metric_reports(SAMERUN_PY, "samerun", config.metric_values, reps)
    theirs = _log_metric_reports(PEERS_PY, "mlflow", config.mlflow_calls, reps)
    all_present = all(r["stored"] == config.metric_values for r in ours)
    details = {
        "reps": reps,
        "samerun_values": config.metric_values,
        "mlflow_values": config.mlflow_calls,
        "samerun_all_values_in_store": all_present,
        "samerun_runs": ours,
        "mlflow_runs": theirs,
    }
    loop_ours, loop_theirs = _throughput(ours, with_end=False), _throughput(theirs, with_end=False)
    full_ours, full_theirs = _throughput(ours, with_end=True), _throughput(theirs, with_end=True)
    end_s = median([r["end_s"] for r in ours])
    values = f"{config.metric_values:,}"
    return [
        Result(
            f"log_metric x{values} (calls/s, loop)",
            "/s",
            loop_ours,
            loop_theirs,
            loop_ours / loop_theirs,
            500,
            valid=all_present,
            details=details,
        ),
        Result(
            "  same, incl. finishing the run",
            "/s",
            full_ours,
            full_theirs,
            full_ours / full_theirs,
            500,
            valid=all_present,
        ),
        Result(f"  finishing a run of {values} values", "s", end_s, None, None),
    ]


# -- 3. and 4. a run in a fresh process --------------------------------------------------------
def _side_python(side: str) -> Path:
    return SAMERUN_PY if side == "samerun" else PEERS_PY


def _run_train(project: Path, side: str) -> float:
    env = mlflow_env(project) if side == "mlflow" else child_env()
    wall, _ = run_workload(_side_python(side), project / "train.py", project, env=env)
    return wall


def _store_db(project: Path, side: str) -> tuple[Path, populate.RunSchema]:
    if side == "samerun":
        return project / ".samerun" / "meta.db", populate.SAMERUN
    return project / "mlflow.db", populate.MLFLOW


def _existing_store_walls(root: Path, side: str, reps: int) -> list[float]:
    project = root / side
    make_project(project, f"{side}_train.py")
    _run_train(project, side)  # creates the store
    walls = repeat(reps, lambda _: _run_train(project, side))
    db, schema = _store_db(project, side)
    if populate.count_runs(db, schema) != reps + 1:
        raise BenchError(f"{side}: {reps + 1} runs recorded, {db} does not hold them all")
    return walls


def bench_existing_store(config: Config) -> list[Result]:
    say("first run in a fresh process, existing store")
    with scratch("existing") as root:
        ours = median(_existing_store_walls(root, "samerun", config.reps))
        theirs = median(_existing_store_walls(root, "mlflow", config.reps))
    details = {"reps": config.reps, "what": "wall time of `python train.py`, store exists"}
    return [
        Result(
            "start_run+finish, existing store", "s", ours, theirs, theirs / ours, 3, details=details
        )
    ]


def _new_store_wall(root: Path, side: str, rep: int) -> float:
    project = root / f"{side}-{rep}"
    make_project(project, f"{side}_train.py")
    wall = _run_train(project, side)
    db, schema = _store_db(project, side)
    if populate.count_runs(db, schema) != 1:
        raise BenchError(f"{side}: the new store {db} does not hold the run")
    return wall


def bench_new_store(config: Config) -> list[Result]:
    say("first run in a fresh process, new store")
    with scratch("new-store") as root:
        ours = median(repeat(config.reps, lambda i: _new_store_wall(root, "samerun", i)))
        theirs = median(repeat(config.reps, lambda i: _new_store_wall(root, "mlflow", i)))
    details = {"reps": config.reps, "what": "wall time of `python train.py`, no store yet"}
    return [
        Result("start_run+finish, new store", "s", ours, theirs, theirs / ours, 5, details=details)
    ]


# -- 5. listing runs ---------------------------------------------------------------------------
def _big_store(root: Path, side: str, total: int) -> Path:
    project = root / side
    make_project(project, f"{side}_train.py")
    _run_train(project, side)
    db, schema = _store_db(project, side)
    populate.clone_run(db, schema, total)
    return project


def _samerun_runs_walls(project: Path, reps: int, *args: str) -> tuple[list[float], str]:
    """Wall times of ``samerun runs ARGS`` after one warm-up call, and what it printed."""
    argv: list[str | Path] = [SAMERUN_CLI, "runs", *args]
    printed = run_timed(argv, project).stdout
    return repeat(reps, lambda _: run_timed(argv, project).wall_s), printed


def _mlflow_list_walls(project: Path, reps: int) -> list[float]:
    script = WORKLOADS / "mlflow_list_runs.py"
    env = mlflow_env(project)
    walls = []
    for _ in range(reps):
        wall, report = run_workload(PEERS_PY, script, project, env=env)
        if report["listed"] != 20:
            raise BenchError(f"mlflow.search_runs listed {report['listed']} runs, not 20")
        walls.append(wall)
    return walls


def bench_list_runs(config: Config) -> list[Result]:
    total = config.listed_runs
    say(f"listing runs over a store of {total:,}")
    with scratch("list") as root:
        ours_project = _big_store(root, "samerun", total)
        walls, table = _samerun_runs_walls(ours_project, config.reps)
        if f"of {total} runs" not in table:
            raise BenchError(f"`samerun runs` does not say the store holds {total} runs:\n{table}")
        full, listing = _samerun_runs_walls(ours_project, 3, "--all", "--json")
        if len(json.loads(listing)) != total:
            raise BenchError(f"`samerun runs --all --json` did not list all {total} runs")
        ours, everything = median(walls), median(full)
        theirs = median(_mlflow_list_walls(_big_store(root, "mlflow", total), config.reps))
    details = {
        "reps": config.reps,
        "runs_in_store": total,
        "samerun": "`samerun runs` (newest 20 and the total)",
        "mlflow": "mlflow.search_runs(max_results=20) in a fresh interpreter",
    }
    return [
        Result(
            f"`samerun runs`, {total:,} runs in store",
            "s",
            ours,
            theirs,
            theirs / ours,
            limit_s=0.3,
            details=details,
        ),
        Result(f"  `samerun runs --all --json`, {total:,} rows", "s", everything, None, None),
    ]


ALL = {
    "import": bench_import,
    "log_metric": bench_log_metric,
    "existing_store": bench_existing_store,
    "new_store": bench_new_store,
    "list_runs": bench_list_runs,
}
