"""Rebuild a run's recorded environment as a fresh virtual environment, and check it.

``restore`` refuses what cannot come out the same (another platform, a Python that is not
installed, a local package that is gone) before it creates anything; then it makes a virtual
environment with the recorded interpreter and installs exactly the recorded set, each
distribution at its recorded version from where it came, with ``--no-deps`` (the recorded set is
complete) and the recorded index settings. The installer is ``uv pip`` when ``uv`` is on PATH,
else pip from samerun's own interpreter aimed at the new environment with ``--python``: either
reuses its wheel cache, and neither touches the user's own environment. The result is checked
against the record with :func:`samerun.env.check.check_interpreter`; a restore that fails for
any reason, Ctrl-C included, removes what it built.

A finished restore leaves a marker file naming its run, so asking again for the same run at the
same path reuses the environment when it still checks clean (``verify --env restore`` does this
on every call).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from samerun._exceptions import EnvironmentRebuildError
from samerun.capture.environment import Environment, capture_environment
from samerun.env.check import check_interpreter
from samerun.env.lock import Lock, lock_of
from samerun.manifest import Manifest
from samerun.store.project import Store
from samerun.verify.compare import Change, drift_line

#: Written last into a finished restore: which run it holds.
MARKER = "samerun-restore.json"

#: What each candidate interpreter is asked: its full version, implementation and real path.
_DESCRIBE = (
    "import json, platform, sys; "
    "print(json.dumps([platform.python_version(), platform.python_implementation(), "
    "sys.executable]))"
)

#: How pip and uv name a requirement that no index can satisfy.
_NOT_FOUND = (
    re.compile(r"No matching distribution found for (?P<req>\S+)"),  # pip
    re.compile(r"Because (?:there is no version of )?(?P<req>\S+?) (?:was not found|and you)"),
)

#: How many differences an error message names before it says how many more there are.
_SHOWN = 5


@dataclass(frozen=True)
class Restored:
    """A virtual environment holding a run's recorded packages, checked against the record."""

    path: Path
    python: Path  # the interpreter inside it
    installed: int  # distributions installed by this call; 0 when an earlier restore is reused
    reused: bool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Interpreter:
    executable: str  # its own sys.executable: the real binary behind a shim
    version: str
    implementation: str


@dataclass(frozen=True)
class _Tolerated:
    """Differences from the record accepted up front, so the final check does not fail on them."""

    keys: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()

    def __add__(self, other: _Tolerated) -> _Tolerated:
        return _Tolerated(self.keys | other.keys, self.warnings + other.warnings)


def default_path(store: Store, run_id: str) -> Path:
    """Where a run's environment is restored unless asked otherwise: ``.samerun/envs/<run>``."""
    return store.project.store_dir / "envs" / run_id


def restore(
    manifest: Manifest,
    path: Path,
    *,
    force: bool = False,
    on_event: Callable[[str], None] = lambda _message: None,
) -> Restored:
    """Build a virtual environment at ``path`` with exactly ``manifest``'s recorded packages.

    ``force`` restores on another platform or with another Python implementation than the
    recorded one. Raises :class:`EnvironmentRebuildError`, with ``path`` as it was, when the
    environment cannot be rebuilt or does not match the record once built.
    """
    recorded = manifest.inputs.environment
    path = path.absolute()
    lock = lock_of(manifest)
    gone = [u for u in lock.unfetchable if u.path is None or not u.path.exists()]
    if gone:
        raise EnvironmentRebuildError(
            "cannot restore: " + "; ".join(u.describe() for u in gone) + ", and nothing else has it"
        )
    tolerated = _platform(recorded, force)
    if path.exists() or path.is_symlink():
        return _reuse(manifest, lock, path, tolerated, force, on_event)
    interpreter = _find_python(recorded, force)
    tolerated += _interpreter_tolerated(recorded, interpreter)
    requirements = _requirements(lock)
    python = path / "bin" / "python"
    count = len(lock.pins) + len(lock.unfetchable)
    command = _install_command(python, lock, requirements) if requirements else None
    try:
        on_event(f"creating a virtual environment with Python {interpreter.version} at {path}")
        _run([interpreter.executable, "-m", "venv", "--without-pip", str(path)], "venv")
        if command is not None:
            on_event(f"installing {count} packages")
            _install(command, lock)
        on_event("checking the environment against the record")
        changes = _unexpected(recorded, python, lock, tolerated)
        if changes:
            raise EnvironmentRebuildError(
                f"the restored environment differs from run {manifest.id[:8]}'s record: "
                + _describe_changes(changes)
            )
        (path / MARKER).write_text(json.dumps({"run": manifest.id}) + "\n")
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return Restored(path, python, count, False, _warnings(lock, tolerated))


def _reuse(
    manifest: Manifest,
    lock: Lock,
    path: Path,
    tolerated: _Tolerated,
    force: bool,
    on_event: Callable[[str], None],
) -> Restored:
    """The earlier restore of the same run at ``path``, if it still checks clean; else refuse."""
    run = manifest.id
    holds = _restored_run(path)
    if holds is None:
        raise EnvironmentRebuildError(
            f"{path} already exists and is not a restored environment; "
            "restore into a path that does not exist"
        )
    if holds != run:
        raise EnvironmentRebuildError(
            f"{path} holds the environment of run {holds[:8]}, not of run {run[:8]}; "
            "restore into another path"
        )
    recorded = manifest.inputs.environment
    python = path / "bin" / "python"
    try:
        interpreter = _describe(str(python))
    except (OSError, subprocess.SubprocessError, ValueError):
        interpreter = None
    if interpreter is None or _closeness(recorded, interpreter, force) is None:
        raise EnvironmentRebuildError(
            f"{path} holds run {run[:8]}'s environment, but its Python no longer runs as "
            f"{recorded.python}; remove it to restore again"
        )
    tolerated += _interpreter_tolerated(recorded, interpreter)
    changes = _unexpected(recorded, python, lock, tolerated)
    if changes:
        raise EnvironmentRebuildError(
            f"{path} holds run {run[:8]}'s environment, but it has changed since it was "
            f"restored: {_describe_changes(changes)}; remove it to restore again"
        )
    on_event(f"reusing the environment restored at {path}")
    return Restored(path, python, 0, True, _warnings(lock, tolerated))


def _warnings(lock: Lock, tolerated: _Tolerated) -> list[str]:
    """What the user should know about a restore that checked clean."""
    local = [
        f"{u.name} {u.version} was installed from {u.path} as it is now" for u in lock.unfetchable
    ]
    return [*lock.warnings, *tolerated.warnings, *local]


def _restored_run(path: Path) -> str | None:
    """The run whose environment a finished restore at ``path`` holds, else None."""
    try:
        marker = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    run = marker.get("run") if isinstance(marker, dict) else None
    return run if isinstance(run, str) else None


def _platform(recorded: Environment, force: bool) -> _Tolerated:
    """Refuse another system, machine or libc family than the recorded one, unless forced."""
    here = capture_environment()  # this process: every interpreter here runs on this platform

    def family(libc: str | None) -> str | None:
        return libc.split()[0] if libc else None  # "glibc 2.36": another version is fine

    facts = {
        "system": (recorded.system, here.system),
        "machine": (recorded.machine, here.machine),
        "libc": (family(recorded.libc), family(here.libc)),
    }
    differ = {key: pair for key, pair in facts.items() if None not in pair and pair[0] != pair[1]}
    if not differ:
        return _Tolerated()
    was = " ".join(str(before) for before, _ in differ.values())
    now = " ".join(str(after) for _, after in differ.values())
    if not force:
        raise EnvironmentRebuildError(
            f"the run was recorded on {was} and this machine is {now}; its packages may not "
            "install or behave the same here (a forced restore tries anyway)"
        )
    return _Tolerated(
        frozenset(differ), (f"restoring an environment recorded on {was} on {now}, as forced",)
    )


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _describe(executable: str) -> _Interpreter:
    """Ask ``executable`` what it is; raises OSError, SubprocessError or ValueError if it cannot."""
    done = subprocess.run(
        [executable, "-c", _DESCRIBE], capture_output=True, text=True, timeout=60, check=True
    )
    version, implementation, real = json.loads(done.stdout)
    return _Interpreter(str(real), str(version), str(implementation))


def _closeness(recorded: Environment, found: _Interpreter, force: bool) -> int | None:
    """0 for the recorded Python, 1 for its minor version; 2 and 3 for the same with another
    implementation (only when forced); None for one that will not do."""
    if _minor(found.version) != _minor(recorded.python):
        return None
    rank = 0 if found.version == recorded.python else 1
    if found.implementation != recorded.implementation:
        return rank + 2 if force else None
    return rank


def _interpreter_tolerated(recorded: Environment, found: _Interpreter) -> _Tolerated:
    keys: set[str] = set()
    warnings = []
    if found.version != recorded.python:
        keys.add("python")
        warnings.append(
            f"Python {recorded.python} was recorded and is not on PATH; "
            f"using Python {found.version}, the same minor version"
        )
    if found.implementation != recorded.implementation:
        keys.add("implementation")
        warnings.append(
            f"the run was recorded with {recorded.implementation}; "
            f"using {found.implementation}, as forced"
        )
    return _Tolerated(frozenset(keys), tuple(warnings))


def _candidates(names: list[str]) -> Iterator[str]:
    """Every executable on PATH with one of ``names``, in that order, each file once."""
    seen = set()
    directories = [d for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if d]
    for name in names:
        for directory in directories:
            candidate = os.path.join(directory, name)
            if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
                continue
            real = os.path.realpath(candidate)
            if real not in seen:
                seen.add(real)
                yield candidate


def _find_python(recorded: Environment, force: bool) -> _Interpreter:
    """The recorded Python from PATH; the same minor version, or (forced) implementation, else.

    ``python3.X``, ``python3`` and ``python`` are each asked their full version: names are not
    trusted (a ``python3`` may be any minor version, a pyenv shim may not run at all).
    """
    minor = _minor(recorded.python)
    versioned = f"python{minor}"
    names = [versioned, f"python{minor.split('.')[0]}", "python"]
    best: tuple[int, _Interpreter] | None = None
    seen = []  # what the versioned name turned out to be, for the error message
    for candidate in _candidates(names):
        try:
            found = _describe(candidate)
        except (OSError, subprocess.SubprocessError, ValueError) as err:
            if os.path.basename(candidate) == versioned:
                seen.append(f"{candidate} does not run: {_first_line(err)}")
            continue
        rank = _closeness(recorded, found, force)
        if rank == 0:
            return found
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, found)
        elif rank is None and os.path.basename(candidate) == versioned:
            seen.append(f"{candidate} is {found.implementation} {found.version}")
    if best is not None:
        return best[1]
    name = "Python" if recorded.implementation == "CPython" else recorded.implementation
    where = "; ".join(seen) or f"no {versioned} on PATH"
    raise EnvironmentRebuildError(f"{name} {recorded.python} is not installed ({where})")


def _first_line(err: Exception) -> str:
    stderr = getattr(err, "stderr", None)
    lines = (stderr or str(err)).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _requirements(lock: Lock) -> list[str]:
    """What the installer is given: each pin, then each local directory as it is now."""
    requirements = [pin.requirement for pin in lock.pins]
    origins = lock.environment.origins or {}
    for local in lock.unfetchable:
        assert local.path is not None  # the gone ones stopped the restore
        origin = origins.get(local.name)
        if origin is not None and origin.editable:
            requirements += ["-e", str(local.path)]
        else:
            requirements.append(f"{local.name} @ {local.path.as_uri()}")
    return requirements


def _install_command(python: Path, lock: Lock, requirements: list[str]) -> list[str]:
    """``uv pip install`` when uv is on PATH, else pip, into ``python``'s environment only."""
    index = lock.index
    options = ["--index-url", index.index_url] if index.index_url else []
    for url in lock.extra_indexes:
        options += ["--extra-index-url", url]
    for link in index.find_links:
        options += ["--find-links", link]
    given = ["--no-deps", *options, *requirements]
    uv = shutil.which("uv")
    if uv is not None:
        # pip's way with several indexes: the recorded version from whichever index has it.
        strategy = ["--index-strategy", "unsafe-best-match"]
        return [uv, "pip", "install", "--python", str(python), *strategy, *given]
    if importlib.util.find_spec("pip") is None:
        raise EnvironmentRebuildError(
            "cannot install the recorded packages: uv is not on PATH and pip is not installed "
            "alongside samerun"
        )
    quiet = ["--no-input", "--progress-bar", "off"]
    return [sys.executable, "-m", "pip", "--python", str(python), "install", *quiet, *given]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise EnvironmentRebuildError(f"{what} failed: {_last_error(done.stderr or done.stdout)}")


def _install(command: list[str], lock: Lock) -> None:
    """Run the installer; a requirement no index has becomes one line naming its package."""
    done = subprocess.run(command, capture_output=True, text=True)
    if not done.returncode:
        return
    output = f"{done.stdout}\n{done.stderr}"
    for pattern in _NOT_FOUND:
        if match := pattern.search(output):
            wanted = re.split(r"[=<>!~ @\[;,]", match["req"], maxsplit=1)[0]
            for pin in lock.pins:
                if canonicalize_name(pin.name) == canonicalize_name(wanted):
                    raise EnvironmentRebuildError(
                        f"no package index has {pin.name} {pin.version} any more, or none "
                        f"could be reached (no distribution found for {pin.requirement})"
                    )
    raise EnvironmentRebuildError(
        f"installing the recorded packages failed: {_last_error(done.stderr or done.stdout)}"
    )


def _last_error(output: str) -> str:
    """The line an installer's failure is best told by: its last error line, else its last."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["no output"])[-1]


def _unexpected(
    recorded: Environment, python: Path, lock: Lock, tolerated: _Tolerated
) -> list[Change]:
    """The differences between the record and ``python``'s environment not accepted up front."""
    changes = check_interpreter(recorded, str(python), ignore=[pin.name for pin in lock.project])
    return [change for change in changes if change.key not in tolerated.keys]


def _describe_changes(changes: list[Change]) -> str:
    shown = "; ".join(drift_line(change) for change in changes[:_SHOWN])
    more = len(changes) - _SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")
