"""samerun: record machine-learning runs, version their data, and prove they reproduce.

The Python API::

    import samerun

    with samerun.start_run(name="baseline", params={"lr": 0.05}) as run:
        for step in range(100):
            samerun.log_metric("loss", 1 / (step + 1), step=step)
        samerun.log_artifact("model.pkl")
"""

from typing import Any

from samerun._exceptions import SamerunError
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
    "ReproducibilityWarning",
    "Run",
    "SamerunError",
    "Seeding",
    "__version__",
    "active_run",
    "derive_seed",
    "end_run",
    "get_params",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "seed_everything",
    "start_run",
    "trace",
    "use_dataset",
]


def __getattr__(name: str) -> Any:
    """``samerun.torch`` on first use, so that ``import samerun`` never imports torch."""
    if name == "torch":
        import importlib

        return importlib.import_module("samerun.torch")
    raise AttributeError(f"module 'samerun' has no attribute {name!r}")
