"""The model registry side by side with MLflow's (its SQLite tracking store).

Both sides start from a run that wrote ``model.pkl`` and register ``VERSIONS`` versions of one
model from it, then resolve ``NAME@ALIAS`` to a local file: samerun with
``samerun.models``' registry (``get`` materializes once and reuses the checked copy), MLflow with
``get_model_version_by_alias`` + ``download_artifacts``. samerun also moves its alias
``EVENTS`` times and times ``history(at=...)`` over those events, and the CLI's
``samerun model get`` as a whole process.
"""

from __future__ import annotations

from pathlib import Path

from harness import (
    PEERS_PY,
    SAMERUN_CLI,
    SAMERUN_PY,
    WORKLOADS,
    BenchError,
    Result,
    child_env,
    git,
    median,
    mlflow_env,
    run_timed,
    run_workload,
    scratch,
)
from suites import Config

VERSIONS = 1_000
EVENTS = 10_000
WRITE_MODEL = "open('model.pkl', 'wb').write(bytes(range(256)) * 64)\n"


def _project(directory: Path) -> Path:
    directory.mkdir()
    (directory / "train.py").write_text(WRITE_MODEL)
    (directory / ".gitignore").write_text("model.pkl\nmlflow.db\nmlruns/\ndeploy/\n")
    git(directory, "init", "--quiet", "--initial-branch=main")
    git(directory, "add", "train.py", ".gitignore")
    git(directory, "commit", "--quiet", "-m", "writes a model")
    return directory


def bench_registry(config: Config) -> list[Result]:
    reps = max(config.reps, 5)
    with scratch("registry") as root:
        ours = _project(root / "samerun")
        run_timed(
            [SAMERUN_CLI, "record", "--output", "model.pkl", "--", "python", "train.py"], ours
        )
        _, report = run_workload(
            SAMERUN_PY,
            WORKLOADS / "samerun_registry.py",
            ours,
            str(VERSIONS),
            str(EVENTS),
            str(reps),
        )
        get = [SAMERUN_CLI, "model", "get", "bench@production"]
        run_timed(get, ours)  # warm-up
        cli_s = median([run_timed(get, ours).wall_s for _ in range(reps)])

        theirs = _project(root / "mlflow")
        run_timed([PEERS_PY, "train.py"], theirs, child_env())
        _, peer = run_workload(
            PEERS_PY,
            WORKLOADS / "mlflow_registry.py",
            theirs,
            str(VERSIONS),
            str(reps),
            env=mlflow_env(theirs),
        )
    if not peer["found"] or not report["paths"]:
        raise BenchError("a registry did not give back the model file")
    details = {"versions": VERSIONS, "events": EVENTS, "reps": reps}
    return [
        Result(
            f"register {VERSIONS:,} model versions vs create_model_version",
            "s",
            report["register_s"],
            peer["register_s"],
            peer["register_s"] / report["register_s"],
            details=details,
        ),
        Result(
            "resolve NAME@ALIAS to a local file, warm (in-process) vs by alias + download",
            "s",
            report["get_s"],
            peer["get_s"],
            peer["get_s"] / report["get_s"],
            limit_s=0.05,
            details={
                **details,
                "first_get_s": report["first_get_s"],
                "peer_first": peer["first_get_s"],
            },
        ),
        Result(
            "samerun model get NAME@ALIAS, whole CLI process",
            "s",
            cli_s,
            None,
            None,
            limit_s=0.2,
            details=details,
        ),
        Result(
            f"history --at over {EVENTS:,} alias events (in-process)",
            "s",
            report["history_at_s"],
            None,
            None,
            limit_s=0.1,
            details={**details, "events_up_to_then": report["events"]},
        ),
    ]


REGISTRY_BENCHMARKS = {"registry": bench_registry}
