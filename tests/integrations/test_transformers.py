"""SamerunCallback with the real Transformers Trainer: a tiny model trained a few steps on CPU."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

import torch
from transformers import Trainer, TrainingArguments, set_seed

from samerun._exceptions import PathOutsideProject
from samerun.integrations.transformers import SamerunCallback
from samerun.manifest import Manifest, load_manifest
from samerun.series import decode_series
from samerun.store.project import Project, open_store
from samerun.tracking import active_run
from tests.conftest import Cli, git

DETERMINISM_VARIABLES = (
    "CUDA_LAUNCH_BLOCKING",
    "CUBLAS_WORKSPACE_CONFIG",
    "ASCEND_LAUNCH_BLOCKING",
    "HCCL_DETERMINISTIC",
    "FLASH_ATTENTION_DETERMINISTIC",
)


class TinyRegression(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": torch.nn.functional.mse_loss(self.linear(x), labels)}


def train(
    root: Path, callback: SamerunCallback, *, full_determinism: bool = False, output: str = "out"
) -> None:
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 4, generator=generator), torch.randn(16, 1, generator=generator)
    args = TrainingArguments(
        output_dir=str(root / output),
        max_steps=4,
        per_device_train_batch_size=4,
        learning_rate=0.1,
        logging_steps=1,
        save_steps=2,
        seed=7,
        full_determinism=full_determinism,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
    )
    data = [{"x": x[i], "labels": y[i]} for i in range(16)]
    set_seed(args.seed)  # before the model's weights are drawn: the Trainer seeds only after
    trainer = Trainer(TinyRegression(), args, train_dataset=data, callbacks=[callback])
    trainer.train()


def losses(root: Path, manifest: Manifest) -> tuple[list[int], list[float]]:
    store = open_store(Project(root))
    try:
        return decode_series(store.objects.get_bytes(manifest.outputs.metrics["loss"].series))
    finally:
        store.close()


def test_training_is_recorded_with_params_metric_steps_checkpoints_and_seed(
    project: Path,
) -> None:
    callback = SamerunCallback(name="tiny")
    train(project, callback)
    final = callback.final
    assert final is not None
    assert final.status == "finished"
    assert final.name == "tiny"
    params = final.inputs.params
    assert (params["learning_rate"], params["max_steps"], params["seed"]) == (0.1, 4, 7)
    assert final.inputs.randomness.seed == 7
    assert {"random", "numpy", "torch"} <= set(final.inputs.randomness.seeded)
    assert final.inputs.randomness.settings["transformers.seed"] == 7
    assert final.inputs.randomness.settings["transformers.full_determinism"] is False
    steps, values = losses(project, final)
    assert steps == [1, 2, 3, 4]
    assert all(value > 0 for value in values)
    assert "train_runtime" not in final.outputs.metrics  # a timing, not a result
    checkpoints = {a.path: a.kind for a in final.outputs.artifacts}
    assert checkpoints == {"out/checkpoint-2": "dir", "out/checkpoint-4": "dir"}


def test_checkpoints_outside_the_project_are_refused_before_training(project: Path) -> None:
    with pytest.raises(PathOutsideProject, match="is outside the project root"):
        train(project, SamerunCallback(), output="../elsewhere")
    assert not list(project.parent.glob("elsewhere/checkpoint-*"))
    assert active_run() is None


@pytest.fixture
def restored_determinism(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """enable_full_determinism sets process-wide switches and variables; later tests get them
    back as they were."""
    for name in DETERMINISM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


def test_full_determinism_is_recorded_and_a_rerun_logs_the_same_losses(
    project: Path, restored_determinism: None
) -> None:
    first, again = SamerunCallback(log_checkpoints=False), SamerunCallback(log_checkpoints=False)
    train(project, first, full_determinism=True)
    train(project, again, full_determinism=True)
    assert first.final is not None
    assert again.final is not None
    settings = first.final.inputs.randomness.settings
    assert settings["transformers.full_determinism"] is True
    assert settings["torch.use_deterministic_algorithms"] is True
    assert losses(project, first.final) == losses(project, again.final)


#: A training script: under ``samerun record`` the callback attaches to the launcher's run.
TRAIN_SCRIPT = """\
import torch
from transformers import Trainer, TrainingArguments, set_seed
from samerun.integrations.transformers import SamerunCallback


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x, labels):
        return {"loss": torch.nn.functional.mse_loss(self.linear(x), labels)}


generator = torch.Generator().manual_seed(0)
x, y = torch.randn(8, 4, generator=generator), torch.randn(8, 1, generator=generator)
args = TrainingArguments(output_dir="out", max_steps=2, per_device_train_batch_size=4,
                         logging_steps=1, save_steps=2, seed=3, use_cpu=True, report_to="none",
                         disable_tqdm=True)
data = [{"x": x[i], "labels": y[i]} for i in range(8)]
set_seed(args.seed)  # before the model's weights are drawn: the Trainer seeds only after
Trainer(Tiny(), args, train_dataset=data, callbacks=[SamerunCallback()]).train()
"""


def test_under_record_the_callback_attaches_and_verify_replays_it(project: Path, cli: Cli) -> None:
    (project / "train_hf.py").write_text(TRAIN_SCRIPT)
    git(project, "add", "train_hf.py")
    git(project, "commit", "-q", "-m", "train")
    done = cli("record", "--json", "--seed", "3", "--", sys.executable, "train_hf.py")
    assert done.exit_code == 0, done.stderr
    run_id = json.loads(done.stdout)["id"]
    store = open_store(Project(project))
    try:
        manifest = load_manifest(store, run_id)
    finally:
        store.close()
    assert manifest.inputs.params["max_steps"] == 2
    assert manifest.outputs.metrics["loss"].count == 2
    assert [a.path for a in manifest.outputs.artifacts] == ["out/checkpoint-2"]
    assert manifest.inputs.randomness.settings["transformers.seed"] == 3
    verified = cli("verify", run_id)
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    # the checkpoint directory too: weights, optimizer, RNG states and trainer state
    assert verified.stdout.startswith(f"run {run_id[:8]}: identical")
