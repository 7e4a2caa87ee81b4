"""``samerun lineage record`` over ``VERSIONS`` indexed dataset versions of ``ROWS`` rows each,
``RUNS`` runs and ``MODELS`` model versions; the issue's target is under 1 s.

A scratch git project records one real run (it writes model.pkl); ``RUNS`` runs made from its
manifest are imported through ``samerun.sync.import_run``, each reading one of the dataset
versions. Each version's record index is written through ``record_version`` from ``ROWS`` random
keyed hashes (``index_digests``: the index ``data add --record-key`` stores, without hashing a
file per version; the first version also holds the queried record); every tenth run is
registered as a model version and the last one gets the ``production`` alias. The query is timed
in process, as the command runs it (``record_lineage``), after the store is closed and reopened,
and as the command itself in a fresh process. At full size the store holds about 2.5 GB.

It is ``lineage`` in ``run_all.py``; run it alone::

    .venv/bin/python benchmarks/bench_lineage.py                    # 100 x 1,000,000 rows
    .venv/bin/python benchmarks/bench_lineage.py --rows 100000      # a smaller disk footprint
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from harness import SAMERUN_PY, BenchError, Result, committed_project, run_timed
from suites import Config

import samerun
from samerun.lineage.graph import record_lineage
from samerun.lineage.records import (
    DIGEST_BYTES,
    index_digests,
    key_hash,
    project_secret,
    record_version,
)
from samerun.manifest import DataInput, load_manifest
from samerun.registry.registry import Registry
from samerun.store.project import Project, open_store
from samerun.sync import import_run

VERSIONS, ROWS, RUNS, MODELS = 100, 1_000_000, 1_000, 100
PERSON = "48213"


@dataclass(frozen=True)
class Figures:
    fill_s: float
    store_bytes: int
    query_s: float  # record_lineage, in process
    command_s: float  # samerun lineage record, a fresh process
    runs_found: int
    models_found: int


def measure(versions: int, rows: int, runs: int, models: int) -> Figures:
    with tempfile.TemporaryDirectory() as scratch:
        root = committed_project(Path(scratch), {"train.py": "print('trained')\n"})
        here = Path.cwd()
        os.chdir(root)
        try:
            with samerun.start_run(name="seed") as run:
                Path("model.pkl").write_text("weights")
                run.log_artifact("model.pkl")
        finally:
            os.chdir(here)
        started = time.perf_counter()
        store = open_store(Project(root))
        secret = project_secret(store.project.store_dir, create=True)
        person = key_hash(secret, PERSON)
        oids = [store.objects.put_bytes(f"version {i}".encode()) for i in range(versions)]
        for number, oid in enumerate(oids):
            digests = os.urandom(DIGEST_BYTES * rows)
            if number == 0:
                digests += bytes.fromhex(person)
            index = index_digests("customer_id", digests)
            record_version(store.meta, "data/customers.parquet", oid, index=index)
        template = load_manifest(store, run.id)
        registry = Registry(store)
        step = max(runs // models, 1)
        for i in range(runs):
            oid = oids[i % versions]
            data = [DataInput("data/customers.parquet", None, oid, oid, "file", 1, 1)]
            manifest = template.evolve(
                id=uuid.uuid4().hex, inputs=replace(template.inputs, data=data)
            )
            import_run(store, manifest)
            if i % step == 0:
                version = registry.register("churn", manifest.id)
        registry.set_alias("churn", "production", version.version, reason="bench")
        store.close()
        filled = time.perf_counter() - started
        store_bytes = sum(p.stat().st_size for p in (root / ".samerun").rglob("*") if p.is_file())
        store = open_store(Project(root))
        try:
            started = time.perf_counter()
            found = record_lineage(store.meta, person)
            took = time.perf_counter() - started
        finally:
            store.close()
        command = [str(SAMERUN_PY), "-m", "samerun.cli", "lineage", "record", f"id={PERSON}"]
        answered = run_timed([*command, "--json"], root)
    if [v.rows for v in found.versions if v.state == "contains"] != [1]:
        raise BenchError("record_lineage did not find the record in exactly one version's row")
    if len(json.loads(answered.stdout)["runs"]) != len(found.runs):
        raise BenchError("the command and record_lineage reached different runs")
    return Figures(filled, store_bytes, took, answered.wall_s, len(found.runs), len(found.models))


def bench_lineage(config: Config) -> list[Result]:
    f = measure(VERSIONS, ROWS, RUNS, MODELS)
    details = {
        "command_s": f.command_s,
        "runs_found": f.runs_found,
        "models_found": f.models_found,
        "fill_s": f.fill_s,
        "store_gb": f.store_bytes / 1e9,
    }
    name = (
        f"lineage record over {VERSIONS} versions x {ROWS:,} rows, {RUNS:,} runs, "
        f"{MODELS} model versions"
    )
    return [Result(name, "s", f.query_s, None, None, limit_s=1.0, details=details)]


LINEAGE_BENCHMARKS = {"lineage": bench_lineage}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=VERSIONS)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--models", type=int, default=MODELS)
    args = parser.parse_args()
    f = measure(args.versions, args.rows, args.runs, args.models)
    print(
        f"filled {args.versions} versions x {args.rows:,} rows, {args.runs} runs, "
        f"{args.models} model versions in {f.fill_s:.1f} s (store: {f.store_bytes / 1e9:.2f} GB)"
    )
    print(
        f"lineage record: {f.query_s:.3f} s in process, {f.command_s:.3f} s as the command "
        f"in a fresh process ({f.runs_found} runs, {f.models_found} model versions reached)"
    )


if __name__ == "__main__":
    main()
