from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import samerun
from samerun import seeding
from samerun._exceptions import UsageError
from tests.conftest import Cli, forget_seeding


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process would: nothing seeded, nothing deferred."""
    forget_seeding(monkeypatch)
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)  # the launcher pins it, not the test


def draws() -> tuple[float, float]:
    return random.random(), float(np.random.rand())


def test_the_same_seed_gives_the_same_draws_in_every_library() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", samerun.ReproducibilityWarning)
        first = samerun.seed_everything(5)
        a = draws()
        samerun.seed_everything(5)
        b = draws()
        samerun.seed_everything(6)
        c = draws()
    assert a == b != c
    assert first.seed == 5
    assert first.source == "given"
    assert {"random", "numpy"} <= set(first.seeded)


def test_the_seed_comes_from_the_launcher_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMERUN_SEED", "77")
    result = samerun.seed_everything(hash_seed="ignore")
    assert (result.seed, result.source) == (77, "launcher")


def test_the_active_runs_seed_is_used_and_what_was_seeded_is_recorded(project: Path) -> None:
    with samerun.start_run(seed=123) as run:
        result = samerun.seed_everything(hash_seed="ignore")
    assert (result.seed, result.source) == (123, "run")
    final = run.final
    assert final is not None
    assert set(result.seeded) <= set(final.inputs.randomness.seeded)
    assert final.inputs.randomness.settings == {"seed": 123}


def test_a_drawn_seed_is_the_one_the_next_run_records(project: Path) -> None:
    result = samerun.seed_everything(hash_seed="ignore")
    assert result.source == "drawn"
    assert 0 <= result.seed < 2**32
    with samerun.start_run() as run:
        pass
    assert run.final is not None
    rnd = run.final.inputs.randomness
    assert (rnd.seed, rnd.seed_source) == (result.seed, "drawn")
    assert "numpy" in rnd.seeded
    assert rnd.settings["seed"] == result.seed


def test_deterministic_mode_sets_and_records_the_torch_switches(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")  # the user's own value is kept
    try:
        with samerun.start_run(seed=3) as run:
            result = samerun.seed_everything(deterministic=True, warn_only=True, hash_seed="ignore")
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.benchmark is False
    finally:
        torch.use_deterministic_algorithms(False)
    assert run.final is not None
    settings = run.final.inputs.randomness.settings
    assert settings == result.settings
    assert settings["torch.use_deterministic_algorithms"] == "warn_only"
    assert settings["torch.backends.cudnn.benchmark"] is False
    assert settings["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
    assert "torch" in run.final.inputs.randomness.seeded


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(UsageError, match="hash_seed='sometimes'"):
        samerun.seed_everything(1, hash_seed="sometimes")
    with pytest.raises(UsageError, match="between 0 and 4294967295"):
        samerun.seed_everything(-1)


def test_derived_seeds_are_stable_and_follow_seed_sequence() -> None:
    assert samerun.derive_seed(42) == 3444837047
    assert samerun.derive_seed(42, "fold", 3) == 1033596967
    spawned = np.random.SeedSequence(42).spawn(3)[2].generate_state(1)[0]
    assert samerun.derive_seed(42, 2) == spawned
    keys = [(42, 0), (42, 1), (43, 0), (42, "0"), (42, "fold", 0), (42, "fold", 1)]
    assert len({samerun.derive_seed(*k) for k in keys}) == len(keys)


@pytest.mark.parametrize("keys", [(), (-1,), (1.5,), (True,), (2**64,)])
def test_bad_derivation_keys_are_refused(keys: tuple[object, ...]) -> None:
    with pytest.raises(UsageError):
        samerun.derive_seed(*keys)  # type: ignore[arg-type]


def test_thread_environment_names_every_pool() -> None:
    env = seeding.thread_environment(2)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    with pytest.raises(UsageError):
        seeding.thread_environment(0)


def _python(
    code: str, hash_seed: str | None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    # A process: the hash seed takes effect only when an interpreter starts.
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_hash_randomization_is_warned_about_with_the_fix() -> None:
    code = "import samerun; samerun.seed_everything(1)"
    randomized = _python(code, None)
    assert randomized.returncode == 0, randomized.stderr
    assert "ReproducibilityWarning" in randomized.stderr
    assert "samerun record" in randomized.stderr
    assert "hash_seed='reexec'" in randomized.stderr
    assert "ReproducibilityWarning" not in _python(code, "7").stderr


def test_reexec_restarts_the_interpreter_with_the_hash_seed_pinned() -> None:
    code = (
        "import os, samerun; samerun.seed_everything(9, hash_seed='reexec'); "
        "print(os.environ['PYTHONHASHSEED'], list({'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}))"
    )
    outputs = {_python(code, None).stdout for _ in range(3)}
    assert len(outputs) == 1
    assert outputs.pop().startswith("9 ")


SET_ORDER_SCRIPT = """\
import samerun
samerun.seed_everything()
words = {"apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel", "ivy", "jujube"}
with open("order.txt", "w") as handle:
    handle.write(" ".join(words))
"""


def test_set_order_reproduces_under_the_launcher_and_not_with_a_random_hash_seed(
    project: Path, cli: Cli
) -> None:
    (project / "order.py").write_text(SET_ORDER_SCRIPT)
    fingerprints = []
    for _ in range(2):
        done = cli(
            "record",
            "--seed",
            "5",
            "--output",
            "order.txt",
            "--json",
            "--",
            sys.executable,
            "order.py",
        )
        assert done.exit_code == 0, done.stderr
        fingerprints.append(json.loads(done.stdout)["fingerprints"]["outputs"])
    assert fingerprints[0] == fingerprints[1]

    orders = set()
    for _ in range(4):
        done = _python(SET_ORDER_SCRIPT, None, cwd=project)
        assert done.returncode == 0, done.stderr
        assert "samerun record" in done.stderr
        orders.add((project / "order.txt").read_text())
    assert len(orders) > 1


NUMPY_SCRIPT = """\
import numpy as np
import samerun
if SEED:
    samerun.seed_everything()
data = np.random.normal(size=(200, 3))
samerun.log_metric("mean", float(data.mean()))
np.save("out.npy", data @ np.random.normal(size=3))
"""

SKLEARN_SCRIPT = """\
import numpy as np
from sklearn.ensemble import RandomForestClassifier
import samerun
if SEED:
    samerun.seed_everything()
X = np.random.normal(size=(120, 4))
y = (X[:, 0] + np.random.normal(scale=0.5, size=120) > 0).astype(int)
model = RandomForestClassifier(n_estimators=10, max_features=2).fit(X, y)  # no random_state
samerun.log_metric("accuracy", float(model.score(X, y)))
np.save("out.npy", model.predict_proba(X))
"""


@pytest.mark.parametrize("script", [NUMPY_SCRIPT, SKLEARN_SCRIPT], ids=["numpy", "sklearn"])
def test_scripts_using_seed_everything_reproduce_across_processes(
    project: Path, cli: Cli, script: str
) -> None:
    if "sklearn" in script:
        pytest.importorskip("sklearn")

    def outputs(seeded: bool) -> set[str]:
        (project / "job.py").write_text(f"SEED = {seeded}\n" + script)
        found = set()
        for _ in range(2):
            done = cli(
                "record",
                "--seed",
                "11",
                "--output",
                "out.npy",
                "--json",
                "--",
                sys.executable,
                "job.py",
            )
            assert done.exit_code == 0, done.stderr
            found.add(json.loads(done.stdout)["fingerprints"]["outputs"])
        return found

    assert len(outputs(seeded=True)) == 1
    assert len(outputs(seeded=False)) == 2  # the control: without it, each process differs


def test_record_threads_pins_the_pools_and_records_the_value(project: Path, cli: Cli) -> None:
    (project / "threads.py").write_text(
        "import os\nprint(os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])\n"
    )
    done = cli("record", "--threads", "1", "--json", "--", sys.executable, "threads.py")
    assert done.exit_code == 0, done.stderr
    env_vars = json.loads(done.stdout)["inputs"]["env_vars"]
    assert env_vars["OMP_NUM_THREADS"] == env_vars["MKL_NUM_THREADS"] == "1"
    bad = cli("record", "--threads", "0", "--", sys.executable, "threads.py")
    assert bad.exit_code == 2
    assert "--threads" in bad.stderr


def test_frameworks_imported_later_are_seeded_on_import_and_recorded(
    project: Path, cli: Cli
) -> None:
    (project / "late.py").write_text(
        "import sys, samerun\n"
        "samerun.seed_everything(5)\n"
        "assert 'numpy' not in sys.modules\n"
        "import numpy\n"
        "print(numpy.random.get_state()[1][0])\n"
    )
    done = cli("record", "--json", "--", sys.executable, "late.py")
    assert done.exit_code == 0, done.stderr
    assert str(np.random.RandomState(5).get_state()[1][0]) in done.stderr  # --json: to stderr
    assert "numpy" in json.loads(done.stdout)["inputs"]["randomness"]["seeded"]
