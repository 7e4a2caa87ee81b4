"""Replay a recorded run in an isolated workspace and judge whether its result came back.

The workspace is a git worktree at the recorded commit with the recorded patch applied and the
recorded datasets materialized at their paths; the command runs there with the same params,
seed, hash seed and captured environment variables, recorded as a run linked to the original.
The user's working tree is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samerun._exceptions import ReplayError, SamerunError, StoreError, UsageError
from samerun.capture.code import git_toplevel
from samerun.capture.envvars import REDACTED, capture_env_vars
from samerun.env.check import check_interpreter
from samerun.env.lock import lock_of
from samerun.launcher import record, resolve_interpreter
from samerun.manifest import Manifest, load_manifest
from samerun.recorder import RunRequest, prepare
from samerun.status import ImportSource, UnknownInput, Verdict
from samerun.store.project import Project, Store, open_store
from samerun.tracing.compare import Divergence, first_divergence
from samerun.tracing.model import Trace
from samerun.tracing.stored import journal_trace, read_trace
from samerun.verify.comparators import Tolerance
from samerun.verify.compare import Change, Comparison, compare_runs, drift_line

EXIT_CODES: dict[Verdict, int] = {
    "identical": 0,
    "equivalent": 0,
    "diverged": 1,
    "not-replayable": 2,
}


@dataclass(frozen=True)
class Verification:
    """The outcome of ``samerun verify``."""

    run_id: str
    verdict: Verdict
    drift: list[Change] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    comparison: Comparison | None = None
    replay: Manifest | None = None
    workspace: str | None = None
    notes: list[str] = field(default_factory=list)
    partial_until: int | None = None  # set when only the trace up to this step was checked
    divergence: Divergence | None = None  # the first point where the replay's trace parted

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def causes(self) -> list[str]:
        if self.comparison is None:
            return []
        causes = list(self.comparison.causes)
        if self.divergence is not None:
            first = f"first divergence at step {self.divergence.step}: {self.divergence.describe()}"
            causes = [*self.comparison.input_causes, first]
        elif self.partial_until is not None:
            return []
        if self.replay is not None and self.replay.status not in ("finished", "killed"):
            causes.insert(0, f"the replay {self.replay.status}: {self.replay.error}")
        return causes

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "verdict": self.verdict,
            "replay": None if self.replay is None else self.replay.id,
            "causes": self.causes,
            "environment_drift": [drift_line(c) for c in self.drift],
            "missing": self.missing,
            "notes": self.notes,
            "workspace": self.workspace,
            "partial": self.partial_until is not None,
            "until_step": self.partial_until,
            "divergence": None if self.divergence is None else self.divergence.to_dict(),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
        }


def environment_drift(manifest: Manifest, interpreter: str) -> list[Change]:
    """How ``interpreter``'s environment differs from the recorded one (Python, platform,
    packages, origins). The project's own editable install is left out: the replay runs the
    worktree's code, wherever the project is installed."""
    project = [pin.name for pin in lock_of(manifest).project]
    return check_interpreter(manifest.inputs.environment, interpreter, ignore=project)


#: What each input an imported run lacks means to a replay.
_UNKNOWN_MEANS: dict[UnknownInput, str] = {
    "code": "its code (no git commit)",
    "command": "its command",
    "environment": "its environment",
    "randomness": "its seeds",
    "data": "its data",
}


_TOOLS: dict[ImportSource, str] = {"mlflow": "MLflow"}


def unknown_inputs(manifest: Manifest) -> list[str]:
    """Why a run imported from another tool cannot be replayed: what that tool never recorded."""
    imported = manifest.imported
    if imported is None or not imported.unknown:
        return []
    lacking = [_UNKNOWN_MEANS[u] for u in imported.unknown]
    listed = ", ".join(lacking[:-1]) + " or " + lacking[-1] if len(lacking) > 1 else lacking[0]
    return [
        f"the run was imported from {_TOOLS[imported.source]} (run {imported.ref}), which "
        f"never recorded {listed}: a replay could only guess them"
    ]


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(cwd), *args], input=stdin, capture_output=True)


def missing_inputs(
    manifest: Manifest, store: Store, repo: Path | None, *, search_path: str | None = None
) -> list[str]:
    """Everything a replay would need that is not here, each named exactly.

    ``search_path`` is the PATH the replay's command is looked up on (default: this process's).
    """
    code = manifest.inputs.code
    missing = []
    if code.vcs != "git" or repo is None:
        missing.append("the code was not recorded from a git repository, so it cannot be restored")
    elif code.commit and _git(repo, "cat-file", "-e", f"{code.commit}^{{commit}}").returncode:
        missing.append(f"commit {code.commit} is not in the repository at {repo}")
    if code.dirty and code.patch is None and code.vcs == "git":
        missing.append(
            f"the uncommitted change ({code.patch_size} bytes) was over the size cap, so it "
            "was not stored"
        )
    needed = {code.patch: "the uncommitted change"} if code.patch else {}
    for entry in manifest.inputs.data:
        if entry.read:
            needed[entry.read] = f"dataset {entry.path}"
    for artifact in manifest.outputs.artifacts:
        needed[artifact.oid] = f"recorded output {artifact.path}"
    for key, metric in manifest.outputs.metrics.items():
        needed[metric.series] = f"recorded metric {key}"
    for oid, what in needed.items():
        if not store.objects.exists(oid):
            missing.append(f"{what}: object {oid} is not in the object store")
    argv0 = manifest.inputs.command.argv[0] if manifest.inputs.command.argv else ""
    if not argv0:
        missing.append(
            "the run has no command to replay (it was recorded from an interactive session)"
        )
    elif "/" not in argv0 and shutil.which(argv0, path=search_path) is None:
        missing.append(f"command not found: {argv0}")
    return missing


class Workspace:
    """A git worktree at the recorded commit (or a fresh repository), removed on close."""

    def __init__(self, repo: Path, commit: str | None, keep: bool) -> None:
        self.repo = repo
        self.keep = keep
        self.path = Path(tempfile.mkdtemp(prefix="samerun-replay-"))
        if commit:
            done = _git(repo, "worktree", "add", "--detach", "--force", str(self.path), commit)
        else:
            done = _git(self.path, "init", "-q")
        if done.returncode:
            shutil.rmtree(self.path, ignore_errors=True)
            raise ReplayError(f"cannot create the replay workspace: {done.stderr.decode().strip()}")
        self._worktree = bool(commit)

    def apply(self, patch: bytes) -> None:
        done = _git(self.path, "apply", "--binary", "--whitespace=nowarn", "-", stdin=patch)
        if done.returncode:
            raise ReplayError(f"the recorded patch does not apply: {done.stderr.decode().strip()}")

    def close(self) -> None:
        if self.keep:
            return
        if self._worktree:
            _git(self.repo, "worktree", "remove", "--force", str(self.path))
        shutil.rmtree(self.path, ignore_errors=True)


def _fetch_datasets(store: Store, manifest: Manifest) -> list[str]:
    """Pull the recorded datasets' objects this store lacks from the default data remote."""
    from samerun._exceptions import RemoteError
    from samerun.data.pointer import Dataset, Pointer
    from samerun.data.remote import open_remote, pull
    from samerun.data.workspace import DataContext

    root = store.project.root
    datasets = [
        Dataset(
            root / (entry.pointer or f"{entry.path}.samerun"),
            Pointer(Path(entry.path).name, entry.kind, oid, entry.size, entry.files),
            root,
        )
        for entry in manifest.inputs.data
        if (oid := entry.read)
    ]
    if not datasets:
        return []
    try:
        remote = open_remote(store.project, None)
    except RemoteError:
        return []  # no remote: what is missing is reported as such
    try:
        fetched = pull(DataContext.of(store.project), remote, datasets)
    except SamerunError as err:
        return [f"could not fetch the datasets from the data remote: {err}"]
    return (
        [f"fetched {fetched.transferred} objects from the data remote"]
        if fetched.transferred
        else []
    )


def _replay_environment(
    manifest: Manifest, environment: Path | None
) -> tuple[dict[str, str], list[str]]:
    """The replay's environment variables: this process's, with the recorded ones that can change
    results, and ``environment``'s ``bin`` first on PATH as its activation script would put it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMERUN_")}
    notes = []
    for name, value in manifest.inputs.env_vars.items():
        if value == REDACTED:
            notes.append(f"{name} was recorded redacted; the replay uses this machine's value")
        else:
            env[name] = value
    for name in set(capture_env_vars(env)) - set(manifest.inputs.env_vars):
        del env[name]  # a result-changing variable the original run did not have
    hash_seed = manifest.inputs.randomness.python_hash_seed
    env.pop("PYTHONHASHSEED", None)
    if hash_seed != "random":
        env["PYTHONHASHSEED"] = hash_seed
    if environment is not None:
        env.pop("VIRTUAL_ENV", None)  # another environment's, which tools would take as active
        env.pop("PYTHONHOME", None)  # would point the environment's Python at another stdlib
        env["PATH"] = os.pathsep.join(p for p in (str(environment / "bin"), env.get("PATH")) if p)
        notes.append(f"replayed inside the virtual environment {environment}")
    return env, notes


def verify(
    store: Store,
    run_id: str,
    *,
    tolerance: Tolerance | None = None,
    keep: bool = False,
    until_step: int | None = None,
    environment: Path | None = None,
    on_event: Callable[[str], None] = lambda _message: None,
) -> Verification:
    """Replay run ``run_id`` of ``store`` and compare the replay with it.

    With ``until_step``, the replay's trace is compared live with the recorded one and the replay
    stops at the first divergence or after that step: a partial verification. ``environment`` is
    a virtual environment to replay inside (one :func:`samerun.env.restore.restore` built, or the
    user's own): its ``bin`` goes first on the replay's PATH.
    """
    if environment is not None:
        environment = environment.absolute()  # the replay runs in another directory
        if not (environment / "bin" / "python").exists():
            raise UsageError(f"{environment} is not a virtual environment: it has no bin/python")
    original = load_manifest(store, run_id)
    redirected = []
    if original.replay_of is not None:  # a replay belongs to its original: verify that
        redirected.append(
            f"run {run_id[:8]} is a replay of run {original.replay_of[:8]}; verified the original"
        )
        run_id = original.replay_of
        original = load_manifest(store, run_id)
    if original.status == "running":
        raise ReplayError(f"run {run_id[:8]} is still running; verify it when it has finished")
    unrecorded = unknown_inputs(original)
    if unrecorded:
        return _recorded(
            store, Verification(run_id, "not-replayable", missing=unrecorded, notes=redirected)
        )
    expected = None if until_step is None else read_trace(store, run_id)
    repo = git_toplevel(store.project.root)
    env, env_notes = _replay_environment(original, environment)
    search_path = env.get("PATH")
    argv = original.inputs.command.argv
    executable = shutil.which(argv[0], path=search_path) if argv else None
    interpreter = resolve_interpreter(executable, env)  # the Python the replay will really run
    if environment is not None and Path(interpreter).parent != environment / "bin":
        env_notes.append(
            f"the command runs {interpreter}, not the Python of {environment}: "
            "the recorded command names its interpreter by its path"
        )
    drift = environment_drift(original, interpreter)
    notes = redirected + _fetch_datasets(store, original)
    missing = missing_inputs(original, store, repo, search_path=search_path)
    if missing or repo is None:
        return _recorded(store, Verification(run_id, "not-replayable", drift, missing, notes=notes))

    notes += env_notes
    workspace = Workspace(repo, original.inputs.code.commit, keep)
    try:
        monitor = None if expected is None else _trace_monitor(expected, until_step or 0)
        replay = _run_replay(store, original, repo, workspace, env, on_event, monitor)
    except SamerunError as err:
        return _recorded(
            store, Verification(run_id, "not-replayable", drift, [str(err)], notes=notes)
        )
    finally:
        workspace.close()
    comparison = compare_runs(original, replay, store.objects, tolerance=tolerance)
    verdict = comparison.outputs_verdict
    if replay.status != original.status:
        verdict = "diverged"
    divergence = partial = None
    if expected is not None and until_step is not None:
        divergence = first_divergence(expected, read_trace(store, replay.id), until_step=until_step)
        stopped = replay.status == "killed" and original.status != "killed"
        partial = until_step if stopped else None
        if divergence is not None:
            verdict = "diverged"
        elif stopped:
            verdict = "identical"
            notes.append(
                f"partial verification: the trace matched through step {until_step}; "
                "outputs were not compared"
            )
    read = {d.path for d in original.inputs.data} | (
        {original.inputs.config.path} if original.inputs.config else set()
    )
    needed = [item for item in original.inputs.code.left_out if item.split(" (")[0] in read]
    if needed:  # other left-out files (another run's outputs, say) do not matter to this one
        notes.append(
            f"inputs left out of the recorded patch were not in the replay: {', '.join(needed)}"
        )
    result = Verification(
        run_id,
        verdict,
        drift,
        comparison=comparison,
        replay=replay,
        workspace=str(workspace.path) if keep else None,
        notes=notes,
        partial_until=partial,
        divergence=divergence,
    )
    return _recorded(store, result)


def _trace_monitor(expected: Trace, until_step: int) -> Callable[[Path], str | None]:
    """Stop the replay at its first divergence from ``expected``, or once past ``until_step``."""

    def check(run_dir: Path) -> str | None:
        actual = journal_trace(run_dir)
        steps = sorted(actual.steps)
        if len(steps) < 2:
            return None
        finished = steps[-2]  # the newest step may still be being traced
        divergence = first_divergence(expected, actual, until_step=min(finished, until_step))
        if divergence is not None:
            return f"stopped by samerun verify at the first divergence (step {divergence.step})"
        if finished >= until_step:
            return f"stopped by samerun verify after step {until_step}: the trace matched"
        return None

    return check


def _run_replay(
    store: Store,
    original: Manifest,
    repo: Path,
    workspace: Workspace,
    env: dict[str, str],
    on_event: Callable[[str], None],
    monitor: Callable[[Path], str | None] | None,
) -> Manifest:
    inputs = original.inputs
    if inputs.code.patch:
        workspace.apply(store.objects.get_bytes(inputs.code.patch))
    offset = store.project.root.resolve().relative_to(repo.resolve())
    root = workspace.path / offset
    root.mkdir(parents=True, exist_ok=True)
    (root / ".samerun").symlink_to(store.project.store_dir.resolve(), target_is_directory=True)
    for entry in inputs.data:
        if entry.read:
            from samerun.data.checkout import materialize

            on_event(f"materializing {entry.path}")
            materialize(entry.read, root / entry.path, store.objects)
    config = inputs.config
    request = RunRequest(
        argv=list(inputs.command.argv),
        interpreter=None,
        name=f"replay of {original.name or original.id[:8]}",
        params=inputs.params,
        config=str(root / config.path) if config else None,
        seed=inputs.randomness.seed,
        env_vars=list(inputs.env_vars),
        outputs=[str(root / p) for p in original.declared_outputs],
        cwd=root / inputs.command.cwd,
        replay_of=original.id,
    )
    prepared = prepare(root, request)
    replay_store = open_store(Project(root))
    try:
        outcome = record(
            replay_store,
            request,
            prepared,
            environ=env,
            pin_hash_seed=inputs.randomness.python_hash_seed != "random",
            stdout_to_stderr=True,
            monitor=monitor,
            on_start=lambda m: on_event(f"replaying as run {m.id[:8]} in {workspace.path}"),
        )
    finally:
        replay_store.close()
    return outcome.manifest


def _recorded(store: Store, verification: Verification) -> Verification:
    try:
        store.meta.add_verification(
            run_id=verification.run_id,
            replay_id=None if verification.replay is None else verification.replay.id,
            verdict=verification.verdict,
            details=verification.to_dict(),
        )
    except StoreError as err:
        raise ReplayError(f"the verdict could not be stored: {err}") from err
    return verification
