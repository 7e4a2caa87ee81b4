"""MLflow runs in and out: ``samerun import mlflow`` and ``samerun export mlflow``.

Both go through MLflow's own client (``MlflowClient``), so a SQLite store, a file store and a
tracking server are read and written alike, as MLflow itself does.

Import writes each MLflow run as a finished samerun run through :func:`samerun.sync.import_run`,
the one path a run recorded elsewhere takes into a store: its params, its metric histories with
their steps and timestamps, its artifacts and the git commit MLflow kept; its tags become the
run's tags. What MLflow never records (the command line, the environment, the seeds, the data
read) is marked unknown in the manifest (:class:`samerun.manifest.Imported`): the run is
listed, compared and shown, and ``samerun verify`` answers ``not-replayable`` with that reason.
The samerun run keeps MLflow's run id, so a second import finds it and creates nothing.

Export writes samerun runs into an MLflow experiment: params, metrics with their steps and
timestamps, tags (commit, seed, latest verdict), artifacts and the datasets each run read
(``log_inputs``), in ``log_batch`` calls within MLflow's limits. The MLflow run carries the tag
``samerun.run_id``: a second export finds it and creates nothing, an export cut off half-way is
replaced, and an import skips it (it came from here).

The library never prints: :mod:`samerun.cli.interop` reports what these functions return.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from samerun._exceptions import InteropError, RunStateError
from samerun.capture.code import CodeState, strip_url_credentials
from samerun.capture.environment import Environment
from samerun.capture.params import flatten
from samerun.capture.randomness import Randomness
from samerun.data.checkout import materialize
from samerun.hashing import hash_bytes, split_oid
from samerun.manifest import Artifact, Command, Imported, Inputs, Manifest, Outputs, load_manifest
from samerun.recorder import store_artifact, summarize_metrics
from samerun.series import decode_series
from samerun.status import EndStatus, UnknownInput
from samerun.store.project import Store
from samerun.sync import SyncConflict, import_run

try:
    from mlflow import MlflowClient
    from mlflow.entities import (
        Dataset,
        DatasetInput,
        Experiment,
        InputTag,
        Metric,
        Param,
        RunTag,
    )
    from mlflow.entities import Run as MlflowRun
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import (
        MAX_DATASET_DIGEST_SIZE,
        MAX_METRICS_PER_BATCH,
        MAX_PARAM_VAL_LENGTH,
        MAX_PARAMS_TAGS_PER_BATCH,
        MAX_TAG_VAL_LENGTH,
    )
except ModuleNotFoundError as err:  # MLflow is an optional dependency
    raise InteropError(
        f"MLflow's client is not installed ({err.name} is missing); "
        "install it with: pip install 'samerun[mlflow]'"
    ) from None

#: On an MLflow run exported from samerun: the samerun run it holds.
RUN_ID_TAG = "samerun.run_id"
#: What MLflow never records of a run, whatever logged it.
NEVER_RECORDED: tuple[UnknownInput, ...] = ("command", "environment", "randomness", "data")
#: MLflow's run statuses that end a run, as samerun's.
_ENDED: dict[str, EndStatus] = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_STATUS_OF: dict[str, str] = {ours: theirs for theirs, ours in _ENDED.items()}
#: Tables every MLflow SQL tracking store has (MLflow creates them in any SQLite file it opens:
#: a file without them is refused before MLflow sees it).
_MLFLOW_TABLES = {"experiments", "runs", "metrics", "params", "tags"}
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_INT = re.compile(r"-?(0|[1-9][0-9]*)")

#: What importing one MLflow run did: created it, found it already here unchanged, found it
#: changed in MLflow since (the first import is kept), or skipped it (still running there, or
#: exported from this store in the first place).
ImportOutcome = Literal["created", "unchanged", "changed", "running", "from-samerun"]

_Item = TypeVar("_Item")


@dataclass(frozen=True)
class ImportedRun:
    """One MLflow run, as ``samerun import mlflow`` took it."""

    mlflow_run: str
    experiment: str
    run_id: str | None  # the samerun run (None when skipped)
    outcome: ImportOutcome
    metric_points: int = 0
    artifacts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExportedRun:
    """One samerun run, as ``samerun export mlflow`` wrote it."""

    run_id: str
    mlflow_run: str
    experiment: str
    created: bool  # False: the experiment already held it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the tracking store ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tracking:
    """An MLflow tracking store, checked to be one, and MLflow's client for it."""

    client: MlflowClient
    shown: str  # its URI without credentials, as messages name it


def open_tracking(uri: str, *, create: bool = False) -> Tracking:
    """The MLflow tracking store at ``uri``, once it is known to be one.

    A local path that holds no MLflow store is refused before MLflow opens it (MLflow would
    make one there). With ``create`` (an export), a store that does not exist yet is made.
    """
    shown = strip_url_credentials(uri)
    if uri.startswith("sqlite:///"):
        _check_sqlite(Path(uri.removeprefix("sqlite:///")), shown, create)
    elif uri.startswith("file:") or "://" not in uri:
        _check_file_store(Path(uri.removeprefix("file://").removeprefix("file:")), shown, create)
    elif not uri.startswith(("http://", "https://")):
        raise InteropError(
            f"{shown} is not an MLflow tracking URI; give sqlite:///FILE, a directory of "
            "MLflow's file store, or http(s)://SERVER"
        )
    try:
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
    except MlflowException as err:
        raise InteropError(f"{shown} is not a usable MLflow tracking store: {_line(err)}") from None
    return Tracking(client, shown)


def _check_sqlite(path: Path, shown: str, create: bool) -> None:
    if not path.exists():
        if create and path.parent.is_dir():
            return
        raise InteropError(f"{shown}: no MLflow tracking store at {path}")
    try:
        with sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error as err:
        raise InteropError(f"{shown} is not an MLflow tracking store: {err}") from None
    missing = _MLFLOW_TABLES - {name for (name,) in rows}
    if missing:
        raise InteropError(
            f"{shown} is not an MLflow tracking store: {path} has no "
            f"{', '.join(sorted(missing))} table"
        )


def _check_file_store(path: Path, shown: str, create: bool) -> None:
    if not path.exists() and create:
        return
    if not path.is_dir() or not any(path.glob("*/meta.yaml")):
        raise InteropError(
            f"{shown} is not an MLflow tracking store: {path} holds no experiment (no */meta.yaml)"
        )


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """MLflow draws a progress bar on stderr for each artifact transfer unless told not to."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _line(err: BaseException) -> str:
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every item of a paginated MLflow search: ``fetch(token)`` returns one page."""
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


def find_experiments(tracking: Tracking, name: str | None = None) -> list[Experiment]:
    """The experiment called ``name`` of ``tracking`` (every active one without a name)."""
    client = tracking.client
    if name is None:
        return list(_pages(lambda token: client.search_experiments(page_token=token)))
    found = client.get_experiment_by_name(name)
    if found is None:
        names = [e.name for e in find_experiments(tracking)]
        raise InteropError(
            f"{tracking.shown} has no experiment {name!r}; it has: {', '.join(names) or 'none'}"
        )
    return [found]


# -- import ----------------------------------------------------------------------------------


def import_runs(
    store: Store, tracking: Tracking, experiments: Sequence[Experiment]
) -> list[ImportedRun]:
    """Import every run of ``experiments`` (see :func:`find_experiments`) into ``store``;
    runs imported before are found and left as they are."""
    client = tracking.client
    done = []
    with _no_progress_bars():
        for exp in experiments:
            done += [_import_run(store, client, run, exp.name) for run in _runs(client, exp)]
    return done


def _runs(client: MlflowClient, experiment: Experiment) -> Iterator[MlflowRun]:
    def page(token: str | None) -> Any:
        order = ["attributes.start_time ASC"]
        return client.search_runs([experiment.experiment_id], order_by=order, page_token=token)

    return _pages(page)


def _import_run(store: Store, client: MlflowClient, run: MlflowRun, experiment: str) -> ImportedRun:
    info = run.info
    status = _ENDED.get(info.status)
    if status is None:
        return ImportedRun(info.run_id, experiment, None, "running")
    origin = run.data.tags.get(RUN_ID_TAG)
    if origin and store.meta.select("SELECT 1 FROM runs WHERE id = :id", {"id": origin}):
        return ImportedRun(info.run_id, experiment, origin, "from-samerun")
    points = _metric_points(client, run)
    manifest = _manifest(store, client, run, status, points)
    try:
        created = import_run(store, manifest, metrics=points)
    except SyncConflict:
        return ImportedRun(info.run_id, experiment, manifest.id, "changed")
    store.meta.set_tags(manifest.id, dict(run.data.tags))
    outcome: ImportOutcome = "created" if created else "unchanged"
    count = len(manifest.outputs.artifacts)
    return ImportedRun(info.run_id, experiment, manifest.id, outcome, len(points), count)


def _metric_points(client: MlflowClient, run: MlflowRun) -> list[tuple[str, int, float, float]]:
    """Every logged value of every metric: (key, step, value, timestamp in seconds), each
    metric's in step order (logging order within a step)."""
    points = []
    for key in sorted(run.data.metrics):
        history = client.get_metric_history(run.info.run_id, key)
        history.sort(key=lambda m: (m.step, m.timestamp))
        points += [(key, int(m.step), float(m.value), m.timestamp / 1000) for m in history]
    return points


def _manifest(
    store: Store,
    client: MlflowClient,
    run: MlflowRun,
    status: EndStatus,
    points: list[tuple[str, int, float, float]],
) -> Manifest:
    info, tags = run.info, run.data.tags
    commit = tags.get("mlflow.source.git.commit") or None
    remote = tags.get("mlflow.source.git.repoURL")
    code = CodeState(
        vcs="git" if commit else "none",
        root="",
        tree=f"git-commit:{commit}" if commit else "",
        commit=commit,
        branch=tags.get("mlflow.source.git.branch") or None,
        remote=strip_url_credentials(remote) if remote else None,
    )
    unknown: tuple[UnknownInput, ...] = NEVER_RECORDED if commit else ("code", *NEVER_RECORDED)
    started = info.start_time / 1000
    inputs = Inputs(
        code=code,
        command=Command(argv=[], cwd="."),
        params={key: _param_value(value) for key, value in sorted(run.data.params.items())},
        environment=Environment(python="", implementation="", executable="", system="", machine=""),
        randomness=Randomness(seed=0, seed_source="unknown", python_hash_seed="unknown"),
        env_vars={},
    )
    return Manifest(
        id=_samerun_id(info.run_id),
        name=info.run_name or None,
        status=status,
        started_at=started,
        ended_at=info.end_time / 1000 if info.end_time else started,
        inputs=inputs,
        host={},
        outputs=Outputs(
            artifacts=_artifacts(store, client, info.run_id),
            metrics=summarize_metrics(points, store.objects),
        ),
        warnings=[
            "imported from MLflow: whether the working tree had uncommitted changes was not "
            "recorded"
        ]
        if commit
        else [],
        imported=Imported("mlflow", info.run_id, unknown),
    )


def _samerun_id(mlflow_run: str) -> str:
    """The samerun id of an MLflow run: its own id where it is one of ours' shape (32 hex
    digits, as MLflow makes them), else one derived from it."""
    if _HEX_ID.fullmatch(mlflow_run):
        return mlflow_run
    return split_oid(hash_bytes(f"mlflow:{mlflow_run}".encode()))[1][:32]


def _param_value(text: str) -> int | float | str:
    """An MLflow param (always text) as the number it spells, or as the text itself."""
    if _INT.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    plain = text.strip() == text and "_" not in text
    return number if plain and math.isfinite(number) else text


def _artifacts(store: Store, client: MlflowClient, mlflow_run: str) -> list[Artifact]:
    """The run's top-level artifacts (files, and directories as trees), stored."""
    listed = client.list_artifacts(mlflow_run)
    if not listed:
        return []
    with tempfile.TemporaryDirectory(prefix="samerun-mlflow-") as scratch:
        local = Path(client.download_artifacts(mlflow_run, "", scratch))
        found = [store_artifact(local, store.objects, local / entry.path) for entry in listed]
    return sorted(found, key=lambda a: a.path)


# -- export ----------------------------------------------------------------------------------


def export_runs(
    store: Store, refs: Sequence[str], uri: str, *, experiment: str = "Default"
) -> list[ExportedRun]:
    """Export the runs ``refs`` name into ``experiment`` (made if missing) of the MLflow
    tracking store at ``uri`` (made if missing); runs it already holds are left as they are."""
    rows = [store.meta.resolve(ref) for ref in refs]  # every reference checked before a write
    for row in rows:
        if row.status == "running":
            raise RunStateError(f"run {row.id[:8]} is still running; export it once it has ended")
    client = open_tracking(uri, create=True).client
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    done = []
    with _no_progress_bars():
        for row in rows:
            manifest = load_manifest(store, row.id)
            tags = {**store.meta.tags_of([row.id])[row.id], **_samerun_tags(manifest, row.verdict)}
            done.append(_export_run(store, client, manifest, tags, experiment_id, experiment))
    return done


def _samerun_tags(manifest: Manifest, verdict: str | None) -> dict[str, str]:
    code, randomness = manifest.inputs.code, manifest.inputs.randomness
    unknown = manifest.imported is not None and "randomness" in manifest.imported.unknown
    tags = {
        RUN_ID_TAG: manifest.id,
        "samerun.input_fingerprint": manifest.input_fingerprint,
        "samerun.output_fingerprint": manifest.output_fingerprint or "",
        "samerun.seed": "" if unknown else str(randomness.seed),
        "samerun.verdict": verdict or "",
        "samerun.commit": code.commit or "",
        "samerun.dirty": str(code.dirty).lower(),
    }
    if code.commit:
        tags["mlflow.source.git.commit"] = code.commit
    if manifest.name:
        tags["mlflow.runName"] = manifest.name
    return {key: value for key, value in tags.items() if value}


def _export_run(
    store: Store,
    client: MlflowClient,
    manifest: Manifest,
    tags: dict[str, str],
    experiment_id: str,
    experiment: str,
) -> ExportedRun:
    held = client.search_runs(
        [experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{manifest.id}'"
    )
    for earlier in held:
        if earlier.info.status in _ENDED:
            return ExportedRun(manifest.id, earlier.info.run_id, experiment, created=False)
        client.delete_run(earlier.info.run_id)  # an export cut off half-way: done again
    started = round(manifest.started_at * 1000)
    ended = round((manifest.ended_at or manifest.started_at) * 1000)
    created = client.create_run(
        experiment_id, start_time=started, tags={RUN_ID_TAG: manifest.id}, run_name=manifest.name
    )
    mlflow_run = created.info.run_id
    params = [
        Param(key, (value if isinstance(value, str) else json.dumps(value))[:MAX_PARAM_VAL_LENGTH])
        for key, value in sorted(flatten(manifest.inputs.params).items())
    ]
    run_tags = [RunTag(key, value[:MAX_TAG_VAL_LENGTH]) for key, value in sorted(tags.items())]
    for batch in _batches([*params, *run_tags], MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(
            mlflow_run,
            params=[p for p in batch if isinstance(p, Param)],
            tags=[t for t in batch if isinstance(t, RunTag)],
        )
    for metrics in _batches(list(_metrics(store, manifest, ended)), MAX_METRICS_PER_BATCH):
        client.log_batch(mlflow_run, metrics=metrics)
    _log_artifacts(store, client, manifest, mlflow_run)
    datasets = [_dataset_input(d.path, d.pointer, d.read) for d in manifest.inputs.data if d.read]
    if datasets:
        client.log_inputs(mlflow_run, datasets=datasets)
    client.set_terminated(mlflow_run, status=_STATUS_OF[manifest.status], end_time=ended)
    return ExportedRun(manifest.id, mlflow_run, experiment, created=True)


def _batches(items: list[_Item], size: int) -> Iterator[list[_Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _metrics(store: Store, manifest: Manifest, ended_ms: int) -> Iterator[Metric]:
    """Every value of every metric with its step and timestamp; a run pulled from a team
    server holds its series without timestamps: those values get the run's end time."""
    for key, summary in sorted(manifest.outputs.metrics.items()):
        rows = store.meta.metric_series(manifest.id, key)
        if rows:
            for step, value, stamp in rows:
                yield Metric(key, value, round(stamp * 1000), step)
            continue
        steps, values = decode_series(store.objects.get_bytes(summary.series))
        for step, value in zip(steps, values, strict=True):
            yield Metric(key, value, ended_ms, step)


def _log_artifacts(store: Store, client: MlflowClient, manifest: Manifest, mlflow_run: str) -> None:
    if not manifest.outputs.artifacts:
        return
    with tempfile.TemporaryDirectory(prefix="samerun-mlflow-") as scratch:
        for index, artifact in enumerate(manifest.outputs.artifacts):
            local = Path(scratch) / str(index) / artifact.path  # artifacts may overlap
            materialize(artifact.oid, local, store.objects, link=False)
            if artifact.kind == "dir":
                client.log_artifacts(mlflow_run, str(local), artifact_path=artifact.path)
            else:
                parent = Path(artifact.path).parent.as_posix()
                client.log_artifact(mlflow_run, str(local), None if parent == "." else parent)


def _dataset_input(path: str, pointer: str | None, oid: str) -> DatasetInput:
    source = {"path": path, "pointer": pointer, "oid": oid}
    dataset = Dataset(
        name=path,
        digest=split_oid(oid)[1][:MAX_DATASET_DIGEST_SIZE],
        source_type="samerun",
        source=json.dumps(source, sort_keys=True),
    )
    return DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "input")])


__all__ = [
    "NEVER_RECORDED",
    "RUN_ID_TAG",
    "ExportedRun",
    "ImportOutcome",
    "ImportedRun",
    "Tracking",
    "export_runs",
    "find_experiments",
    "import_runs",
    "open_tracking",
]
