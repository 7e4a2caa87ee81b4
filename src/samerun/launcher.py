"""``samerun record``: run a command as a child process and record it.

The launcher pins ``PYTHONHASHSEED`` for the child (setting it inside a running interpreter has
no effect), passes the seed as ``SAMERUN_SEED``, heartbeats while the child runs, forwards
SIGTERM, and completes the run from the child's exit status and journal.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from samerun.capture.randomness import SEED_ENV
from samerun.journal import FLUSH_INTERVAL_S
from samerun.manifest import Manifest
from samerun.recorder import Prepared, RunRequest, begin, complete
from samerun.status import EndStatus
from samerun.store.project import Store
from samerun.tracking import PARAMS_FILE, ROOT_ENV, RUN_ID_ENV

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


@dataclass(frozen=True)
class Outcome:
    manifest: Manifest
    exit_code: int  # what `samerun record` exits with


def resolve_interpreter(executable: str | None, environ: Mapping[str, str]) -> str:
    """The Python whose packages the command sees: itself if it is one, else the PATH's."""
    if executable and Path(executable).name.startswith("python"):
        return executable
    path = environ.get("PATH")
    found = shutil.which("python3", path=path) or shutil.which("python", path=path)
    return found or sys.executable


def child_environment(
    base: Mapping[str, str], run_id: str, root: Path, seed: int, *, pin_hash_seed: bool = True
) -> dict[str, str]:
    """The child's environment: the run's id, root and seed; PYTHONHASHSEED pinned unless set.

    A user who sets ``PYTHONHASHSEED=random`` explicitly gets hash randomization, recorded.
    """
    env = {k: v for k, v in base.items() if not k.startswith("SAMERUN_")}
    env[RUN_ID_ENV] = run_id
    env[ROOT_ENV] = str(root)
    env[SEED_ENV] = str(seed)
    if pin_hash_seed and not env.get("PYTHONHASHSEED"):
        env["PYTHONHASHSEED"] = str(seed)
    return env


def record(
    store: Store,
    request: RunRequest,
    prepared: Prepared,
    *,
    on_start: Callable[[Manifest], None] = lambda _m: None,
    environ: Mapping[str, str] | None = None,
    pin_hash_seed: bool = True,
    stdout_to_stderr: bool = False,
    monitor: Callable[[Path], str | None] | None = None,
) -> Outcome:
    """Record ``request.argv`` as a run of ``store``'s project; returns the finished manifest.

    ``prepared`` is ``request`` checked by :func:`samerun.recorder.prepare` (its seed chosen).
    ``environ`` is the environment the command starts from (default: this process's);
    ``pin_hash_seed=False`` leaves hash randomization on when ``environ`` does not set it;
    ``stdout_to_stderr`` keeps the command's output off stdout (for ``--json`` callers).
    ``monitor`` is called with the run's directory about once a second while the command runs;
    when it returns a reason, the command is stopped and the run ends ``killed`` with it.
    """
    root = store.project.root
    base_env = dict(os.environ if environ is None else environ)
    executable = shutil.which(request.argv[0], path=base_env.get("PATH"))
    request = replace(request, interpreter=resolve_interpreter(executable, base_env))
    seed = prepared.seed
    provisional = child_environment(base_env, "", root, seed, pin_hash_seed=pin_hash_seed)
    manifest = begin(store, request, prepared, environ=provisional)
    env = child_environment(base_env, manifest.id, root, seed, pin_hash_seed=pin_hash_seed)
    run_dir = store.project.run_dir(manifest.id)
    (run_dir / PARAMS_FILE).write_text(json.dumps(manifest.inputs.params))
    on_start(manifest)

    heartbeat = run_dir / f"journal-{os.getpid()}.jsonl"
    heartbeat.touch()
    try:
        child = subprocess.Popen(
            request.argv,
            env=env,
            cwd=request.cwd or Path.cwd(),
            stdout=sys.stderr.fileno() if stdout_to_stderr else None,
        )
    except FileNotFoundError:
        return _finish(store, manifest, EXIT_NOT_FOUND, f"command not found: {request.argv[0]}")
    except PermissionError:
        return _finish(store, manifest, EXIT_NOT_EXECUTABLE, f"not executable: {request.argv[0]}")

    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets it from the tty
    previous_term = signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
    stopped = None
    try:
        while True:
            try:
                code = child.wait(timeout=FLUSH_INTERVAL_S * 2)
                break
            except subprocess.TimeoutExpired:
                os.utime(heartbeat)
                stopped = stopped or (monitor(run_dir) if monitor else None)
                if stopped:
                    code = _stop(child)
                    break
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    if code < 0 or stopped:
        signum = -code if code < 0 else None
        reason = stopped or f"killed by signal {signum}"
        final = complete(
            store, manifest, status="killed", signal=signum, exit_code=None, error=reason
        )
        return Outcome(final, 128 + signum if signum else code or 1)
    return _finish(store, manifest, code, None)


def _stop(child: subprocess.Popen[bytes], grace_s: float = 10.0) -> int:
    """Terminate the command, then kill it if it does not exit within ``grace_s``."""
    child.terminate()
    try:
        return child.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def _finish(store: Store, manifest: Manifest, code: int, error: str | None) -> Outcome:
    status: EndStatus = "finished" if code == 0 else "failed"
    if code and error is None:
        error = f"the command exited with status {code}"
    final = complete(store, manifest, status=status, exit_code=code, error=error)
    if final.status != "finished" and code == 0:
        return Outcome(final, 1)
    return Outcome(final, code)
