"""samerun's pytest plugin: reproducibility tests, a shared seed, golden outputs.

``@pytest.mark.reproducible(runs=2, rtol=..., atol=..., hash_seed="fixed"|"vary", outputs=[...])``
runs a test's body ``runs`` times, each in a fresh interpreter (a ``pytest`` child process that
runs this one test), and compares what each run returned and the files it declared with the
comparators of ``samerun diff``. A returned value travels as JSON and, for arrays and tensors, as
an ``.npz`` read with ``allow_pickle=False``: nothing is ever unpickled. ``--samerun-baseline RUN``
also compares the declared files with the artifacts of a recorded run. The ``samerun_seed``
fixture seeds ``random``, NumPy and torch with the session's seed (``--samerun-seed N``), which
the report header prints and pytest-xdist's workers share.

Import budget: pytest loads this module in every session of every project that installs samerun,
so it imports only the standard library at the top; NumPy, samerun's comparators and the store
are imported where a reproducible test or a baseline needs them (tests/integrations pins this).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from samerun.verify.comparators import Closeness, Tolerance

#: Set in a child process: the folder it writes the test's returned value and outputs to.
CHILD_ENV = "SAMERUN_PYTEST_CHILD"
VALUE_FILE = "value.json"
ARRAYS_FILE = "arrays.npz"
OUTPUTS_DIR = "outputs"
ERROR_FILE = "error.txt"
HASH_SEED_MODES = ("fixed", "vary")
FIXED_HASH_SEED = "0"
_SEED_KEY = pytest.StashKey[int]()
_BASELINE_KEY = pytest.StashKey[dict[str, bytes]]()
WHAT_COMPARES = (
    "return numbers, text, lists, dicts, NumPy arrays or tensors, "
    "or write files and declare them with outputs=[...]"
)


class CannotCompare(Exception):
    """A returned value that has no comparable form."""


@dataclass(frozen=True)
class Reproducible:
    """The arguments of ``@pytest.mark.reproducible``, checked."""

    runs: int = 2
    rtol: float = 1e-7
    atol: float = 0.0
    hash_seed: str = "fixed"
    outputs: tuple[str, ...] = ()

    @classmethod
    def from_marker(cls, marker: pytest.Mark) -> Reproducible:
        if marker.args:
            raise ValueError(
                "takes keyword arguments only: runs=, rtol=, atol=, hash_seed=, outputs="
            )
        known = {"runs", "rtol", "atol", "hash_seed", "outputs"}
        unknown = sorted(set(marker.kwargs) - known)
        if unknown:
            raise ValueError(f"unknown argument {unknown[0]}; use {', '.join(sorted(known))}")
        kwargs = dict(marker.kwargs)
        outputs = kwargs.pop("outputs", ())
        if isinstance(outputs, (str, os.PathLike)):
            outputs = (outputs,)
        spec = cls(**kwargs, outputs=tuple(os.fspath(p) for p in outputs))
        if not isinstance(spec.runs, int) or spec.runs < 1:
            raise ValueError(f"runs={spec.runs!r}: give a whole number of runs, 1 or more")
        if spec.hash_seed not in HASH_SEED_MODES:
            raise ValueError(f"hash_seed={spec.hash_seed!r}: use 'fixed' or 'vary'")
        if spec.rtol < 0 or spec.atol < 0:
            raise ValueError("tolerances cannot be negative")
        return spec

    def hash_seed_of(self, run: int) -> str:
        return str(run + 1) if self.hash_seed == "vary" else FIXED_HASH_SEED


# ---------------------------------------------------------------- options, header, seed


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("samerun", "samerun reproducibility")
    group.addoption(
        "--samerun-seed",
        type=int,
        metavar="N",
        help="The seed of the samerun_seed fixture (default: drawn per session, printed).",
    )
    group.addoption(
        "--samerun-baseline",
        metavar="RUN",
        help="Compare reproducible tests' declared outputs with the artifacts of recorded RUN.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reproducible(runs=2, rtol=1e-7, atol=0.0, hash_seed='fixed', outputs=()): run the "
        "test body in fresh interpreters and compare what each returned and wrote (samerun)",
    )
    worker_input: dict[str, Any] = getattr(config, "workerinput", {})
    seed = worker_input.get("samerun_seed", config.getoption("samerun_seed"))
    config.stash[_SEED_KEY] = seed if seed is not None else random.randrange(2**31)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash[_SEED_KEY]
    return f"samerun: seed {seed} (repeat it with --samerun-seed {seed})"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker takes the controller's seed."""
    node.workerinput["samerun_seed"] = node.config.stash[_SEED_KEY]


@pytest.fixture
def samerun_seed(request: pytest.FixtureRequest) -> int:
    """Seed ``random``, NumPy and torch (those installed) with the session's seed; return it."""
    from samerun.seeding import seed_everything  # start-up: only tests that ask pay for it

    seed = request.config.stash[_SEED_KEY]
    seed_everything(seed, hash_seed="ignore")
    return seed


# ---------------------------------------------------------------- running a reproducible test


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    marker = pyfuncitem.get_closest_marker("reproducible")
    if marker is None:
        return None
    try:
        spec = Reproducible.from_marker(marker)
    except (TypeError, ValueError) as err:
        pytest.fail(f"@pytest.mark.reproducible: {err}", pytrace=False)
    child_out = os.environ.get(CHILD_ENV)
    if child_out is not None:
        pyfuncitem.obj = _recording(pyfuncitem.obj, spec, Path(child_out))
        return None  # pytest's own call runs the wrapped body
    with tempfile.TemporaryDirectory(prefix="samerun-pytest-") as scratch:
        results = [_run_child(pyfuncitem, spec, n, Path(scratch)) for n in range(spec.runs)]
        problems = _compare_runs(results, spec)
        baseline = pyfuncitem.config.getoption("samerun_baseline")
        if baseline is not None and spec.outputs:
            problems += _compare_baseline(pyfuncitem.config, baseline, results[0], spec)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return True


def _recording(body: Callable[..., Any], spec: Reproducible, out: Path) -> Callable[..., None]:
    """``body``, writing what it returned and the outputs it declared into ``out``."""

    def run(**kwargs: Any) -> None:
        os.environ.pop(CHILD_ENV, None)  # the body's own subprocesses are not children
        value = body(**kwargs)
        base = Path(kwargs["tmp_path"]) if "tmp_path" in kwargs else Path.cwd()
        try:
            _save_value(value, out)
        except CannotCompare as err:
            (out / ERROR_FILE).write_text(str(err))
            raise
        for declared in spec.outputs:
            source = base / declared
            if not source.is_file():
                message = f"declared output {declared} was not written (looked in {base})"
                (out / ERROR_FILE).write_text(message)
                raise CannotCompare(message)
            target = out / OUTPUTS_DIR / declared
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)

    return run


def _child_command(item: pytest.Function, folder: Path) -> list[str]:
    """``pytest`` running ``item`` alone, its ``tmp_path`` under ``folder``."""
    config = item.config
    command = [sys.executable, "-m", "pytest", item.nodeid, "-q", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(config.rootpath), "--basetemp", str(folder / "basetemp")]
    if config.inipath is not None:
        command += ["-c", str(config.inipath)]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        command += ["-p", __name__]
    if config.pluginmanager.hasplugin("xdist"):
        command += ["-n", "0"]
    return [*command, "--samerun-seed", str(config.stash[_SEED_KEY])]


@dataclass(frozen=True)
class RunResult:
    number: int
    hash_seed: str
    folder: Path


def _run_child(item: pytest.Function, spec: Reproducible, run: int, scratch: Path) -> RunResult:
    folder = scratch / f"run-{run + 1}"
    folder.mkdir()
    env = {**os.environ, CHILD_ENV: str(folder), "PYTHONHASHSEED": spec.hash_seed_of(run)}
    done = subprocess.run(
        _child_command(item, folder),
        cwd=item.config.rootpath,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        error = folder / ERROR_FILE
        if error.exists():
            pytest.fail(f"{item.name}: {error.read_text()}", pytrace=False)
        tail = "\n".join(done.stdout.strip().splitlines()[-30:])
        pytest.fail(
            f"run {run + 1} of {spec.runs} (PYTHONHASHSEED={spec.hash_seed_of(run)}) failed "
            f"in its fresh interpreter:\n{tail}",
            pytrace=False,
        )
    return RunResult(run + 1, spec.hash_seed_of(run), folder)


# ---------------------------------------------------------------- returned values


def _save_value(value: Any, out: Path) -> None:
    """``value`` as JSON, arrays and tensors replaced by names into an ``.npz`` beside it."""
    arrays: dict[str, Any] = {}
    document = _plain(value, "$", arrays)
    (out / VALUE_FILE).write_text(json.dumps(document, sort_keys=True))
    if arrays:
        import numpy as np  # start-up: only a test that returns arrays pays for NumPy

        try:
            np.savez(out / ARRAYS_FILE, allow_pickle=False, **arrays)
        except ValueError as err:
            message = f"an array of objects cannot be compared ({err}); {WHAT_COMPARES}"
            raise CannotCompare(message) from err


def _plain(value: Any, where: str, arrays: dict[str, Any]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise CannotCompare(f"{where} is a dict whose keys are not all text; {WHAT_COMPARES}")
        return {key: _plain(item, f"{where}.{key}", arrays) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]", arrays) for i, item in enumerate(value)]
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "__array__") and hasattr(value, "shape"):
        if value.shape == ():
            return _plain(value.item(), where, arrays)
        arrays[where] = value
        return {"array": where}
    raise CannotCompare(
        f"returned a value of type {type(value).__name__} at {where}, which samerun cannot "
        f"compare; "
        f"{WHAT_COMPARES}"
    )


# ---------------------------------------------------------------- comparing runs


@dataclass(frozen=True)
class Row:
    """One compared output, as ``samerun diff`` shows it."""

    name: str
    closeness: Closeness
    identical: bool

    @property
    def status(self) -> str:
        if self.identical:
            return "identical"
        return "equivalent" if self.closeness.equivalent else "diverged"


def _compare_files(name: str, path: str, a: Path, b: Path, tolerance: Tolerance) -> Row | None:
    from samerun.verify.comparators import Closeness, compare_versions

    if not a.exists() and not b.exists():
        return None
    if not a.exists() or not b.exists():
        return Row(name, Closeness(False, detail="written by one run only"), False)
    data_a, data_b = a.read_bytes(), b.read_bytes()
    return Row(name, compare_versions(path, data_a, data_b, tolerance), data_a == data_b)


def _compare_pair(first: Path, other: Path, spec: Reproducible) -> list[Row]:
    from samerun.verify.comparators import Tolerance

    tolerance = Tolerance(rtol=spec.rtol, atol=spec.atol)
    pairs = [("returned value", VALUE_FILE), ("returned arrays", ARRAYS_FILE)]
    pairs += [(f"output {p}", f"{OUTPUTS_DIR}/{p}") for p in spec.outputs]
    rows = [
        _compare_files(name, path, first / path, other / path, tolerance) for name, path in pairs
    ]
    return [row for row in rows if row is not None]


def _report(title: str, rows: list[Row], tolerance_note: str) -> list[str]:
    """A failure in ``samerun diff``'s columns; empty when every row is within tolerance."""
    if all(row.closeness.equivalent for row in rows):
        return []
    width = max(len(row.name) for row in rows)
    lines = [title, f"  {'output'.ljust(width)}  status      max abs    max rel    detail"]
    for row in rows:
        graded = not row.identical and (row.closeness.equivalent or row.closeness.max_abs > 0)
        max_abs = f"{row.closeness.max_abs:.3g}" if graded else ""
        max_rel = f"{row.closeness.max_rel:.3g}" if graded else ""
        lines.append(
            f"  {row.name.ljust(width)}  {row.status:<10}  {max_abs:<9}  {max_rel:<9}  "
            f"{row.closeness.detail}"
        )
    first = next(row for row in rows if not row.closeness.equivalent)
    lines.append(
        f"first differing value: {first.name}: {first.closeness.detail} ({tolerance_note})"
    )
    return lines


def _compare_runs(results: list[RunResult], spec: Reproducible) -> list[str]:
    first = results[0]
    if json.loads((first.folder / VALUE_FILE).read_text()) is None and not spec.outputs:
        return [
            f"the test returned None and declared no outputs: nothing to compare; {WHAT_COMPARES}"
        ]
    note = f"rtol {spec.rtol:g}, atol {spec.atol:g}"
    for other in results[1:]:
        title = (
            f"run {first.number} and run {other.number} differ "
            f"(PYTHONHASHSEED {first.hash_seed} vs {other.hash_seed}):"
        )
        lines = _report(title, _compare_pair(first.folder, other.folder, spec), note)
        if lines:
            return lines
    return []


def _compare_baseline(
    config: pytest.Config, run: str, result: RunResult, spec: Reproducible
) -> list[str]:
    from samerun.verify.comparators import Closeness, Tolerance, compare_versions

    recorded = _baseline_artifacts(config, run)
    tolerance = Tolerance(rtol=spec.rtol, atol=spec.atol)
    rows = []
    for declared in spec.outputs:
        name = f"output {declared}"
        data = (result.folder / OUTPUTS_DIR / declared).read_bytes()
        matches = [p for p in recorded if p == declared or p.endswith("/" + declared)]
        if len(matches) != 1:
            why = "not among" if not matches else "more than one match in"
            rows.append(Row(name, Closeness(False, detail=f"{why} run {run}'s artifacts"), False))
            continue
        before = recorded[matches[0]]
        rows.append(Row(name, compare_versions(declared, before, data, tolerance), before == data))
    note = f"rtol {spec.rtol:g}, atol {spec.atol:g}"
    return _report(f"the outputs differ from recorded run {run}:", rows, note)


def _baseline_artifacts(config: pytest.Config, run: str) -> dict[str, bytes]:
    """The file artifacts of recorded ``run``, by path; read once per session."""
    if _BASELINE_KEY in config.stash:
        return config.stash[_BASELINE_KEY]
    # start-up: the store (SQLAlchemy) is opened only in a session with --samerun-baseline
    from samerun._exceptions import SamerunError
    from samerun.manifest import load_manifest
    from samerun.store.project import Project, find_root, open_store

    try:
        store = open_store(Project(find_root(config.rootpath)))
        try:
            manifest = load_manifest(store, store.meta.resolve(run).id)
            artifacts = {
                a.path: store.objects.get_bytes(a.oid)
                for a in manifest.outputs.artifacts
                if a.kind == "file"
            }
        finally:
            store.close()
    except SamerunError as err:
        raise pytest.UsageError(f"--samerun-baseline {run}: {err}") from err
    config.stash[_BASELINE_KEY] = artifacts
    return artifacts
