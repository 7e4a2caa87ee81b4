"""The runs the query benchmarks fill both stores with: the same numbers on the samerun side
and on the MLflow side, so both queries must return the same runs in the same order.

Run ``index`` of a sweep has 20 params (a model, an optimizer, a schedule, data and training
settings) and 10 metrics, each logged once per epoch for ``EPOCHS`` epochs. Final accuracies
are spread evenly from 0.55 to 0.99 and never equal, so about a fifth of the runs match
``metrics.accuracy > 0.9`` and a sort by accuracy has one right order. Plain Python, no
dependencies: samerun's and MLflow's interpreters both import it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

EPOCHS = 10
EPOCH_S = 30.0
SWEEP_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z; run N starts N minutes later
ACCURACY_THRESHOLD = 0.9  # the benchmark's filter: metrics.accuracy > 0.9
_GOLDEN = (math.sqrt(5) - 1) / 2  # index * this, mod 1: evenly spread, never repeating

Point = tuple[int, float, float]  # step, value, timestamp in seconds


@dataclass(frozen=True)
class SyntheticRun:
    name: str
    started_at: float  # seconds, whole (samerun keeps milliseconds, MLflow milliseconds)
    ended_at: float
    params: dict[str, object]
    metrics: dict[str, list[Point]]  # each key's values, one per epoch

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"][-1][1]


def final_accuracy(index: int) -> float:
    return 0.55 + 0.44 * ((index * _GOLDEN) % 1.0)


def _params(index: int, rng: random.Random) -> dict[str, object]:
    return {
        "model.name": rng.choice(["resnet18", "resnet34", "resnet50", "vit-s16", "convnext-t"]),
        "model.depth": rng.choice([18, 34, 50, 101]),
        "model.width": rng.choice([64, 128, 256, 512]),
        "model.dropout": round(rng.uniform(0.0, 0.5), 3),
        "model.activation": rng.choice(["relu", "gelu", "silu"]),
        "optimizer.name": rng.choice(["adam", "adamw", "sgd"]),
        "optimizer.lr": float(f"{10 ** rng.uniform(-5, -1):.3g}"),
        "optimizer.weight_decay": float(f"{10 ** rng.uniform(-6, -2):.3g}"),
        "optimizer.momentum": round(rng.uniform(0.8, 0.99), 3),
        "optimizer.beta2": rng.choice([0.98, 0.99, 0.999]),
        "scheduler.name": rng.choice(["cosine", "step", "constant"]),
        "scheduler.warmup_steps": rng.choice([0, 100, 500, 1000]),
        "data.batch_size": rng.choice([32, 64, 128, 256]),
        "data.image_size": rng.choice([160, 224, 256]),
        "data.augment": rng.choice([True, False]),
        "data.num_workers": rng.choice([2, 4, 8]),
        "data.train_fraction": rng.choice([0.5, 0.8, 0.9, 1.0]),
        "train.epochs": EPOCHS,
        "train.precision": rng.choice(["fp32", "bf16", "fp16"]),
        "train.seed": 1000 + index,
    }


def _curve(final: float, start: float, started_at: float, noise: random.Random) -> list[Point]:
    """``EPOCHS`` values from about ``start`` to exactly ``final``, one per epoch."""
    values = [
        (start + (final - start) * math.sqrt((epoch + 1) / EPOCHS)) * noise.uniform(0.98, 1.02)
        for epoch in range(EPOCHS - 1)
    ]
    values.append(final)
    return [
        (epoch, value, started_at + (epoch + 1) * EPOCH_S) for epoch, value in enumerate(values)
    ]


def synthetic_run(index: int) -> SyntheticRun:
    """Run ``index`` of the sweep; the same run every time it is asked for."""
    rng = random.Random(index)
    started = SWEEP_START + 60.0 * index
    accuracy = final_accuracy(index)
    loss = -math.log(accuracy) * rng.uniform(0.9, 1.1)
    finals = {
        "accuracy": (accuracy, 0.1),
        "loss": (loss, 2.3),
        "val_accuracy": (accuracy - rng.uniform(0.0, 0.03), 0.1),
        "val_loss": (loss * rng.uniform(1.0, 1.2), 2.3),
        "precision": (accuracy + rng.uniform(-0.02, 0.01), 0.1),
        "recall": (accuracy + rng.uniform(-0.02, 0.01), 0.1),
        "f1": (accuracy + rng.uniform(-0.02, 0.0), 0.1),
        "auc": (min(accuracy + rng.uniform(0.0, 0.05), 0.999), 0.5),
        "learning_rate": (1e-5, 1e-3),
        "epoch_time_s": (EPOCH_S * rng.uniform(0.9, 1.1), EPOCH_S),
    }
    metrics = {key: _curve(end, begin, started, rng) for key, (end, begin) in finals.items()}
    return SyntheticRun(
        name=f"sweep-{index:05d}",
        started_at=started,
        ended_at=started + EPOCHS * EPOCH_S,
        params=_params(index, rng),
        metrics=metrics,
    )


def sweep(count: int) -> list[SyntheticRun]:
    return [synthetic_run(index) for index in range(count)]


def best_first(count: int) -> list[str]:
    """The names ``metrics.accuracy > 0.9`` sorted by accuracy, best first, must return."""
    matching = [
        (final_accuracy(i), f"sweep-{i:05d}")
        for i in range(count)
        if final_accuracy(i) > ACCURACY_THRESHOLD
    ]
    return [name for _, name in sorted(matching, reverse=True)]


def loss_history(points: int) -> list[Point]:
    """A training loss logged at every step: decaying, noisy, one value every 10 ms."""
    noise = random.Random(points)
    return [
        (
            step,
            2.3 * math.exp(-5.0 * step / points) + noise.uniform(0.0, 0.05),
            SWEEP_START + step / 100,
        )
        for step in range(points)
    ]
