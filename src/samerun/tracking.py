"""The Python API: ``start_run`` and the module-level ``log_*`` functions.

A process started by ``samerun record`` attaches to the launcher's run (found through
``SAMERUN_RUN_ID``) instead of opening a second one: it only appends to its own journal
segment, and the launcher completes the run. Otherwise the process owns its run and completes
it when the ``with`` block (or the interpreter) ends.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from samerun._exceptions import RunStateError, UsageError
from samerun.status import end_status

if TYPE_CHECKING:
    from samerun.journal import JournalWriter
    from samerun.manifest import Manifest
    from samerun.store.objects import ObjectStore
    from samerun.store.project import Store

logger = logging.getLogger("samerun")

RUN_ID_ENV = "SAMERUN_RUN_ID"
ROOT_ENV = "SAMERUN_ROOT"
PARAMS_FILE = "params.json"


class Run:
    """One run being recorded from this process. Use :func:`start_run` to get one."""

    def __init__(
        self,
        run_id: str,
        root: Path,
        run_dir: Path,
        *,
        seed: int,
        params: dict[str, Any],
        store: Store | None = None,
        manifest: Manifest | None = None,
    ) -> None:
        from samerun.journal import JournalWriter

        self.id = run_id
        self.root = root
        self.seed = seed
        self._params = dict(params)
        self._store = store
        self._manifest = manifest
        self._objects: ObjectStore | None = store.objects if store is not None else None
        self._journal: JournalWriter | None = JournalWriter(run_dir)
        self._steps: dict[str, int] = {}
        self.final: Manifest | None = None

    @property
    def attached(self) -> bool:
        """True when the run belongs to a ``samerun record`` launcher, not to this process."""
        return self._store is None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def _writer(self) -> JournalWriter:
        if self._journal is None:
            raise RunStateError(f"run {self.id[:8]} has ended; start a new run to log more")
        return self._journal

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Append one value of metric ``key``; ``step`` defaults to the key's next step."""
        journal = self._writer()
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"metric {key!r}: {value!r} is not a number") from None
        if step is None:
            step = self._steps.get(key, 0)
        self._steps[key] = step + 1
        journal.append(("m", key, step, number, time.time()))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        from samerun.capture.params import check_params

        checked = check_params(params)
        self._writer().append(("p", checked))
        self._params.update(checked)

    def log_artifact(self, path: str | os.PathLike[str]) -> None:
        """Store a file or directory now, as it is; it becomes one of the run's outputs."""
        from samerun.recorder import store_artifact

        journal = self._writer()
        artifact = store_artifact(self.root, self._object_store(), path)
        journal.append(("a", artifact.to_dict()))

    def _object_store(self) -> ObjectStore:
        if self._objects is None:
            from samerun.store.objects import open_object_store
            from samerun.store.project import Project

            self._objects = open_object_store(Project(self.root).objects_url)
        return self._objects

    def use_dataset(self, path: str | os.PathLike[str]) -> Path:
        """Record ``path`` (a dataset, its pointer, or any file or directory) as data the run
        reads, hashed as it is in the workspace (and stored, if no version holds it yet).

        Returns the data's path, to read it from.
        """
        from samerun.data.inputs import dataset_input
        from samerun.data.statcache import project_cache

        journal = self._writer()
        cache = project_cache(self.root)
        entry, warnings = dataset_input(self.root, self._object_store(), path, cache)
        cache.save()
        for warning in warnings:
            logger.warning("samerun: %s", warning)
        journal.append(("d", entry.to_dict(), warnings))
        return self.root / entry.path

    def trace(self, step: int, /, **values: Any) -> None:
        """Record order-sensitive fingerprints of ``values`` at ``step``; see :func:`trace`."""
        self.trace_values(step, values)

    def trace_values(
        self, step: int, values: Mapping[str, Any], *, kind: str = "value", keep: int = 64
    ) -> None:
        """:meth:`trace` from a mapping; ``kind`` (``value``, ``output``, ``param``, ``grad``)
        and ``keep`` (the most elements a kept value has) serve instruments like trace_model."""
        from samerun.tracing.model import trace_records

        journal = self._writer()
        for record in trace_records(step, kind, values, keep):
            journal.append(record)

    def end(self, status: str = "finished", error: str | None = None) -> None:
        """Finish the run (or, when attached, hand what was logged to the launcher).

        ``status`` is ``finished``, ``failed`` or ``killed``; anything else is refused before
        the run is touched.
        """
        global _active
        ended_as = end_status(status)
        journal, self._journal = self._journal, None
        if journal is None:
            return
        if self.attached:  # the launcher cannot see the frameworks this process imported
            from samerun.capture.host import library_facts
            from samerun.capture.randomness import observed_seeds

            facts = library_facts()
            if facts:
                journal.append(("h", facts))
            seeded = observed_seeds()
            if seeded:
                journal.append(("seeded", seeded))
        journal.close()
        with _lock:
            if _active is self:
                _active = None
        if self._store is not None and self._manifest is not None:
            from samerun.recorder import complete

            try:
                self.final = complete(self._store, self._manifest, status=ended_as, error=error)
            finally:
                self._store.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if error is None:
            self.end()
        elif isinstance(error, KeyboardInterrupt):
            self.end("killed", "interrupted (KeyboardInterrupt)")
        else:
            self.end("failed", f"{kind.__name__ if kind else 'error'}: {error}")


_active: Run | None = None
_lock = threading.RLock()
_deferred: list[tuple[Any, ...]] = []  # journaled before any run started: the next run gets them


def active_run() -> Run | None:
    return _active


def start_run(
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    config: str | None = None,
    env_vars: Iterable[str] = (),
) -> Run:
    """Start recording a run from this process, or attach to the launcher's run.

    Example::

        with samerun.start_run(name="baseline", params={"lr": 0.05}) as run:
            samerun.log_metric("loss", 0.3, step=0)
    """
    global _active
    with _lock:
        if _active is not None:
            raise RunStateError(
                f"run {_active.id[:8]} is already active; end it before starting another"
            )
        run_id = os.environ.get(RUN_ID_ENV)
        run = (
            _attach(run_id, name, params) if run_id else _own(name, params, seed, config, env_vars)
        )
        _active = run
        for record in _deferred:
            run._writer().append(record)
        _deferred.clear()
    return run


def journal_now(*records: tuple[Any, ...]) -> None:
    """Journal ``records`` without starting a run: into the active run, else into the
    launcher's run this process belongs to, else into the next run this process starts."""
    with _lock:
        run, run_id = _active, os.environ.get(RUN_ID_ENV)
        if run is None and not run_id:
            _deferred.extend(records)
            return
    if run is not None:
        journal = run._writer()
        for record in records:
            journal.append(record)
        return
    from samerun.journal import JournalWriter
    from samerun.store.project import Project, find_root

    writer = JournalWriter(Project(find_root()).run_dir(str(run_id)))
    for record in records:
        writer.append(record)
    writer.close()


def _attach(run_id: str, name: str | None, params: Mapping[str, Any] | None) -> Run:
    from samerun.capture.randomness import check_seed, current_hash_seed
    from samerun.store.project import Project, find_root

    project = Project(find_root())
    run_dir = project.run_dir(run_id)
    try:
        given = json.loads((run_dir / PARAMS_FILE).read_text())
    except (OSError, ValueError):
        raise RunStateError(
            f"{RUN_ID_ENV}={run_id} names no run being recorded in {project.root}"
        ) from None
    run = Run(
        run_id, project.root, run_dir, seed=check_seed(os.environ["SAMERUN_SEED"]), params=given
    )
    if current_hash_seed() == "random":
        logger.warning("hash randomization is on in this process although the launcher pinned it")
    if name:
        run._writer().append(("n", name))
    if params:
        run.log_params(params)
    return run


def _own(
    name: str | None,
    params: Mapping[str, Any] | None,
    seed: int | None,
    config: str | None,
    env_vars: Iterable[str],
) -> Run:
    from samerun.capture.randomness import current_hash_seed
    from samerun.recorder import RunRequest, begin, prepare
    from samerun.store.project import Project, find_root, open_store

    project = Project(find_root())
    script = [sys.argv[0], *sys.argv[1:]] if sys.argv and sys.argv[0] else []
    request = RunRequest(
        argv=[Path(sys.executable).name, *script],
        interpreter=sys.executable,
        name=name,
        params=params or {},
        config=config,
        seed=seed,
        env_vars=env_vars,
        hash_seed=current_hash_seed(),
    )
    prepared = prepare(project.root, request)
    created = not project.exists
    store = open_store(project, create=True)
    if created:
        logger.warning("samerun: created a store in %s", project.store_dir)
    try:
        manifest = begin(store, request, prepared, environ=os.environ)
    except BaseException:
        store.close()
        raise
    for warning in manifest.warnings:
        logger.warning("samerun: %s", warning)
    return Run(
        manifest.id,
        project.root,
        project.run_dir(manifest.id),
        seed=manifest.inputs.randomness.seed,
        params=manifest.inputs.params,
        store=store,
        manifest=manifest,
    )


def _current() -> Run:
    return _active or start_run()


def end_run(status: str = "finished") -> None:
    """End the active run, if any, as ``finished``, ``failed`` or ``killed``."""
    run = _active
    if run is not None:
        run.end(status)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log one metric value to the active run (starting one if none is active)."""
    _current().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _current().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def log_artifact(path: str | os.PathLike[str]) -> None:
    """Store a file or directory as an output of the active run."""
    _current().log_artifact(path)


def trace(step: int, /, **values: Any) -> None:
    """Record order-sensitive fingerprints of ``values`` at ``step`` in the active run.

    Arrays and tensors are fingerprinted by their exact bytes, dtype and shape, scalars exactly;
    values of up to 64 elements are also kept, so a comparison can say by how much they differ.
    ``samerun trace diff A B`` then finds the first step and value where two runs part::

        samerun.trace(step, batch=indices, loss=loss)
    """
    _current().trace(step, **values)


def use_dataset(path: str | os.PathLike[str]) -> Path:
    """Record ``path`` as data the active run reads; returns the path to read it from."""
    return _current().use_dataset(path)


def get_params() -> dict[str, Any]:
    """The params of the active run: config file, ``-p`` overrides and logged params."""
    return _current().params


def _end_at_exit() -> None:
    run = _active
    if run is None:
        return
    if getattr(sys, "last_value", None) is not None:
        run.end("failed", f"uncaught {type(sys.last_value).__name__}: {sys.last_value}")
    else:
        run.end()


atexit.register(_end_at_exit)
