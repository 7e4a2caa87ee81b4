"""Lineage queries: from a record to dataset versions, runs, model versions and aliases, and
from a model or dataset up- and downstream.

Links are content hashes. A run read a dataset version when its ``inputs.data`` names the
version's object as what the workspace held (every dataset of the project is recorded, so a
stale output left in the workspace links the run to it too: delete it before a clean rerun).
Data is *derived* from a run when it is one of that run's recorded outputs. So raw data -> a
features run -> its output, added as a dataset or read directly -> a training run -> a
registered model version is followed end to end. A derived version that has no record index
of its own *may contain* the record: it is reported naming the upstream version that did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from samerun.lineage.records import Held, VersionRecord, holding, versions
from samerun.manifest import DataInput, Manifest
from samerun.registry.model import ModelVersion
from samerun.registry.store import RegistryStore
from samerun.store.meta import MetaStore

#: The aliases whose version is the one "in production", for the verdict sentence.
PRODUCTION_ALIASES = ("production", "prod")
#: The states of a version that holds, or may hold, the record.
HOLDING = ("contains", "may contain")


@dataclass(frozen=True)
class RunRead:
    """A finished run's data links: what it read and what it wrote (object ids)."""

    run_id: str
    started_at: float
    read: tuple[str, ...]
    wrote: tuple[str, ...]


@dataclass(frozen=True)
class VersionFinding:
    """A dataset version and whether it holds the record."""

    dataset: str
    oid: str
    # "contains"; "may contain" (derived from one that does, no index of its own); "clean"
    # (indexed without it, or derived only from data without it); "not indexed" (raw data added
    # without --record-key: nothing is known)
    state: str
    rows: int  # rows holding the record (0 unless "contains")
    upstream: str | None = None  # for "may contain": the version that held the record
    files: dict[str, int] = field(default_factory=dict)  # a directory's: rows in each file


@dataclass(frozen=True)
class AliasHolding:
    """An alias pointing now at a model version, and since when."""

    model: str
    alias: str
    version: int
    since: float


@dataclass(frozen=True)
class ProductionVerdict:
    """Whether the version a production alias names was trained on the record."""

    model: str
    alias: str
    version: int
    exposed: bool
    trained_on: list[str]  # the dataset version objects its run read
    unknown: list[str]  # those of them added without a record index: nothing is known

    @property
    def sentence(self) -> str:
        label = f"{self.model}@{self.alias} (v{self.version})"
        read = ", ".join(oid[:19] + "…" for oid in self.trained_on) or "no recorded data"
        if self.exposed:
            return f"{label} WAS trained on data containing the record (it read {read})"
        if self.unknown:
            return (
                f"{label} was not trained on any indexed version containing the record, but "
                f"{len(self.unknown)} version(s) it read have no record index: cannot tell "
                f"(it read {read})"
            )
        return f"{label} was not trained on any version containing the record (it read {read})"


@dataclass(frozen=True)
class RecordLineage:
    """Everything downstream of one record."""

    versions: list[VersionFinding]
    runs: list[str]
    models: list[ModelVersion]
    aliases: list[AliasHolding]
    production: list[ProductionVerdict] = field(default_factory=list)


def run_links(meta: MetaStore) -> list[RunRead]:
    """Every run's data inputs and outputs, oldest first.

    Only the manifest's ``inputs.data`` is decoded (a whole manifest's package list costs a
    millisecond, a thousand runs a second); outputs come from the ``artifacts`` rows.
    """
    wrote: dict[str, list[str]] = {}
    for run_id, oid in meta.select("SELECT run_id, oid FROM artifacts", {}):
        wrote.setdefault(str(run_id), []).append(str(oid))
    links = []
    for run_id, started_at, text in meta.select(
        "SELECT id, started_at, manifest FROM runs ORDER BY started_at", {}
    ):
        data = [DataInput.from_dict(d) for d in json.loads(text)["inputs"].get("data", [])]
        read = tuple(d.oid for d in data if d.oid is not None)
        links.append(RunRead(run_id, started_at, read, tuple(wrote.get(run_id, ()))))
    return links


def record_lineage(meta: MetaStore, digest: str) -> RecordLineage:
    """Where the record whose keyed hash is ``digest`` went."""
    held = holding(meta, digest)
    known = versions(meta)
    indexed = {v.oid for v in known if v.key_column is not None}
    links = run_links(meta)
    # tainted object -> the indexed version it comes from (itself for a version that holds it)
    tainted: dict[str, str] = {oid: oid for oid in held}
    runs: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for link in links:
            source = next((tainted[oid] for oid in link.read if oid in tainted), None)
            if source is None or link.run_id in runs:
                continue
            runs[link.run_id] = source
            changed = True
            for oid in link.wrote:
                if oid not in tainted and oid not in indexed:
                    tainted[oid] = source
    findings = [_finding(v, held, tainted) for v in known]
    registry = RegistryStore(meta)
    models = _versions_of_runs(meta, registry, runs)
    return RecordLineage(
        findings,
        [link.run_id for link in links if link.run_id in runs],
        models,
        _aliases(meta, registry, models),
        _production(registry, links, runs, {f.oid for f in findings if f.state == "not indexed"}),
    )


def _finding(
    version: VersionRecord, held: dict[str, Held], tainted: dict[str, str]
) -> VersionFinding:
    if version.oid in held:
        rows, files = held[version.oid].rows, held[version.oid].files
        return VersionFinding(version.dataset, version.oid, "contains", rows, files=files)
    if version.key_column is None and version.oid in tainted:
        upstream = tainted[version.oid]
        return VersionFinding(version.dataset, version.oid, "may contain", 0, upstream)
    if version.key_column is None and version.producer_run is None:
        return VersionFinding(version.dataset, version.oid, "not indexed", 0)
    return VersionFinding(version.dataset, version.oid, "clean", 0)


def _versions_of_runs(
    meta: MetaStore, registry: RegistryStore, runs: Iterable[str]
) -> list[ModelVersion]:
    wanted = set(runs)
    rows = meta.select(
        "SELECT model, version, run_id FROM model_versions ORDER BY model, version", {}
    )
    found = []
    for model, number, run_id in rows:
        if run_id in wanted:
            version = registry.version(model, int(number))
            if version is not None:
                found.append(version)
    return found


def _aliases(
    meta: MetaStore, registry: RegistryStore, models: Sequence[ModelVersion]
) -> list[AliasHolding]:
    held = []
    for version in models:
        for alias, number in registry.aliases(version.model).items():
            if number == version.version:
                held.append(
                    AliasHolding(version.model, alias, number, _since(registry, version, alias))
                )
    return held


def _since(registry: RegistryStore, version: ModelVersion, alias: str) -> float:
    events = registry.events(version.model, alias=alias)
    return events[-1].at if events else version.created_at


def _production(
    registry: RegistryStore, links: Sequence[RunRead], runs: dict[str, str], unindexed: set[str]
) -> list[ProductionVerdict]:
    read_by = {link.run_id: sorted(set(link.read)) for link in links}
    verdicts = []
    for summary in registry.summaries():
        for alias in PRODUCTION_ALIASES:
            number = summary.aliases.get(alias)
            version = None if number is None else registry.version(summary.name, number)
            if version is not None:
                read = read_by.get(version.run_id, [])
                verdicts.append(
                    ProductionVerdict(
                        summary.name,
                        alias,
                        version.version,
                        version.run_id in runs,
                        read,
                        [oid for oid in read if oid in unindexed],
                    )
                )
    return verdicts


@dataclass(frozen=True)
class DatasetUse:
    """One version of a dataset and what read it."""

    version: VersionRecord
    runs: list[str]
    models: list[ModelVersion]


def dataset_downstream(meta: MetaStore, dataset: str) -> list[DatasetUse]:
    """Each recorded version of ``dataset``, the runs that read it (directly or through data
    derived from it) and the model versions registered from those runs."""
    links = run_links(meta)
    registry = RegistryStore(meta)
    uses = []
    for version in versions(meta, dataset):
        reached = _downstream_runs(links, {version.oid})
        uses.append(DatasetUse(version, reached, _versions_of_runs(meta, registry, reached)))
    return uses


def _downstream_runs(links: Sequence[RunRead], start: set[str]) -> list[str]:
    seen = set(start)
    runs: list[str] = []
    changed = True
    while changed:
        changed = False
        for link in links:
            if link.run_id not in runs and seen.intersection(link.read):
                runs.append(link.run_id)
                seen.update(link.wrote)
                changed = True
    return runs


@dataclass(frozen=True)
class DataUpstream:
    """A data input of a run and, for derived data, the run that produced it."""

    path: str
    oid: str | None
    producer_run: str | None


@dataclass(frozen=True)
class ModelUpstream:
    """What a model version came from: its run, that run's data (and what produced it), code
    and environment."""

    version: ModelVersion
    manifest: Manifest
    data: list[DataUpstream]


def model_upstream(meta: MetaStore, version: ModelVersion) -> ModelUpstream:
    """The upstream of ``version``: one level of runs per derived input."""
    manifest = Manifest.from_json(meta.manifest_json(version.run_id))
    links = run_links(meta)
    data = []
    for entry in manifest.inputs.data:
        oid = entry.oid or entry.version
        # a run that read the object too only passed it through (a copy): not its producer
        producer = next(
            (link.run_id for link in links if oid in link.wrote and oid not in link.read), None
        )
        data.append(DataUpstream(entry.path, oid, producer))
    return ModelUpstream(version, manifest, data)
