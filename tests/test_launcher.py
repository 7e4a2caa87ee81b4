"""``samerun record``: the launcher runs a real command in a subprocess and records it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samerun.series import decode_series
from samerun.store.project import Project, Store, open_store
from tests.conftest import TRAIN_SCRIPT, Cli, CliRunner, git

#: The child prints what it was started with, so a test can see what the command really saw.
SHOW_ENV = (
    "import os, sys; print('SEEN', os.environ.get('SAMERUN_SEED'), "
    "os.environ.get('PYTHONHASHSEED'), sys.flags.hash_randomization, hash('samerun'))"
)


@pytest.fixture(autouse=True)
def _no_hash_seed_of_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child gets ``PYTHONHASHSEED`` from the launcher, not from the shell the tests run in."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)


@pytest.fixture
def open_project_store() -> Iterator[Any]:
    opened: list[Store] = []

    def opener(root: Path) -> Store:
        store = open_store(Project(root))
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


def manifest_of(cli: Cli, ref: str = "last", cwd: Path | None = None) -> Any:
    done = cli("show", ref, "--json", cwd=cwd)
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def run_rows(cli: Cli, cwd: Path | None = None) -> list[dict[str, Any]]:
    done = cli("runs", "--all", "--json", cwd=cwd)
    assert done.exit_code == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def seen(stdout: str) -> list[str]:
    """The ``SEEN`` line a :data:`SHOW_ENV` child printed, split into its fields."""
    lines = [line for line in stdout.splitlines() if line.startswith("SEEN ")]
    assert len(lines) == 1, stdout
    return lines[0].split()[1:]


def python_hash(text: str, hash_seed: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", f"print(hash({text!r}))"],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_record_a_training_script(project: Path, cli: Cli, open_project_store: Any) -> None:
    done = cli(
        "record",
        "--seed",
        "42",
        "--config",
        "config.yaml",
        "-p",
        "model.lr=0.05",
        "--output",
        "model.pkl",
        "--",
        "python",
        "train.py",
    )
    assert done.exit_code == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "trained" in done.stdout  # the child's output reaches the user

    rows = run_rows(cli)
    assert len(rows) == 1, "the script attached to the launcher's run instead of opening another"
    manifest = manifest_of(cli)
    assert manifest["id"] == rows[0]["id"]
    assert manifest["status"] == "finished"
    assert manifest["exit_code"] == 0
    assert manifest["signal"] is None

    params = manifest["inputs"]["params"]
    assert params == {"epochs": 2, "model.depth": 3, "model.lr": 0.05}
    assert isinstance(params["model.lr"], float)
    assert isinstance(params["epochs"], int)
    assert manifest["inputs"]["config"]["path"] == "config.yaml"

    randomness = manifest["inputs"]["randomness"]
    assert randomness["seed"] == 42
    assert randomness["seed_source"] == "given"
    assert randomness["python_hash_seed"] == "42"
    assert manifest["inputs"]["env_vars"]["PYTHONHASHSEED"] == "42"
    assert manifest["inputs"]["command"]["argv"] == ["python", "train.py"]
    assert manifest["inputs"]["code"]["commit"] == git(project, "rev-parse", "HEAD")
    assert manifest["inputs"]["code"]["dirty"] is False

    store = open_project_store(project)
    metrics = manifest["outputs"]["metrics"]
    assert set(metrics) == {"loss", "accuracy"}
    assert metrics["loss"]["count"] == 5
    assert metrics["accuracy"]["last"] == 0.9
    steps, values = decode_series(store.objects.get_bytes(metrics["loss"]["series"]))
    assert steps == [0, 1, 2, 3, 4]
    assert values[-1] == metrics["loss"]["last"]
    assert [(s, v) for s, v, _ in store.meta.metric_series(manifest["id"], "loss")] == list(
        zip(steps, values, strict=False)
    )
    assert len(store.meta.metric_series(manifest["id"], "accuracy")) == 1
    assert rows[0]["metrics"]["accuracy"] == 0.9

    (artifact,) = manifest["outputs"]["artifacts"]
    assert artifact["path"] == "model.pkl"
    assert artifact["kind"] == "file"
    model = (project / "model.pkl").read_bytes()
    assert artifact["size"] == len(model)
    assert store.objects.get_bytes(artifact["oid"]) == model

    fingerprints = manifest["fingerprints"]
    assert fingerprints["inputs"].startswith("blake3:")
    assert fingerprints["outputs"].startswith("blake3:")
    assert rows[0]["input_fingerprint"] == fingerprints["inputs"]
    assert rows[0]["output_fingerprint"] == fingerprints["outputs"]


def test_the_child_runs_with_the_seed_and_a_pinned_hash_seed(project: Path, cli: Cli) -> None:
    done = cli("record", "--seed", "42", "--", "python", "-c", SHOW_ENV)
    assert done.exit_code == 0, done.stderr
    seed, hash_seed, randomization, hashed = seen(done.stdout)
    assert (seed, hash_seed, randomization) == ("42", "42", "1")
    assert hashed == python_hash("samerun", "42"), "PYTHONHASHSEED really took effect"


def test_a_drawn_seed_is_recorded_and_given_to_the_child(project: Path, cli: Cli) -> None:
    done = cli("record", "--", "python", "-c", SHOW_ENV)
    assert done.exit_code == 0, done.stderr
    randomness = manifest_of(cli)["inputs"]["randomness"]
    assert randomness["seed_source"] == "drawn"
    assert 0 <= randomness["seed"] <= 2**32 - 1
    seed, hash_seed, _, _ = seen(done.stdout)
    assert seed == str(randomness["seed"])
    assert hash_seed == randomness["python_hash_seed"] == str(randomness["seed"])


def test_a_users_pythonhashseed_is_respected_and_recorded(project: Path, cli: Cli) -> None:
    done = cli(
        "record", "--seed", "42", "--", "python", "-c", SHOW_ENV, env={"PYTHONHASHSEED": "7"}
    )
    assert done.exit_code == 0, done.stderr
    seed, hash_seed, _, hashed = seen(done.stdout)
    assert (seed, hash_seed) == ("42", "7")
    assert hashed == python_hash("samerun", "7")
    inputs = manifest_of(cli)["inputs"]
    assert inputs["randomness"]["seed"] == 42
    assert inputs["randomness"]["python_hash_seed"] == "7"
    assert inputs["env_vars"]["PYTHONHASHSEED"] == "7"


def test_record_exits_with_the_commands_exit_code(
    project: Path, samerun_cli: CliRunner, cli: Cli
) -> None:
    # A process: the exit status a shell or CI job sees is the point.
    done = samerun_cli("record", "--", "python", "-c", "import sys; sys.exit(3)")
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    manifest = manifest_of(cli)
    assert manifest["status"] == "failed"
    assert manifest["exit_code"] == 3
    assert "3" in manifest["error"]


def test_command_not_found_is_recorded_as_exit_127(project: Path, cli: Cli) -> None:
    done = cli("record", "--", "no-such-command-samerun", "--flag")
    assert done.exit_code == 127
    assert "Traceback" not in done.stderr
    mentions = [line for line in done.stderr.splitlines() if "no-such-command-samerun" in line]
    assert len(mentions) == 1, done.stderr
    assert "not found" in mentions[0]
    manifest = manifest_of(cli)
    assert manifest["status"] == "failed"
    assert manifest["exit_code"] == 127
    assert "not found" in manifest["error"]
    assert "\n" not in manifest["error"]


def test_input_fingerprint_identifies_the_experiment(project: Path, cli: Cli) -> None:
    base = ("record", "--seed", "42", "--config", "config.yaml")
    for extra in ((), (), ("-p", "model.lr=0.05")):
        done = cli(*base, *extra, "--", "python", "train.py")
        assert done.exit_code == 0, done.stderr
    changed, second, first = run_rows(cli)
    assert first["input_fingerprint"] == second["input_fingerprint"]
    assert changed["input_fingerprint"] != first["input_fingerprint"]


def test_record_in_a_repository_without_a_commit(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text(TRAIN_SCRIPT)
    monkeypatch.chdir(root)
    done = cli("record", "--seed", "1", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    assert "no commit" in done.stderr
    manifest = manifest_of(cli)
    assert manifest["status"] == "finished"
    code = manifest["inputs"]["code"]
    assert code["vcs"] == "git"
    assert code["commit"] is None
    assert code["dirty"] is True
    assert code["patch"] is not None  # the code is recorded as a patch against nothing
    assert manifest["outputs"]["metrics"]["loss"]["count"] == 5


def test_record_outside_git_warns_and_hashes_the_sources(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "train.py").write_text(TRAIN_SCRIPT)
    monkeypatch.chdir(root)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    done = cli("record", "--seed", "1", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    assert "not in a git repository" in done.stderr
    assert "Traceback" not in done.stderr
    assert (root / ".samerun").is_dir()
    manifest = manifest_of(cli)
    assert manifest["status"] == "finished"
    code = manifest["inputs"]["code"]
    assert code["vcs"] == "none"
    assert code["tree"].startswith("blake3:")
    assert any("not in a git repository" in w for w in manifest["warnings"])
    assert manifest["outputs"]["metrics"]["loss"]["count"] == 5

    (root / "train.py").write_text(TRAIN_SCRIPT + "# changed\n")
    assert cli("record", "--seed", "1", "--", "python", "train.py").exit_code == 0
    changed = manifest_of(cli)
    assert changed["inputs"]["code"]["tree"] != code["tree"]


def test_uncommitted_change_is_a_patch_that_applies_at_the_commit(
    project: Path, cli: Cli, open_project_store: Any, tmp_path: Path
) -> None:
    (project / "train.py").write_text(TRAIN_SCRIPT.replace("0.9", "0.95"))
    (project / "helper.py").write_text("VALUE = 1\n")  # untracked, not ignored
    (project / "model.pkl").write_text("left by an earlier run\n")  # ignored by git
    done = cli("record", "--seed", "3", "--", "python", "train.py")
    assert done.exit_code == 0, done.stderr
    manifest = manifest_of(cli)
    code = manifest["inputs"]["code"]
    assert code["dirty"] is True
    assert code["commit"] == git(project, "rev-parse", "HEAD")
    assert manifest["outputs"]["metrics"]["accuracy"]["last"] == 0.95

    patch = open_project_store(project).objects.get_bytes(code["patch"])
    assert code["patch_size"] == len(patch)
    assert b"helper.py" in patch
    assert b"b/model.pkl" not in patch  # ignored files are not code

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    git(clone, "checkout", "-q", code["commit"])
    (tmp_path / "change.patch").write_bytes(patch)
    git(clone, "apply", "--check", str(tmp_path / "change.patch"))
    git(clone, "apply", str(tmp_path / "change.patch"))
    assert (clone / "train.py").read_text() == (project / "train.py").read_text()
    assert (clone / "helper.py").read_text() == "VALUE = 1\n"


def test_frameworks_the_child_imported_describe_the_host(project: Path, cli: Cli) -> None:
    pytest.importorskip("numpy")
    script = "import numpy, samerun\nsamerun.log_metric('x', float(numpy.ones(3).sum()))\n"
    done = cli("record", "--json", "--", sys.executable, "-c", script)
    assert done.exit_code == 0, done.stderr
    host = json.loads(done.stdout)["host"]
    assert host["numpy"]["version"] == __import__("numpy").__version__
    assert "torch" not in host or "version" in host["torch"]
