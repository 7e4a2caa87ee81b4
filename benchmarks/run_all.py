"""Run samerun's benchmarks against MLflow, print a table of ratios, save them as JSON.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run_all.py            # the whole suite, a few minutes
    .venv/bin/python benchmarks/run_all.py --only import --reps 3

MLflow lives in its own virtual environment, ``benchmarks/.venv-peers``, which
``setup_peers.sh`` creates on first use. Results go to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_audit import AUDIT_BENCHMARKS
from bench_export import EXPORT_BENCHMARKS
from bench_import_dvc import INTEROP_DVC_BENCHMARKS
from bench_import_mlflow import INTEROP_MLFLOW_BENCHMARKS
from bench_lineage import LINEAGE_BENCHMARKS
from bench_pytest_plugin import PYTEST_PLUGIN_BENCHMARKS
from bench_query import QUERY_BENCHMARKS
from bench_record_index import RECORD_INDEX_BENCHMARKS
from bench_registry import REGISTRY_BENCHMARKS
from bench_restore import RESTORE_BENCHMARKS
from bench_server import SERVER_BENCHMARKS
from bench_web import WEB_BENCHMARKS
from harness import BENCH_DIR, PEERS_PY, REPO, SAMERUN_PY, SAMERUN_SRC, BenchError, Result, say
from suites import ALL, Config

BENCHMARKS = {
    **ALL,
    **QUERY_BENCHMARKS,
    **EXPORT_BENCHMARKS,
    **RESTORE_BENCHMARKS,
    **WEB_BENCHMARKS,
    **REGISTRY_BENCHMARKS,
    **INTEROP_MLFLOW_BENCHMARKS,
    **INTEROP_DVC_BENCHMARKS,
    **PYTEST_PLUGIN_BENCHMARKS,
    **SERVER_BENCHMARKS,
    **AUDIT_BENCHMARKS,
    **RECORD_INDEX_BENCHMARKS,
    **LINEAGE_BENCHMARKS,
}

RESULTS = BENCH_DIR / "results" / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=Config.reps, help="repetitions (median kept)")
    parser.add_argument(
        "--mlflow-calls",
        type=int,
        default=Config.mlflow_calls,
        help="log_metric calls timed on MLflow (it is too slow for the full 100,000)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    return parser.parse_args(argv)


def ensure_environments() -> None:
    if not SAMERUN_PY.exists():
        raise BenchError(f"{SAMERUN_PY} is missing; run `make setup` first")
    subprocess.run(["bash", str(BENCH_DIR / "setup_peers.sh")], check=True)
    if not PEERS_PY.exists():
        raise BenchError(f"setup_peers.sh did not create {PEERS_PY}")


def _version(python: Path, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _git(*args: str) -> str:
    """In the checkout whose code is measured (SAMERUN_BENCH_SRC's, else this one)."""
    cwd = Path(SAMERUN_SRC).parent if SAMERUN_SRC else REPO
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def machine_facts() -> dict[str, Any]:
    return {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "samerun": _version(SAMERUN_PY, "samerun"),
        "samerun_src": SAMERUN_SRC,
        "mlflow": _version(PEERS_PY, "mlflow"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "worktree_dirty": bool(_git("status", "--porcelain", "--", "src")),
        "load_average_at_start": _load(),
    }


def _load() -> float:
    """The 1-minute load average: above the CPU count, other work skews the timings."""
    return round(os.getloadavg()[0], 2)


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "B":
        return f"{value / 1e6:,.2f} MB" if value >= 1e6 else f"{value / 1e3:,.1f} KB"
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"


def _target(result: Result) -> str:
    if result.limit_s is not None:
        return f"< {result.limit_s:g} s"
    return "-" if result.target is None else f">= {result.target:g}x"


def _met(result: Result) -> str:
    met = result.met
    return "-" if met is None else ("yes" if met else "NO")


def render_table(results: list[Result]) -> str:
    header = ("benchmark", "samerun", "peer", "ratio", "target", "met?")
    rows = [
        (
            r.name,
            _figure(r.samerun, r.unit),
            _figure(r.peer, r.unit),
            "-" if r.ratio is None else f"{r.ratio:,.1f}x",
            _target(r),
            _met(r),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def write_json(path: Path, facts: dict[str, Any], results: list[Result], took_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": facts,
        "took_s": took_s,
        "results": [r.to_dict() for r in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = Config(reps=args.reps, mlflow_calls=args.mlflow_calls)
    started = time.perf_counter()
    try:
        ensure_environments()
        facts = machine_facts()
        results: list[Result] = []
        for name in args.only or list(BENCHMARKS):
            results.extend(BENCHMARKS[name](config))
    except BenchError as err:
        say(f"benchmark failed: {err}")
        return 1
    took = time.perf_counter() - started
    facts["load_average_at_end"] = _load()
    print(render_table(results))
    print(
        f"\nsamerun {facts['samerun']} vs MLflow {facts['mlflow']}, {facts['cpus']} CPUs "
        f"(load {facts['load_average_at_start']} at start, {facts['load_average_at_end']} at end), "
        f"median of repetitions, suite took {took:.0f} s"
    )
    write_json(args.output, facts, results, took)
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
