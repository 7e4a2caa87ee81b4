"""samerun: record machine-learning runs, version their data, and prove they reproduce.

The Python API::

    import samerun

    with samerun.start_run(name="baseline", params={"lr": 0.05}) as run:
        for step in range(100):
            samerun.log_metric("loss", 1 / (step + 1), step=step)
        samerun.log_artifact("model.pkl")
"""

from samerun._exceptions import SamerunError
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
)

__version__ = "0.1.0"

__all__ = [
    "Run",
    "SamerunError",
    "__version__",
    "active_run",
    "end_run",
    "get_params",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "start_run",
]
