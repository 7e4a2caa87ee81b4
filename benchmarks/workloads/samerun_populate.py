"""Fill the store of the project in the working directory through samerun's own write path.

``samerun_populate.py runs COUNT TEMPLATE``: the first COUNT runs of the synthetic sweep.
``samerun_populate.py history POINTS TEMPLATE``: one run whose ``loss`` has POINTS values.

TEMPLATE is a project holding one run recorded for real, so code, environment and seed were
captured as they are for any run. Each run written here is that run's manifest with the
synthetic run's id, name, times, params and metrics, written as the recorder writes every run:
``MetaStore.insert_run`` when it starts, ``MetaStore.complete_run`` (manifest, params, every
metric value) when it ends. The sweep's metric series and manifests are hashed, not written to
the object store: listing and filtering never read them, and 20,000 small durable writes would
be most of the time this takes. The long history's series and manifest are written.

Prints a JSON report: how many runs were written, the last one's id, how long it took.
"""

import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path

from synthetic_runs import SyntheticRun, loss_history, synthetic_run

from samerun.hashing import canonical_json, hash_bytes
from samerun.manifest import Manifest, from_iso, iso
from samerun.series import encode_series
from samerun.store.meta import RunCompletion, RunRow
from samerun.store.project import Project, Store, find_root, open_store


def template_manifest(template_root: Path) -> str:
    store = open_store(Project(template_root))
    try:
        (recorded,) = store.meta.list_runs()
        return store.meta.manifest_json(recorded.id)
    finally:
        store.close()


def metric_summary(points: list[tuple[int, float, float]], series_oid: str) -> dict[str, object]:
    values = [value for _, value, _ in points]
    last_step, last_value, _ = points[-1]
    return {
        "last": last_value,
        "step": last_step,
        "count": len(points),
        "min": min(values),
        "max": max(values),
        "series": series_oid,
    }


def write_run(store: Store, template: str, run: SyntheticRun, *, store_objects: bool) -> str:
    """Record ``run`` as finished, in the two writes the recorder makes; returns its id."""
    keep = store.objects.put_bytes if store_objects else hash_bytes
    run_id = uuid.uuid4().hex
    series = {
        key: keep(encode_series([s for s, _, _ in points], [v for _, v, _ in points]))
        for key, points in run.metrics.items()
    }
    record = json.loads(template)
    seed = run.params.get("train.seed", record["inputs"]["randomness"]["seed"])
    record["inputs"]["params"] = run.params
    record["inputs"]["randomness"]["seed"] = seed
    record.update(
        id=run_id,
        name=run.name,
        status="finished",
        started_at=iso(run.started_at),
        ended_at=iso(run.ended_at),
        outputs={
            "artifacts": [],
            "metrics": {k: metric_summary(p, series[k]) for k, p in run.metrics.items()},
        },
    )
    # One round trip through the typed manifest gives the canonical form and both fingerprints;
    # the running manifest differs from the finished one only where a run in progress does.
    manifest = Manifest.from_dict(record)
    finished = manifest.to_dict()
    fingerprints = finished["fingerprints"]
    running = {
        **finished,
        "status": "running",
        "ended_at": None,
        "outputs": {"artifacts": [], "metrics": {}},
        "fingerprints": {"inputs": fingerprints["inputs"], "outputs": None},
    }
    started_at = from_iso(running["started_at"])
    assert started_at is not None
    code = record["inputs"]["code"]
    store.meta.insert_run(
        RunRow(
            id=run_id,
            name=run.name,
            status="running",
            started_at=started_at,
            ended_at=None,
            exit_code=None,
            signal=None,
            error=None,
            seed=seed,
            commit_sha=code["commit"],
            dirty=code["dirty"],
            input_fp=fingerprints["inputs"],
            output_fp=None,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            pid_started=started_at,
        ),
        canonical_json(running).decode(),
    )
    canonical = canonical_json(finished)
    ended_at = from_iso(finished["ended_at"])
    assert ended_at is not None
    store.meta.complete_run(
        run_id,
        RunCompletion(
            status="finished",
            name=run.name,
            ended_at=ended_at,
            exit_code=finished["exit_code"],
            signal=None,
            error=None,
            input_fp=fingerprints["inputs"],
            output_fp=fingerprints["outputs"],
            manifest=canonical.decode(),
            manifest_oid=keep(canonical),
            summary={key: points[-1][1] for key, points in run.metrics.items()},
            params=run.params,
            metric_summaries=manifest.outputs.metrics,
            metrics=[
                (key, step, value, at)
                for key, points in run.metrics.items()
                for step, value, at in points
            ],
            artifacts=[],
        ),
    )
    return run_id


def long_training(points: int) -> SyntheticRun:
    history = loss_history(points)
    return SyntheticRun(
        name="long-training",
        started_at=history[0][2],
        ended_at=history[-1][2],
        params={"train.steps": points},
        metrics={"loss": history},
    )


def main(what: str, size: int, template_root: Path) -> None:
    template = template_manifest(template_root)
    store = open_store(Project(find_root()), create=True)
    start = time.perf_counter()
    try:
        if what == "runs":
            for index in range(size):
                last = write_run(store, template, synthetic_run(index), store_objects=False)
        else:
            last = write_run(store, template, long_training(size), store_objects=True)
    finally:
        store.close()
    written = size if what == "runs" else 1
    report = {"runs": written, "last_run_id": last, "populate_s": time.perf_counter() - start}
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
