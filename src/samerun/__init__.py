"""samerun: record machine-learning runs, version their data, and prove they reproduce.

The Python API::

    import samerun

    with samerun.start_run(name="baseline", params={"lr": 0.05}) as run:
        for step in range(100):
            samerun.log_metric("loss", 1 / (step + 1), step=step)
        samerun.log_artifact("model.pkl")

Reading runs back (see :mod:`samerun.api` and the filter grammar in :mod:`samerun.query`)::

    for run in samerun.runs(filter="metrics.accuracy > 0.9", order_by=["metrics.accuracy desc"]):
        print(run.id, run.name, run.metrics["accuracy"].last)
    samerun.get_run("last").metric_history("loss", max_points=1500)
    samerun.compare("1a2b", "last")

The model registry (see :mod:`samerun.registry`)::

    samerun.models.register("churn", run="last", artifacts=["model.pkl"])
    samerun.models.set_alias("churn", "production", 1, reason="beats the baseline")
    samerun.models.get("churn@production").paths

Every error samerun raises on purpose is a :class:`SamerunError`; ``str(err)`` is one sentence::

    SamerunError
    ├── UsageError                 the request is malformed; exit status 2 on the command line
    │   ├── ConfigError            a config file is missing or unparsable
    │   ├── PathOutsideProject     a path resolves outside the project root
    │   ├── PointerError           a dataset pointer file is malformed
    │   ├── UnsafePath             a path from a record would leave its root
    │   └── FilterError            a run filter or sort key is malformed
    ├── CaptureError               recording a pillar failed
    │   └── FileChanged            a file changed while it was hashed
    ├── StoreError                 the metadata or object store failed
    │   ├── ObjectNotFound         an object a record names is missing
    │   ├── ObjectCorrupt          an object no longer matches its hash
    │   └── RemoteError            a data remote is unknown or unreachable
    ├── RunNotFound                a run reference matched no run, or several
    ├── RunStateError              the run's state does not allow the operation
    ├── WorkspaceConflict          a checkout would overwrite unsaved files
    ├── ReplayError                a run cannot be replayed as recorded
    ├── EnvironmentRebuildError    a recorded environment cannot be exported or rebuilt
    ├── InteropError               another tool's records (MLflow, DVC) cannot be taken
    └── TraceNotFound              a run recorded no trace

Names are imported on first use, so ``import samerun`` costs next to nothing (the command line
imports it on every call) and never imports a framework such as torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from samerun._exceptions import (
    CaptureError,
    ConfigError,
    EnvironmentRebuildError,
    FileChanged,
    FilterError,
    InteropError,
    ObjectCorrupt,
    ObjectNotFound,
    PathOutsideProject,
    PointerError,
    RemoteError,
    ReplayError,
    RunNotFound,
    RunStateError,
    SamerunError,
    StoreError,
    TraceNotFound,
    UnsafePath,
    UsageError,
    WorkspaceConflict,
)

if TYPE_CHECKING:
    from samerun import registry as models
    from samerun.api import (
        MetricBucket,
        MetricHistory,
        RecordedRun,
        RunInfo,
        RunPage,
        RunReader,
        compare,
        get_run,
        runs,
        set_tags,
    )
    from samerun.seeding import ReproducibilityWarning, Seeding, derive_seed, seed_everything
    from samerun.tracking import (
        Run,
        active_run,
        end_run,
        get_params,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        start_run,
        trace,
        use_dataset,
    )

__version__ = "0.1.0"

__all__ = [
    "CaptureError",
    "ConfigError",
    "EnvironmentRebuildError",
    "FileChanged",
    "FilterError",
    "InteropError",
    "MetricBucket",
    "MetricHistory",
    "ObjectCorrupt",
    "ObjectNotFound",
    "PathOutsideProject",
    "PointerError",
    "RecordedRun",
    "RemoteError",
    "ReplayError",
    "ReproducibilityWarning",
    "Run",
    "RunInfo",
    "RunNotFound",
    "RunPage",
    "RunReader",
    "RunStateError",
    "SamerunError",
    "Seeding",
    "StoreError",
    "TraceNotFound",
    "UnsafePath",
    "UsageError",
    "WorkspaceConflict",
    "__version__",
    "active_run",
    "compare",
    "derive_seed",
    "end_run",
    "get_params",
    "get_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "models",
    "runs",
    "seed_everything",
    "set_tags",
    "start_run",
    "trace",
    "use_dataset",
]
#: Where each lazily imported public name lives; the rest come from samerun.tracking.
_HOMES = {
    **dict.fromkeys(
        ("ReproducibilityWarning", "Seeding", "derive_seed", "seed_everything"), "samerun.seeding"
    ),
    **dict.fromkeys(
        (
            "MetricBucket",
            "MetricHistory",
            "RecordedRun",
            "RunInfo",
            "RunPage",
            "RunReader",
            "compare",
            "get_run",
            "runs",
            "set_tags",
        ),
        "samerun.api",
    ),
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (``samerun.torch`` is that module itself)."""
    if name == "torch":
        value = importlib.import_module("samerun.torch")
    elif name == "models":  # the model registry: samerun.models.get("churn@production")
        value = importlib.import_module("samerun.registry")
    elif name in __all__:
        value = getattr(importlib.import_module(_HOMES.get(name, "samerun.tracking")), name)
    else:
        raise AttributeError(f"module 'samerun' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
