"""SamerunLogger with the real Lightning: a tiny model trained for a few steps on CPU."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("lightning")

import lightning
import torch
from torch.utils.data import DataLoader, TensorDataset

from samerun.integrations.lightning import SEED_VARIABLE, SEED_WORKERS_VARIABLE, SamerunLogger
from samerun.manifest import Manifest, load_manifest
from samerun.series import decode_series
from samerun.store.project import Project, open_store
from samerun.tracking import start_run
from tests.conftest import Cli, git


@pytest.fixture(autouse=True)
def _process_settings_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """seed_everything leaves its seed in the environment, and deterministic=True switches torch
    for the whole process; later tests see neither."""
    for name in (SEED_VARIABLE, SEED_WORKERS_VARIABLE, "CUBLAS_WORKSPACE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


class TinyRegression(lightning.LightningModule):
    def __init__(self, lr: float = 0.1, hidden: int = 3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
        )

    def training_step(self, batch: list[torch.Tensor], _index: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])


def fit(root: Path, logger: SamerunLogger, *, deterministic: bool = False) -> None:
    lightning.seed_everything(42, workers=True)
    data = TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
    shuffled = torch.Generator().manual_seed(42)
    trainer = lightning.Trainer(
        logger=logger,
        max_epochs=2,
        log_every_n_steps=1,
        default_root_dir=root,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=deterministic,
    )
    trainer.fit(TinyRegression(), DataLoader(data, batch_size=4, shuffle=True, generator=shuffled))


def loss_history(root: Path, manifest: Manifest) -> tuple[list[int], list[float]]:
    store = open_store(Project(root))
    try:
        assert load_manifest(store, manifest.id) == manifest
        return decode_series(store.objects.get_bytes(manifest.outputs.metrics["train_loss"].series))
    finally:
        store.close()


def test_a_fit_is_recorded_with_params_metric_steps_checkpoints_and_seed(project: Path) -> None:
    logger = SamerunLogger(name="tiny")
    fit(project, logger, deterministic=True)
    final = logger.final
    assert final is not None
    assert final.status == "finished"
    assert final.name == "tiny"
    assert final.inputs.params == {"lr": 0.1, "hidden": 3}
    assert final.inputs.randomness.seed == 42
    assert {"random", "numpy", "torch"} <= set(final.inputs.randomness.seeded)
    assert final.inputs.randomness.settings["lightning.seed_everything"] == 42
    assert final.inputs.randomness.settings["lightning.seed_workers"] is True
    assert final.inputs.randomness.settings["torch.use_deterministic_algorithms"] is True
    steps, losses = loss_history(project, final)
    assert steps == list(range(8))  # 2 epochs of 4 batches, at Lightning's global steps
    assert all(loss > 0 for loss in losses)
    checkpoints = [a.path for a in final.outputs.artifacts]
    assert checkpoints == [
        "lightning_logs/samerun/checkpoints/epoch=0-step=4.ckpt",
        "lightning_logs/samerun/checkpoints/epoch=1-step=8.ckpt",
    ]


def test_a_second_fit_with_the_same_seed_logs_the_same_losses(project: Path) -> None:
    with start_run(name="outer") as outer:  # the logger records into the user's run
        first = SamerunLogger(log_checkpoints=False)
        fit(project, first)
        assert first.final is None  # the run is the user's to end
    again = SamerunLogger(log_checkpoints=False)
    fit(project, again)
    assert outer.final is not None
    assert again.final is not None
    assert outer.final.name == "outer"
    assert outer.final.outputs.artifacts == again.final.outputs.artifacts == []
    assert loss_history(project, outer.final) == loss_history(project, again.final)


#: A training script: under ``samerun record`` its logger attaches to the launcher's run.
FIT_SCRIPT = """\
import lightning, torch
from torch.utils.data import DataLoader, TensorDataset
from samerun.integrations.lightning import SamerunLogger


class Tiny(lightning.LightningModule):
    def __init__(self, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Linear(4, 1)

    def training_step(self, batch, _index):
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


lightning.seed_everything(5)
data = TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
trainer = lightning.Trainer(logger=SamerunLogger(), max_epochs=1, log_every_n_steps=1,
                            accelerator="cpu", enable_progress_bar=False)
trainer.fit(Tiny(), DataLoader(data, batch_size=4, shuffle=True))
"""


def test_under_record_the_logger_attaches_and_verify_replays_it(project: Path, cli: Cli) -> None:
    (project / "fit.py").write_text(FIT_SCRIPT)
    git(project, "add", "fit.py")
    git(project, "commit", "-q", "-m", "fit")
    done = cli("record", "--json", "--seed", "5", "--", sys.executable, "fit.py")
    assert done.exit_code == 0, done.stderr
    recorded = json.loads(done.stdout)
    store = open_store(Project(project))
    try:
        manifest = load_manifest(store, recorded["id"])
    finally:
        store.close()
    assert manifest.inputs.params == {"lr": 0.1}
    assert manifest.outputs.metrics["train_loss"].count == 4
    assert [a.path for a in manifest.outputs.artifacts] == [
        "lightning_logs/samerun/checkpoints/epoch=0-step=4.ckpt"
    ]
    assert manifest.inputs.randomness.settings["lightning.seed_everything"] == 5
    verified = cli("verify", recorded["id"])
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    text = " ".join(verified.stdout.split())
    # same metrics and weights; the checkpoint's bytes differ only by the path it was saved in
    assert text.startswith(f"run {recorded['id'][:8]}: equivalent (replay ")
    assert ".ckpt, max abs 0, max rel 0" in text
