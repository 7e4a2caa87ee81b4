"""Reading runs back, samerun and MLflow side by side: a filtered, sorted query over 10,000 runs
and a downsampled metric history of 1,000,000 points (issue 13).

``filtered_runs``
    ``samerun runs --filter "metrics.accuracy > 0.9" --sort "metrics.accuracy desc"`` over
    10,000 runs of 20 params and 10 metrics (each logged for 10 epochs), wall time of the CLI
    process; MLflow: ``MlflowClient().search_runs(filter_string=..., order_by=[...])`` in a fresh
    interpreter (its start-up and ``import mlflow`` included, as the CLI's are) for the same
    number of runs. Then the query alone, in-process, after a warm-up: ``samerun.runs(...)`` vs
    ``search_runs(...)``; then every match (about 2,000) instead of the first page. Both sides
    must return the same runs in the same order.
``metric_history``
    ``samerun.get_run(id).metric_history("loss", max_points=1500)`` over a series of 1,000,000
    points, in a fresh interpreter (``import samerun`` not timed; the first call opens the store),
    then warm; MLflow: ``MlflowClient().get_metric_history(id, "loss")``, which returns every
    point (its client cannot downsample), timed once: it takes close to a minute.

Both stores hold the same synthetic sweep (``workloads/synthetic_runs.py``). samerun's is written
afresh every time through its own write path (``workloads/samerun_populate.py``; a minute or two for
the 10,000 runs on a busy 2-core machine). MLflow's is written through its client (``log_batch``,
``workloads/mlflow_populate.py``), which takes about 8 minutes for the 10,000 runs and 4 for the
1,000,000 points, so its database is made once and cached in ``results/cache/``, keyed by MLflow's
version, the size, and the source of the two scripts that make it.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    BENCH_DIR,
    PEERS_PY,
    SAMERUN_CLI,
    SAMERUN_PY,
    WORKLOADS,
    BenchError,
    Result,
    last_json,
    make_project,
    median,
    mlflow_env,
    run_timed,
    run_workload,
    say,
    scratch,
)
from suites import Config

sys.path.append(str(WORKLOADS))  # synthetic_runs is a workload module: the workloads import it
import synthetic_runs

FILTER = f"metrics.accuracy > {synthetic_runs.ACCURACY_THRESHOLD}"
SORT = "metrics.accuracy desc"
HISTORY_POINTS = 1_000_000
MAX_POINTS = 1500
WARM_REPEATS = 10  # identical queries timed after the first, in one warm interpreter
MLFLOW_CACHE = BENCH_DIR / "results" / "cache"
#: What an MLflow database in the cache depends on, besides MLflow's version and the size.
MLFLOW_POPULATION_SOURCES = (WORKLOADS / "synthetic_runs.py", WORKLOADS / "mlflow_populate.py")


# -- MLflow's stores, made once ----------------------------------------------------------------
def _mlflow_version() -> str:
    code = "import importlib.metadata as m; print(m.version('mlflow'))"
    done = subprocess.run([str(PEERS_PY), "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _cached_mlflow_db(what: str, size: int) -> Path:
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in MLFLOW_POPULATION_SOURCES))
    name = f"mlflow-{_mlflow_version()}-{what}-{size}-{digest.hexdigest()[:12]}.db"
    return MLFLOW_CACHE / name


def _populate_mlflow(what: str, size: int, cached: Path) -> None:
    say(f"MLflow: writing {what} of {size:,} through its client, once (cached as {cached.name})")
    with scratch("mlflow-populate") as project:
        script = WORKLOADS / "mlflow_populate.py"
        _, report = run_workload(
            PEERS_PY, script, project, what, str(size), env=mlflow_env(project)
        )
        say(f"MLflow: written in {report['populate_s']:.0f} s")
        MLFLOW_CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(cached.name + ".partial")
        shutil.copyfile(project / "mlflow.db", partial)
        cached.with_suffix(".json").write_text(json.dumps(report) + "\n")
        os.replace(partial, cached)


def mlflow_store(project: Path, what: str, size: int) -> dict[str, Any]:
    """Put MLflow's database of ``what`` (``runs`` or ``history``) at ``project/mlflow.db``.

    Made through MLflow's client on first use, then copied from the cache. Returns the report
    of the population that made it (how long it took).
    """
    cached = _cached_mlflow_db(what, size)
    if not cached.exists():
        _populate_mlflow(what, size, cached)
    project.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, project / "mlflow.db")
    report: dict[str, Any] = json.loads(cached.with_suffix(".json").read_text())
    return report


def mlflow_run_ids(project: Path) -> list[str]:
    with closing(sqlite3.connect(project / "mlflow.db")) as conn:
        return [row[0] for row in conn.execute("SELECT run_uuid FROM runs ORDER BY start_time")]


# -- samerun's stores, made afresh ------------------------------------------------------------
def samerun_store(root: Path, what: str, size: int) -> tuple[Path, dict[str, Any]]:
    """A git project under ``root`` whose samerun store holds ``what`` of ``size``.

    Returns the project and the report of the population (the last run's id, how long it took).
    """
    template = root / "template"
    make_project(template, "samerun_train.py")
    run_workload(SAMERUN_PY, template / "train.py", template)  # one run recorded for real
    project = root / "samerun"
    make_project(project, "samerun_train.py")
    script = WORKLOADS / "samerun_populate.py"
    _, report = run_workload(SAMERUN_PY, script, project, what, str(size), str(template))
    say(f"samerun: wrote {what} of {size:,} in {report['populate_s']:.0f} s")
    return project, report


# -- filtered_runs -----------------------------------------------------------------------------
def _check_order(side: str, names: list[str], expected: list[str]) -> None:
    if names != expected:
        raise BenchError(
            f"{side} returned {len(names)} runs, not the {len(expected)} best by accuracy "
            f"in order (first names: {names[:3]}, expected {expected[:3]})"
        )


def _samerun_cli_names(project: Path, *args: str) -> list[str]:
    printed = run_timed([SAMERUN_CLI, "runs", "--filter", FILTER, "--sort", SORT, *args], project)
    return [run["name"] for run in json.loads(printed.stdout)]


@dataclass(frozen=True)
class ProcessTimes:
    """Medians over repeated processes: wall time, and the CPU time (user + system) they used.

    On a shared machine the wall time grows with the load; the CPU time much less, so it says
    what the process costs when the other cores' work is discounted.
    """

    wall_s: float
    cpu_s: float


def _time_processes(
    argv: Sequence[str | Path], cwd: Path, reps: int, env: Mapping[str, str] | None = None
) -> ProcessTimes:
    walls, cpus = [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(run_timed(argv, cwd, env).wall_s)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return ProcessTimes(median(walls), median(cpus))


def _mlflow_search(project: Path, limit: int, reps: int) -> tuple[ProcessTimes, list[str]]:
    """Fresh interpreters asking MLflow for the best ``limit`` runs: their times, and the runs."""
    argv, env = [PEERS_PY, WORKLOADS / "mlflow_search_runs.py", str(limit)], mlflow_env(project)
    names = last_json(run_timed(argv, project, env).stdout)["names"]  # also the warm-up
    return _time_processes(argv, project, reps, env), names


def bench_filtered_runs(config: Config) -> list[Result]:
    total = config.listed_runs
    say(f"`samerun runs --filter ... --sort ...` over {total:,} runs vs MLflow's search_runs")
    expected = synthetic_runs.best_first(total)
    with scratch("query") as root:
        ours, ours_populated = samerun_store(root, "runs", total)
        theirs = root / "mlflow"
        theirs_populated = mlflow_store(theirs, "runs", total)

        # 1. The command as a user types it: the first page of matches, CLI start-up included.
        page = _samerun_cli_names(ours, "--json")  # also the warm-up
        _check_order("`samerun runs --json`", page, expected[: len(page)])
        command = [SAMERUN_CLI, "runs", "--filter", FILTER, "--sort", SORT]
        cli = _time_processes(command, ours, config.reps)
        mlflow_cli, mlflow_page = _mlflow_search(theirs, len(page), config.reps)
        _check_order("MLflow's search_runs", mlflow_page, page)

        # 2. The same query alone, in a warm interpreter.
        args = (str(len(page)), str(WARM_REPEATS))
        _, ours_warm = run_workload(SAMERUN_PY, WORKLOADS / "samerun_search_runs.py", ours, *args)
        _check_order("samerun.runs()", ours_warm["names"], page)
        script, env = WORKLOADS / "mlflow_search_runs.py", mlflow_env(theirs)
        _, theirs_warm = run_workload(PEERS_PY, script, theirs, *args, env=env)
        _check_order("MLflow's search_runs (warm)", theirs_warm["names"], page)

        # 3. Every match, not just the first page.
        everything = _samerun_cli_names(ours, "--json", "--limit", str(total))
        _check_order("`samerun runs --json --limit`", everything, expected)
        all_command = [*command, "--json", "--limit", str(total)]
        every = _time_processes(all_command, ours, config.reps)
        mlflow_every, mlflow_all = _mlflow_search(theirs, total, config.reps)
        _check_order("MLflow's search_runs (every match)", mlflow_all, expected)

    warm, mlflow_warm = ours_warm["warm_query_s"], theirs_warm["warm_query_s"]
    details = {
        "reps": config.reps,
        "runs_in_store": total,
        "params_per_run": len(synthetic_runs.synthetic_run(0).params),
        "metrics_per_run": len(synthetic_runs.synthetic_run(0).metrics),
        "values_per_metric": synthetic_runs.EPOCHS,
        "matches": len(expected),
        "first_page": len(page),
        "samerun_command": f'samerun runs --filter "{FILTER}" --sort "{SORT}"',
        "mlflow_query": "MlflowClient().search_runs(filter_string=..., order_by=[...])",
        "samerun_first_query_s": ours_warm["first_query_s"],
        "mlflow_first_query_s": theirs_warm["first_query_s"],
        "samerun_populate_s": ours_populated["populate_s"],
        "mlflow_populate_s": theirs_populated["populate_s"],
    }
    return [
        Result(
            f"`runs --filter --sort`, {total:,} runs ({len(page)} shown)",
            "s",
            cli.wall_s,
            mlflow_cli.wall_s,
            mlflow_cli.wall_s / cli.wall_s,
            limit_s=0.3,
            details=details,
        ),
        Result(
            "  same, CPU time of the process",
            "s",
            cli.cpu_s,
            mlflow_cli.cpu_s,
            mlflow_cli.cpu_s / cli.cpu_s,
        ),
        Result("  same query alone, warm interpreter", "s", warm, mlflow_warm, mlflow_warm / warm),
        Result(
            f"  every match ({len(expected):,}), `--json`",
            "s",
            every.wall_s,
            mlflow_every.wall_s,
            mlflow_every.wall_s / every.wall_s,
            details={"samerun_cpu_s": every.cpu_s, "mlflow_cpu_s": mlflow_every.cpu_s},
        ),
    ]


# -- metric_history ----------------------------------------------------------------------------
def _check_history(
    side: str, report: dict[str, Any], series: list[tuple[int, float, float]]
) -> None:
    lowest = min(value for _, value, _ in series)
    if report["min"] != lowest or report["last"] != series[-1][1]:
        raise BenchError(
            f"{side}: minimum {report['min']} and last value {report['last']} read back, "
            f"the series has {lowest} and {series[-1][1]}"
        )


def bench_metric_history(config: Config) -> list[Result]:
    points = HISTORY_POINTS
    say(f"metric_history(max_points={MAX_POINTS}) over {points:,} points vs get_metric_history")
    series = synthetic_runs.loss_history(points)
    reps = max(config.reps - 2, 2)
    with scratch("history") as root:
        ours, ours_populated = samerun_store(root, "history", points)
        script = WORKLOADS / "samerun_metric_history.py"
        args = (ours_populated["last_run_id"], str(MAX_POINTS), str(WARM_REPEATS))
        ours_reports = [run_workload(SAMERUN_PY, script, ours, *args)[1] for _ in range(reps)]
        for report in ours_reports:
            _check_history("samerun metric_history", report, series)
            if not 0 < report["buckets"] <= MAX_POINTS:
                raise BenchError(f"metric_history returned {report['buckets']} buckets")
        theirs = root / "mlflow"
        theirs_populated = mlflow_store(theirs, "history", points)
        (run_id,) = mlflow_run_ids(theirs)
        # One call, in one interpreter: it takes close to a minute, so the figure is not noise.
        script, env = WORKLOADS / "mlflow_metric_history.py", mlflow_env(theirs)
        _, theirs_report = run_workload(PEERS_PY, script, theirs, run_id, "0", env=env)
        _check_history("MLflow get_metric_history", theirs_report, series)
        if theirs_report["points"] != points:
            raise BenchError(f"get_metric_history returned {theirs_report['points']} points")

    first = median([r["first_call_s"] for r in ours_reports])
    first_cpu = median([r["first_call_cpu_s"] for r in ours_reports])
    warm = median([r["warm_call_s"] for r in ours_reports])
    mlflow_first, mlflow_first_cpu = (
        theirs_report["first_call_s"],
        theirs_report["first_call_cpu_s"],
    )
    details = {
        "samerun_reps": reps,
        "mlflow_reps": 1,
        "points": points,
        "max_points": MAX_POINTS,
        "buckets": ours_reports[0]["buckets"],
        "samerun": "get_run(id).metric_history('loss', max_points=1500): min/max/last per bucket",
        "mlflow": "MlflowClient().get_metric_history(id, 'loss'): every point",
        "samerun_populate_s": ours_populated["populate_s"],
        "mlflow_populate_s": theirs_populated["populate_s"],
    }
    return [
        Result(
            f"metric_history, {points:,} points (first call)",
            "s",
            first,
            mlflow_first,
            mlflow_first / first,
            limit_s=0.2,
            details=details,
        ),
        Result(
            "  same, CPU time",
            "s",
            first_cpu,
            mlflow_first_cpu,
            mlflow_first_cpu / first_cpu,
        ),
        Result("  same, warm interpreter", "s", warm, None, None, limit_s=0.2),
    ]


QUERY_BENCHMARKS = {
    "filtered_runs": bench_filtered_runs,
    "metric_history": bench_metric_history,
}
