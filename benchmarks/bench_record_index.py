"""``samerun data add --record-key`` of a ``ROWS``-row Parquet file, against ``data add`` alone
and against one read of the key column.

A scratch git project gets a Parquet file of ``ROWS`` rows (a unique integer ``customer_id`` and
two other columns). ``samerun data add`` runs in a fresh process, each time in a fresh copy of
the project, plain and with ``--record-key customer_id`` in turn (median of ``--reps``). The
index's own cost is the difference; the issue's target is that it stays within the time of one
read of the key column (pyarrow, to Python values, in a warm process). Where the index's time
goes is timed in this process too, stage by stage, through ``samerun.lineage.records``.

It is ``record_index`` in ``run_all.py``; run it alone::

    .venv/bin/python benchmarks/bench_record_index.py              # 1,000,000 rows
    .venv/bin/python benchmarks/bench_record_index.py --rows 100000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from harness import SAMERUN_PY, Result, git, median, run_timed
from suites import Config

from samerun.lineage.records import KeyHasher, index_digests, key_column, record_version
from samerun.store.meta import open_meta_store

ROWS = 1_000_000
REPS = 3
PARQUET = Path("data") / "customers.parquet"
ADD = [str(SAMERUN_PY), "-m", "samerun.cli", "data", "add", "--copy", str(PARQUET)]


@dataclass(frozen=True)
class Figures:
    rows: int
    plain_s: float  # data add
    indexed_s: float  # data add --record-key
    column_read_s: float  # one read of the key column
    stages: dict[str, float]  # the index's steps, in this process

    @property
    def index_s(self) -> float:
        return self.indexed_s - self.plain_s


def _project(root: Path, rows: int) -> Path:
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "data").mkdir()
    table = pa.table(
        {
            "customer_id": pa.array(range(10_000_000, 10_000_000 + rows), pa.int64()),
            "spend": pa.array([i % 997 for i in range(rows)], pa.int32()),
            "region": pa.array([f"r{i % 13}" for i in range(rows)]),
        }
    )
    pq.write_table(table, root / PARQUET)
    return root


def _best(reps: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _stages(project: Path, scratch: Path) -> dict[str, float]:
    """The index of the project's file, built and stored step by step, each step timed."""
    started = time.perf_counter()
    values = key_column(project / PARQUET, "customer_id")
    read = time.perf_counter()
    digests = KeyHasher(b"bench secret".ljust(32)).digests(values)
    hashed = time.perf_counter()
    index = index_digests("customer_id", digests)
    grouped = time.perf_counter()
    meta = open_meta_store(f"sqlite:///{scratch / 'meta.db'}", create=True)
    try:
        stored_from = time.perf_counter()
        record_version(meta, str(PARQUET), "blake3:bench", index=index)
        stored = time.perf_counter()
    finally:
        meta.close()
    return {
        "column as text": read - started,
        "keyed hashes": hashed - read,
        "buckets": grouped - hashed,
        "stored": stored - stored_from,
    }


def measure(rows: int, reps: int) -> Figures:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        project = _project(root / "project", rows)
        plain, indexed = [], []
        for rep in range(reps):
            for times, extra in ((plain, []), (indexed, ["--record-key", "customer_id"])):
                copy = root / f"copy-{rep}-{len(extra)}"
                shutil.copytree(project, copy)
                times.append(run_timed([*ADD, *extra], copy).wall_s)
                shutil.rmtree(copy)
        parquet = project / PARQUET
        column_read = _best(
            reps,
            lambda: pq.ParquetFile(parquet).read(columns=["customer_id"]).column(0).to_pylist(),
        )
        stages = _stages(project, root)
    return Figures(rows, median(plain), median(indexed), column_read, stages)


def bench_record_index(config: Config) -> list[Result]:
    f = measure(ROWS, config.reps)
    details = {
        "data_add_s": f.plain_s,
        "data_add_record_key_s": f.indexed_s,
        "ratio_to_data_add": f.indexed_s / f.plain_s,
        "column_read_s": f.column_read_s,
        "ratio_to_column_read": f.index_s / f.column_read_s,
        **{f"{stage.replace(' ', '_')}_s": took for stage, took in f.stages.items()},
    }
    name = f"data add --record-key of {ROWS:,} Parquet rows: what the index adds (< 1 column read)"
    return [
        Result(name, "s", f.index_s, None, None, limit_s=round(f.column_read_s, 3), details=details)
    ]


RECORD_INDEX_BENCHMARKS = {"record_index": bench_record_index}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--reps", type=int, default=REPS, help="repetitions (median kept)")
    args = parser.parse_args()
    f = measure(args.rows, args.reps)
    print(f"data add of {f.rows:,} rows: {f.plain_s:.2f} s")
    print(
        f"data add --record-key: {f.indexed_s:.2f} s ({f.indexed_s / f.plain_s:.2f}x data add); "
        f"the index adds {f.index_s:.2f} s, {f.rows / max(f.index_s, 1e-9):,.0f} rows/s"
    )
    print(
        f"one read of the key column (pyarrow, to Python values): {f.column_read_s:.3f} s; "
        f"index / read = {f.index_s / f.column_read_s:.1f}"
    )
    stages = ", ".join(f"{stage} {took:.3f} s" for stage, took in f.stages.items())
    print(f"the index's stages in one process: {stages}")


if __name__ == "__main__":
    main()
