"""A Hugging Face ``TrainerCallback`` that records the training into a samerun run.

Only imported by users who have Transformers (``import samerun`` never imports it)::

    trainer = Trainer(model, args, train_dataset=data, callbacks=[SamerunCallback()])
    trainer.train()

The callback uses the run that is active in this process (a ``with samerun.start_run()`` block),
else attaches to the launcher's run under ``samerun record``, else starts its own when training
begins, with the Trainer's seed, and finishes it when training ends (its record is then
``callback.final``). The ``TrainingArguments`` become params; logged values become metrics at
the Trainer's global step, except the timings (``*_runtime``, ``*_per_second``), which change on
every run and are no result; each checkpoint directory the Trainer saves is stored as an
artifact (an ``output_dir`` outside the project is refused when training begins); and the
seeding the Trainer did (``set_seed``, or ``enable_full_determinism`` with
``full_determinism=True``) is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from samerun.paths import project_relative
from samerun.store.project import find_root
from samerun.tracking import Run, active_run, journal_now, start_run

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from samerun.manifest import Manifest

#: Logged values that measure time, not the result: left out of the metrics.
TIMING_SUFFIXES = ("_runtime", "_per_second")
#: What ``enable_full_determinism`` switches on in torch.
FULL_DETERMINISM_SETTINGS = {
    "torch.use_deterministic_algorithms": True,
    "torch.backends.cudnn.benchmark": False,
    "torch.backends.cudnn.deterministic": True,
}


class SamerunCallback(TrainerCallback):
    """Record params, metrics, checkpoints and seeding of a Trainer's training in a samerun run."""

    def __init__(self, name: str | None = None, *, log_checkpoints: bool = True) -> None:
        self._run_name = name
        self._log_checkpoints = log_checkpoints
        self._run: Run | None = None
        self._owned = False
        #: The record of the last run this callback started and finished (None until then).
        self.final: Manifest | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        if self._log_checkpoints and args.save_strategy != "no":  # refused now, not at a save
            project_relative(find_root(), args.output_dir or ".")
        run = active_run()  # the user's own run: its name stays theirs
        if run is None:
            run = start_run(name=self._run_name, seed=args.seed)
            self._owned = not run.attached
        self._run = run
        # the JSON TrainingArguments.save writes: enums as values, tokens left out
        run.log_params(json.loads(args.to_json_string()))  # type: ignore[no-untyped-call]
        settings: dict[str, Any] = {
            "transformers.seed": args.seed,
            "transformers.data_seed": args.data_seed,
            "transformers.full_determinism": args.full_determinism,
        }
        if args.full_determinism:
            settings.update(FULL_DETERMINISM_SETTINGS)
        journal_now(("seeded", ["random", "numpy", "torch"]), ("set", settings))

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._run is None:
            return
        for key, value in (kwargs.get("logs") or {}).items():
            if isinstance(value, (int, float)) and not key.endswith(TIMING_SUFFIXES):
                self._run.log_metric(key, value, state.global_step)

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._run is None or not self._log_checkpoints:
            return
        checkpoint = Path(args.output_dir or ".") / f"checkpoint-{state.global_step}"
        if checkpoint.is_dir():
            self._run.log_artifact(checkpoint)

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        run, self._run = self._run, None
        if run is not None and self._owned:
            run.end()
            self.final = run.final
        self._owned = False
