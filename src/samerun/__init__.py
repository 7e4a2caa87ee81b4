"""samerun: record machine-learning runs, version their data, and prove they reproduce.

The Python API::

    import samerun

    with samerun.start_run(name="baseline", params={"lr": 0.05}) as run:
        for step in range(100):
            samerun.log_metric("loss", 1 / (step + 1), step=step)
        samerun.log_artifact("model.pkl")

Names are imported on first use, so ``import samerun`` costs next to nothing (the command line
imports it on every call) and never imports a framework such as torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from samerun._exceptions import SamerunError

if TYPE_CHECKING:
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
_FROM_SEEDING = {"ReproducibilityWarning", "Seeding", "derive_seed", "seed_everything"}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (``samerun.torch`` is that module itself)."""
    if name == "torch":
        value = importlib.import_module("samerun.torch")
    elif name in __all__:
        home = "samerun.seeding" if name in _FROM_SEEDING else "samerun.tracking"
        value = getattr(importlib.import_module(home), name)
    else:
        raise AttributeError(f"module 'samerun' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
