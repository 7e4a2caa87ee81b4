from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import samerun
from samerun._exceptions import UsageError
from samerun.store.project import Project, open_store
from samerun.tracing.stored import read_trace
from tests.conftest import Cli, forget_seeding

torch = pytest.importorskip("torch")
import samerun.torch as st  # noqa: E402


@pytest.fixture(autouse=True)
def _nothing_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_seeding(monkeypatch)


def batches(loader: Any) -> list[list[int]]:
    return [b.tolist() for b in loader]


def test_generator_order_ignores_other_draws_from_the_global_rng() -> None:
    data = list(range(20))

    def order(extra_draw: bool) -> list[list[int]]:
        torch.manual_seed(0)
        if extra_draw:
            torch.rand(1)
        loader = torch.utils.data.DataLoader(
            data, batch_size=5, shuffle=True, generator=st.generator(7)
        )
        return batches(loader)

    assert order(False) == order(True)
    assert order(False) != batches(
        torch.utils.data.DataLoader(data, batch_size=5, shuffle=True, generator=st.generator(8))
    )


def test_generator_defaults_to_the_current_seed() -> None:
    with pytest.raises(UsageError, match="seed_everything"):
        st.generator()
    samerun.seed_everything(3, hash_seed="ignore")
    assert st.generator().initial_seed() == st.generator(3).initial_seed()
    assert st.generator(3).initial_seed() == samerun.derive_seed(3, "torch.generator")


class Draws(torch.utils.data.Dataset):  # type: ignore[misc]
    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[float, float]:
        return random.random(), float(np.random.rand())


def test_worker_init_fn_gives_workers_distinct_reproducible_streams() -> None:
    def epoch() -> list[tuple[float, float]]:
        loader = torch.utils.data.DataLoader(
            Draws(),
            batch_size=2,
            num_workers=2,
            generator=st.generator(1),
            worker_init_fn=st.worker_init_fn,
        )
        return [(float(a), float(b)) for x, y in loader for a, b in zip(x, y, strict=True)]

    first = epoch()
    assert first == epoch()
    assert len(set(first)) == len(first)  # no two workers share a stream


class Net(torch.nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 8)
        self.drop = torch.nn.Dropout(0.5)
        self.out = torch.nn.Linear(8, 1)

    def forward(self, x: Any) -> Any:
        return self.out(self.drop(torch.relu(self.fc(x))))


def train(
    steps: int, every: int = 1, grads: bool = False, evaluate: bool = False, keep: int = 0
) -> Any:
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    with (
        samerun.start_run() as run,
        st.trace_model(model, every=every, grads=grads, keep=keep) as tracer,
    ):
        for _ in range(steps):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if evaluate:
                model.eval()
                model(x)
                model.train()
    assert tracer.step == steps - 1
    store = open_store(Project(run.root))
    try:
        return read_trace(store, run.id)
    finally:
        store.close()


def test_trace_model_records_outputs_in_execution_order_then_parameters(project: Path) -> None:
    trace = train(steps=2, grads=True)
    assert sorted(trace.steps) == [0, 1]
    labels = [e.label for e in trace.steps[0]]
    assert labels == [
        "output fc",
        "output drop",
        "output out",
        "output Net",
        "grad fc.weight",
        "grad fc.bias",
        "grad out.weight",
        "grad out.bias",
        "param fc.weight",
        "param fc.bias",
        "param out.weight",
        "param out.bias",
    ]
    step0 = {e.label: e for e in trace.steps[0]}
    assert step0["output fc"].fingerprint.describe() == "float32[16, 8]"
    assert step0["param out.bias"].fingerprint.values is None  # only fingerprints by default
    kept = {e.label: e for e in train(steps=1, keep=8).steps[0]}
    assert kept["param out.bias"].fingerprint.values is not None
    assert kept["param fc.bias"].fingerprint.values is not None
    assert kept["param fc.weight"].fingerprint.values is None  # 32 elements > 8


def test_trace_model_traces_every_nth_training_step_only(project: Path) -> None:
    trace = train(steps=5, every=2, evaluate=True)
    assert sorted(trace.steps) == [0, 2, 4]
    assert not any(e.kind == "grad" for e in trace.steps[0])


def test_removed_trace_records_nothing_more(project: Path) -> None:
    model = Net()
    with samerun.start_run() as run:
        tracer = st.trace_model(model)
        model(torch.randn(2, 4))
        tracer.remove()
        model(torch.randn(2, 4))
    assert run.final is not None
    assert run.final.outputs.trace is not None
    assert run.final.outputs.trace.steps == 1
    with pytest.raises(UsageError, match="every 1 or more"):
        st.trace_model(model, every=0)


DATA_ORDER_SCRIPT = """\
import os, torch, samerun
samerun.seed_everything()
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x, y = torch.randn(24, 3), torch.randn(24, 1)
if os.environ.get("EXTRA_DRAW"):
    torch.rand(1)  # one more draw from the global RNG before training
generator = samerun.torch.generator() if os.environ.get("TOOLKIT") else None
loader = torch.utils.data.DataLoader(range(24), batch_size=6, shuffle=True, generator=generator)
with samerun.torch.trace_model(model):
    for step, idx in enumerate(loader):
        samerun.trace(step, batch=idx)
        loss = ((model(x[idx]) - y[idx]) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        samerun.log_metric("loss", loss.item(), step=step)
"""


def record(cli: Cli, env: dict[str, str]) -> dict[str, Any]:
    done = cli("record", "--seed", "4", "--json", "--", sys.executable, "train_torch.py", env=env)
    assert done.exit_code == 0, done.stderr
    manifest: dict[str, Any] = json.loads(done.stdout)
    return manifest


def trace_diff(cli: Cli, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    done = cli("trace", "diff", a["id"], b["id"], "--json")
    assert done.exit_code == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_with_the_toolkit_generator_an_extra_draw_changes_nothing(project: Path, cli: Cli) -> None:
    (project / "train_torch.py").write_text(DATA_ORDER_SCRIPT)
    a = record(cli, {"TOOLKIT": "1"})
    b = record(cli, {"TOOLKIT": "1", "EXTRA_DRAW": "1"})
    assert a["fingerprints"] == b["fingerprints"]
    assert trace_diff(cli, a, b)["identical"] is True


def test_without_it_trace_diff_points_at_step_0s_batch_indices(project: Path, cli: Cli) -> None:
    (project / "train_torch.py").write_text(DATA_ORDER_SCRIPT)
    a = record(cli, {})
    b = record(cli, {"EXTRA_DRAW": "1"})
    assert a["fingerprints"]["inputs"] == b["fingerprints"]["inputs"]
    assert a["fingerprints"]["outputs"] != b["fingerprints"]["outputs"]
    first = trace_diff(cli, a, b)["first_divergence"]
    assert (first["step"], first["label"]) == (0, "value batch")
    shown = cli("trace", "diff", a["id"], b["id"])
    assert "step 0" in shown.stdout
    assert "value batch (int64[6])" in shown.stdout


DROPOUT_SCRIPT = """\
import os, torch, samerun
samerun.seed_everything()
model = torch.nn.Sequential()
model.add_module("fc", torch.nn.Linear(4, 16))
model.add_module("act", torch.nn.ReLU())
model.add_module("drop", torch.nn.Dropout(0.3))
model.add_module("head", torch.nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x, y = torch.randn(8, 4), torch.randn(8, 1)
with samerun.torch.trace_model(model):
    for step in range(5):
        if step == 3:
            torch.manual_seed(int(os.environ["RESEED"]))
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
"""


def test_a_differently_reseeded_dropout_is_named_at_the_right_step(project: Path, cli: Cli) -> None:
    (project / "train_torch.py").write_text(DROPOUT_SCRIPT)
    a = record(cli, {"RESEED": "1"})
    b = record(cli, {"RESEED": "2"})
    diff = trace_diff(cli, a, b)
    first = diff["first_divergence"]
    assert (first["step"], first["label"]) == (3, "output drop")
    spread = diff["spread"]
    assert spread["steps_compared"] == 5
    assert spread["steps_differing"] == 2
    assert spread["first_differs"][0] == {"label": "output drop", "step": 3}
