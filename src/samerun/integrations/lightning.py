"""A Lightning logger that records the training into a samerun run.

Only imported by users who have Lightning (``import samerun`` never imports it)::

    lightning.seed_everything(42)
    trainer = lightning.Trainer(logger=SamerunLogger(name="baseline"), max_epochs=2)
    trainer.fit(model, loader)

The logger uses the run that is active in this process (a ``with samerun.start_run()`` block),
else attaches to the launcher's run under ``samerun record``, else starts its own the first time
Lightning logs, with the seed ``seed_everything`` used, and finishes it when the fit ends (its
record is then ``logger.final``; a later ``trainer.test`` starts another run, unless both run
inside one ``with samerun.start_run()`` block).
Hyperparameters become params, logged metrics keep Lightning's steps, and each checkpoint
``ModelCheckpoint`` saves is stored as an artifact as it was when saved. Checkpoints go to
``lightning_logs/samerun/checkpoints/`` under the trainer's root: a fixed path, so a replay's
checkpoints are compared with the original's.
"""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from lightning.fabric.utilities.logger import _convert_params, _sanitize_callable_params
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from samerun.tracking import Run, active_run, journal_now, start_run

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from samerun.manifest import Manifest

#: What ``lightning.seed_everything`` leaves behind: the seed, and whether workers are seeded.
SEED_VARIABLE = "PL_GLOBAL_SEED"
SEED_WORKERS_VARIABLE = "PL_SEED_WORKERS"
#: Lightning's ``finalize`` statuses that mean the fit ended normally.
_SUCCESS = ("success", "finished")


class SamerunLogger(Logger):
    """Record params, metrics, checkpoints and seeding of a Lightning fit in a samerun run."""

    def __init__(self, name: str | None = None, *, log_checkpoints: bool = True) -> None:
        super().__init__()
        self._run_name = name
        self._log_checkpoints = log_checkpoints
        self._run: Run | None = None
        #: The record of the last run this logger started and finished (None until then).
        self.final: Manifest | None = None
        self._owned = False
        self._stored: dict[str, int] = {}  # checkpoint path -> mtime_ns when stored

    @property
    def name(self) -> str:
        return "lightning_logs"

    @property
    def version(self) -> str:
        return "samerun"

    @property
    def experiment(self) -> Run:
        """The samerun run this logger records into (started on first use)."""
        if self._run is None:
            self._run = self._open()
        return self._run

    def _open(self) -> Run:
        run = active_run()  # the user's own run: its name stays theirs
        if run is None:
            seed = os.environ.get(SEED_VARIABLE)
            run = start_run(name=self._run_name, seed=int(seed) if seed else None)
            self._owned = not run.attached
        self._record_seeding()
        return run

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *_: Any, **__: Any) -> None:
        converted = _sanitize_callable_params(_convert_params(params))
        self.experiment.log_params(converted)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        run = self.experiment
        for key, value in metrics.items():
            run.log_metric(key, float(value), step)

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if not self._log_checkpoints:
            return
        callback = checkpoint_callback
        saved = [*callback.best_k_models, callback.best_model_path, callback.last_model_path]
        for path in filter(None, map(str, saved)):
            file = Path(path)
            if not file.is_file():
                continue
            written = file.stat().st_mtime_ns
            if self._stored.get(path) != written:
                self.experiment.log_artifact(file)
                self._stored[path] = written

    @rank_zero_only
    def finalize(self, status: str) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        self._record_seeding()
        if self._owned:
            if status in _SUCCESS:
                run.end()
            else:
                run.end("failed", f"Lightning ended the fit as {status}")
            self.final = run.final
        self._owned = False

    def _record_seeding(self) -> None:
        """What ``lightning.seed_everything`` seeded, if it was called, and whether torch's
        deterministic algorithms are on (``Trainer(deterministic=True)``)."""
        settings: dict[str, Any] = {}
        if torch.are_deterministic_algorithms_enabled():
            warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
            settings["torch.use_deterministic_algorithms"] = "warn_only" if warn_only else True
        seed = os.environ.get(SEED_VARIABLE)
        if seed is not None:
            settings["lightning.seed_everything"] = int(seed)
            settings["lightning.seed_workers"] = os.environ.get(SEED_WORKERS_VARIABLE) == "1"
            journal_now(("seeded", ["random", "numpy", "torch"]))
        if settings:
            journal_now(("set", settings))
