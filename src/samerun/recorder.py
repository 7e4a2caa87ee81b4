"""Begin, complete and reap runs: the one code path behind the Python API and the launcher."""

from __future__ import annotations

import math
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from samerun._exceptions import CaptureError, UsageError
from samerun.capture.code import capture_code, uncommitted_files
from samerun.capture.environment import capture_environment
from samerun.capture.envvars import capture_env_vars
from samerun.capture.host import capture_host, library_facts
from samerun.capture.params import check_params, load_config, merge_params
from samerun.capture.randomness import Randomness, choose_seed, observed_seeds
from samerun.hashing import hash_bytes
from samerun.journal import last_heartbeat, read_journal
from samerun.manifest import (
    Artifact,
    Command,
    ConfigRef,
    DataInput,
    Inputs,
    Manifest,
    Outputs,
    load_manifest,
    now,
)
from samerun.paths import project_relative
from samerun.series import encode_series
from samerun.status import EndStatus
from samerun.store.meta import RunCompletion, RunRow
from samerun.store.objects import ObjectStore
from samerun.store.project import Store
from samerun.summary import MetricSummary
from samerun.tracing.stored import save_trace

#: A running run whose owner process is gone and whose journal was last touched longer ago than
#: this is dead. Overridable with SAMERUN_HEARTBEAT_GRACE (seconds).
HEARTBEAT_GRACE_S = 5.0


@dataclass(frozen=True)
class RunRequest:
    """What the caller asks to record, before anything is captured."""

    argv: list[str]
    interpreter: str | None
    name: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    config: str | None = None
    seed: int | str | None = None
    env_vars: Iterable[str] = ()
    outputs: Iterable[str] = ()
    inputs: Iterable[str] = ()  # data the run reads, beyond the project's dataset pointers
    hash_seed: str | None = None  # the PYTHONHASHSEED the command runs with, if not this process's
    cwd: Path | None = None  # where the command runs; default: the working directory
    replay_of: str | None = None  # the run this one replays
    require_clean: bool = False  # refuse a working tree with uncommitted changes


@dataclass(frozen=True)
class Prepared:
    """The request checked once: paths, params, config and the seed (chosen here, once).

    Everything that can fail on bad input fails in :func:`prepare`, before anything is written;
    :func:`begin` and the launcher take this and never parse the request again.
    """

    params: dict[str, Any]
    config: ConfigRef | None
    config_bytes: bytes | None
    outputs: list[str]
    cwd: str
    seed: int
    seed_source: str  # "given", "launcher" (SAMERUN_SEED) or "drawn"
    inputs: list[str] = field(default_factory=list)


def prepare(root: Path, request: RunRequest) -> Prepared:
    """Check the request against the project and choose its seed; raises before any write."""
    if request.require_clean:
        changed = uncommitted_files(root)
        if changed:
            shown = ", ".join(changed[:5]) + (
                f" and {len(changed) - 5} more" if len(changed) > 5 else ""
            )
            raise UsageError(
                f"the working tree has uncommitted changes ({shown}); commit them, or record "
                "without --require-clean"
            )
    base = request.cwd or Path.cwd()
    cwd = project_relative(root, base)
    outputs = [project_relative(root, p, base=base) for p in request.outputs]
    for output in outputs:
        if output == ".":
            raise UsageError("--output cannot be the whole project; name a file or directory in it")
    config = config_bytes = None
    from_config: dict[str, Any] = {}
    if request.config is not None:
        config_path = base / request.config
        from_config, config_bytes = load_config(config_path)
        config = ConfigRef(project_relative(root, config_path), hash_bytes(config_bytes))
    params = merge_params(from_config, check_params(request.params))
    inputs = []
    for given in request.inputs:
        rel = project_relative(root, given, base=base)
        if rel == "." or not (root / rel).exists():
            raise UsageError(f"--input {given}: name an existing file or directory of the project")
        inputs.append(rel)
    seed, source = choose_seed(request.seed)
    return Prepared(params, config, config_bytes, outputs, cwd, seed, source, inputs)


def begin(
    store: Store, request: RunRequest, prepared: Prepared, *, environ: Mapping[str, str]
) -> Manifest:
    """Capture the inputs, insert the run as ``running`` and return its manifest."""
    root = store.project.root
    objects = store.objects
    config = prepared.config
    if config is not None and prepared.config_bytes is not None:
        config = replace(config, oid=objects.put_bytes(prepared.config_bytes))
    code = capture_code(root, objects.put_bytes, exclude=prepared.outputs)
    seed = prepared.seed
    hash_seed = request.hash_seed or _hash_seed_of(environ)
    from samerun.data.inputs import capture_datasets

    data, data_warnings = capture_datasets(root, objects, prepared.inputs)
    inputs = Inputs(
        code=code,
        command=Command(argv=list(request.argv), cwd=prepared.cwd, interpreter=request.interpreter),
        params=prepared.params,
        environment=capture_environment(request.interpreter),
        randomness=Randomness(
            seed=seed, seed_source=prepared.seed_source, python_hash_seed=hash_seed
        ),
        env_vars=capture_env_vars(environ, request.env_vars),
        config=config,
        data=data,
    )
    import psutil

    me = psutil.Process()
    manifest = Manifest(
        id=uuid.uuid4().hex,
        name=request.name,
        status="running",
        started_at=now(),
        inputs=inputs,
        host=capture_host(),
        declared_outputs=prepared.outputs,
        replay_of=request.replay_of,
        warnings=[
            *code.warnings,
            *(f"left out of the code patch: {x}" for x in code.left_out),
            *data_warnings,
        ],
    )
    row = RunRow(
        id=manifest.id,
        name=manifest.name,
        status="running",
        started_at=manifest.started_at,
        ended_at=None,
        exit_code=None,
        signal=None,
        error=None,
        seed=seed,
        commit_sha=code.commit,
        dirty=code.dirty,
        input_fp=manifest.input_fingerprint,
        output_fp=None,
        hostname=socket.gethostname(),
        pid=me.pid,
        pid_started=me.create_time(),
        replay_of=manifest.replay_of,
    )
    store.project.run_dir(manifest.id).mkdir(parents=True, exist_ok=True)
    store.meta.insert_run(row, manifest.canonical().decode())
    return manifest


def _hash_seed_of(environ: Mapping[str, str]) -> str:
    value = environ.get("PYTHONHASHSEED", "random")
    return "random" if value in ("", "random") else value


@dataclass
class _Collected:
    params: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    seeded: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    trace: list[list[Any]] = field(default_factory=list)
    name: str | None = None
    metrics: list[tuple[str, int, float, float]] = field(default_factory=list)
    data: dict[str, DataInput] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    host: dict[str, Any] = field(default_factory=dict)


def _collect(run_dir: Path) -> _Collected:
    collected = _Collected()
    for record in read_journal(run_dir):
        kind = record[0]
        if kind == "m":
            collected.metrics.append(
                (record[1], int(record[2]), float(record[3]), float(record[4]))
            )
        elif kind == "p":
            collected.params.update(record[1])
        elif kind == "a":
            artifact = Artifact.from_dict(record[1])
            collected.artifacts[artifact.path] = artifact
        elif kind == "seeded":
            collected.seeded.extend(x for x in record[1] if x not in collected.seeded)
        elif kind == "set":
            collected.settings.update(record[1])
        elif kind == "t":
            collected.trace.append(record[1:])
        elif kind == "n":
            collected.name = record[1]
        elif kind == "h":
            collected.host.update(record[1])
        elif kind == "d":
            entry = DataInput.from_dict(record[1])
            collected.data[entry.path] = entry
            collected.warnings.extend(w for w in record[2] if w not in collected.warnings)
    return collected


def summarize_metrics(
    metrics: list[tuple[str, int, float, float]], objects: ObjectStore
) -> dict[str, MetricSummary]:
    """Each metric's summary, its whole (step, value) series stored as one object."""
    by_key: dict[str, tuple[list[int], list[float]]] = {}
    for key, step, value, _ in metrics:
        steps, values = by_key.setdefault(key, ([], []))
        steps.append(step)
        values.append(value)
    summaries = {}
    for key, (steps, values) in sorted(by_key.items()):
        finite = [v for v in values if not math.isnan(v)] or [math.nan]
        summaries[key] = MetricSummary(
            last=values[-1],
            step=steps[-1],
            count=len(values),
            min=min(finite),
            max=max(finite),
            series=objects.put_bytes(encode_series(steps, values)),
        )
    return summaries


def store_artifact(root: Path, objects: ObjectStore, path: str | os.PathLike[str]) -> Artifact:
    """Store a file or directory of the project as an artifact, as it is right now."""
    from samerun.data.scan import store_tree

    relative = project_relative(root, path)
    absolute = root / relative
    if absolute.is_dir():
        oid, tree = store_tree(absolute, objects)
        return Artifact(relative, oid, tree.size, "dir", len(tree.entries))
    if not absolute.is_file():
        raise CaptureError(f"artifact {relative} was never written (no such file or directory)")
    oid, size = objects.put_file(absolute)
    return Artifact(relative, oid, size, "file")


def complete(
    store: Store,
    manifest: Manifest,
    *,
    status: EndStatus,
    exit_code: int | None = None,
    signal: int | None = None,
    error: str | None = None,
    collect_outputs: bool = True,
) -> Manifest:
    """Ingest the journal, store declared outputs, and write the finished record in one go.

    Returns the final manifest; if another process already completed the run, returns it as-is.
    """
    run_dir = store.project.run_dir(manifest.id)
    collected = _collect(run_dir)
    artifacts = dict(collected.artifacts)
    if collect_outputs:
        for declared in manifest.declared_outputs:
            try:
                root = store.project.root
                artifacts[declared] = store_artifact(root, store.objects, root / declared)
            except CaptureError as err:
                if status == "finished":
                    status, error = "failed", f"declared output {declared} was never written"
                elif error is None:
                    error = str(err)
    inputs = manifest.inputs
    params = merge_params(inputs.params, check_params(collected.params))
    randomness = inputs.randomness
    if collect_outputs:  # this process ran the run: what it seeded itself, where that shows
        collected.seeded.extend(x for x in observed_seeds() if x not in collected.seeded)
    if collected.seeded or collected.settings:
        randomness = replace(
            randomness,
            seeded=sorted({*randomness.seeded, *collected.seeded}),
            settings={**randomness.settings, **collected.settings},
        )
    # What frameworks in the recording process (or the attached child) report about the hardware.
    facts = library_facts() if collect_outputs else {}
    host = {**manifest.host, **facts, **collected.host}
    data = {**{d.path: d for d in inputs.data}, **collected.data}
    final = manifest.evolve(
        name=manifest.name or collected.name,
        status=status,
        ended_at=now(),
        exit_code=exit_code,
        signal=signal,
        error=error,
        host=host,
        inputs=replace(
            inputs, params=params, randomness=randomness, data=[data[p] for p in sorted(data)]
        ),
        warnings=[*manifest.warnings, *collected.warnings],
        outputs=Outputs(
            artifacts=sorted(artifacts.values(), key=lambda a: a.path),
            metrics=summarize_metrics(collected.metrics, store.objects),
            trace=save_trace(collected.trace, store.objects),
        ),
    )
    canonical = final.canonical()
    done = RunCompletion(
        status=status,
        ended_at=final.ended_at or time.time(),
        exit_code=exit_code,
        signal=signal,
        error=final.error,
        input_fp=final.input_fingerprint,
        output_fp=final.output_fingerprint,
        manifest=canonical.decode(),
        manifest_oid=store.objects.put_bytes(canonical),
        summary={k: m.last for k, m in final.outputs.metrics.items()},
        params=final.inputs.params,
        metric_summaries=final.outputs.metrics,
        name=final.name,
        metrics=collected.metrics,
        artifacts=[(a.path, a.oid, a.size, a.kind) for a in final.outputs.artifacts],
    )
    if store.meta.complete_run(manifest.id, done):
        shutil.rmtree(run_dir, ignore_errors=True)
        return final
    return load_manifest(store, manifest.id)


def _owner_alive(row: RunRow) -> bool:
    import psutil

    if row.hostname != socket.gethostname():
        return True  # another machine's process: only its heartbeat can tell
    try:
        process = psutil.Process(row.pid)
        return abs(process.create_time() - row.pid_started) < 1.0
    except psutil.Error:
        return False


def reap_stale(store: Store) -> list[str]:
    """Mark ``failed`` every running run whose process died; its journaled metrics are kept."""
    grace = float(os.environ.get("SAMERUN_HEARTBEAT_GRACE", HEARTBEAT_GRACE_S))
    reaped = []
    for row in store.meta.running_runs():
        if _owner_alive(row):
            continue
        beat = last_heartbeat(store.project.run_dir(row.id))
        if beat is not None and time.time() - beat < grace:
            continue  # a child of the dead launcher is still writing
        manifest = load_manifest(store, row.id)
        complete(
            store,
            manifest,
            status="failed",
            error=f"the process recording this run (pid {row.pid}) died before finishing it; "
            "everything journaled before that was kept",
            collect_outputs=False,
        )
        reaped.append(row.id)
    return reaped
