"""``samerun audit verify`` over a trail of ``ENTRIES`` entries, and blake3's raw speed.

One real run is recorded in a scratch git project; ``ENTRIES`` runs made from its manifest (each
its own id, name and params) are then imported through ``samerun.sync.import_run``, the path a
pushed run takes, so each appends its entry in the transaction that stores it. The benchmark
times ``samerun.lineage.audit.verify`` (the chain walked, every manifest object re-hashed, every
run's row, params and metrics checked against its manifest) and prints the bytes it re-hashed
per second against blake3 hashing the same number of bytes in one buffer on this machine.

It is ``audit`` in ``run_all.py``; run it alone::

    .venv/bin/python benchmarks/bench_audit.py            # 10,000 entries
    .venv/bin/python benchmarks/bench_audit.py --entries 1000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import blake3
from harness import Result, committed_project
from suites import Config

import samerun
from samerun.lineage.audit import verify
from samerun.manifest import load_manifest
from samerun.store.project import Project, open_store
from samerun.sync import import_run

ENTRIES = 10_000


@dataclass(frozen=True)
class Figures:
    entries: int
    fill_s: float
    verify_s: float
    rehashed_bytes: int
    blake3_s: float  # blake3 over the same number of bytes, in one buffer


def measure(entries: int) -> Figures:
    with tempfile.TemporaryDirectory() as scratch:
        root = committed_project(Path(scratch), {"train.py": "print('trained')\n"})
        here = Path.cwd()
        os.chdir(root)
        try:
            with samerun.start_run(name="seed", params={"lr": 0.1}) as run:
                run.log_metric("loss", 0.5)
        finally:
            os.chdir(here)
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
    assert report.entries == entries
    # Each manifest is hashed twice: its object as it is read, and the database's copy.
    hashed = 2 * manifest_bytes
    buffer = os.urandom(hashed)
    started = time.perf_counter()
    blake3.blake3(buffer).digest()
    return Figures(entries, filled, took, hashed, time.perf_counter() - started)


def bench_audit(config: Config) -> list[Result]:
    figures = measure(ENTRIES)
    details = {
        "entries_per_s": figures.entries / figures.verify_s,
        "rehashed_mb": figures.rehashed_bytes / 1e6,
        "blake3_raw_mb_per_s": figures.rehashed_bytes / figures.blake3_s / 1e6,
        "hashing_share": figures.blake3_s / figures.verify_s,
        "append_ms": figures.fill_s / figures.entries * 1e3,
    }
    name = f"audit verify over {ENTRIES:,} entries (manifests re-hashed, rows checked)"
    return [Result(name, "s", figures.verify_s, None, None, details=details)]


AUDIT_BENCHMARKS = {"audit": bench_audit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=ENTRIES)
    figures = measure(parser.parse_args().entries)
    n, took = figures.entries, figures.verify_s
    print(f"filled {n} entries in {figures.fill_s:.1f} s ({figures.fill_s / n * 1e3:.2f} ms each)")
    print(f"audit verify: {n} entries re-walked in {took:.2f} s ({n / took:,.0f} entries/s)")
    hashed = figures.rehashed_bytes
    print(
        f"re-hashed {hashed / 1e6:.1f} MB at {hashed / took / 1e6:.1f} MB/s of verify time;"
        f" blake3 raw on this machine: {hashed / figures.blake3_s / 1e6:.0f} MB/s"
        f" (verify spends {figures.blake3_s / took:.1%} of its time hashing)"
    )


if __name__ == "__main__":
    main()
