"""``samerun audit verify`` over a trail of ``ENTRIES`` entries, and blake3's raw speed.

One real run is recorded in a scratch git project; ``ENTRIES`` runs made from its manifest (each
its own id, name and params) are then imported through ``samerun.sync.import_run``, the path a
pushed run takes, so each appends its entry in the transaction that stores it. The benchmark
times ``samerun.lineage.audit.verify`` (the chain walked, every manifest object re-hashed, every
run's row, params and metrics checked against its manifest) and prints the bytes it re-hashed
per second against blake3 hashing the same number of bytes in one buffer on this machine.

Run it alone::

    .venv/bin/python benchmarks/bench_audit.py            # 10,000 entries
    .venv/bin/python benchmarks/bench_audit.py --entries 1000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import blake3

import samerun
from samerun.lineage.audit import verify
from samerun.manifest import load_manifest
from samerun.store.project import Project, open_store
from samerun.sync import import_run

ENTRIES = 10_000


def _project(root: Path) -> Path:
    (root / "train.py").write_text("print('trained')\n")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "train.py"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "train"],
    ):
        subprocess.run(argv, cwd=root, check=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=ENTRIES)
    entries = parser.parse_args().entries
    with tempfile.TemporaryDirectory() as scratch:
        root = _project(Path(scratch))
        os.chdir(root)
        with samerun.start_run(name="seed", params={"lr": 0.1}) as run:
            run.log_metric("loss", 0.5)
        store = open_store(Project(root))
        try:
            template = load_manifest(store, run.id)
            started = time.perf_counter()
            for i in range(entries - 1):
                manifest = template.evolve(
                    id=uuid.uuid4().hex,
                    name=f"run-{i}",
                    inputs=replace(template.inputs, params={"lr": 0.1, "i": i}),
                )
                import_run(store, manifest)
            filled = time.perf_counter() - started
            started = time.perf_counter()
            report = verify(store)
            took = time.perf_counter() - started
            manifest_bytes = sum(
                len(text) for (text,) in store.meta.select("SELECT manifest FROM runs", {})
            )
        finally:
            store.close()
    assert report.intact, report.findings[:3]
    # Each manifest is hashed twice: its object as it is read, and the database's copy.
    hashed = 2 * manifest_bytes
    buffer = os.urandom(hashed)
    started = time.perf_counter()
    blake3.blake3(buffer).digest()
    raw = time.perf_counter() - started
    print(
        f"filled {report.entries} entries in {filled:.1f} s ({filled / entries * 1e3:.2f} ms each)"
    )
    print(
        f"audit verify: {report.entries} entries, {report.objects_rehashed} objects re-hashed"
        f" in {took:.2f} s ({report.entries / took:,.0f} entries/s)"
    )
    print(
        f"re-hashed {hashed / 1e6:.1f} MB at {hashed / took / 1e6:.1f} MB/s of verify time;"
        f" blake3 raw on this machine: {hashed / raw / 1e6:.0f} MB/s"
        f" (verify spends {raw / took:.1%} of its time hashing)"
    )


if __name__ == "__main__":
    main()
