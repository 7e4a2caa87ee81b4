"""``samerun data add --record-key`` of a ``ROWS``-row Parquet file, against ``data add`` alone
and against one read of the key column.

A scratch git project gets a Parquet file of ``ROWS`` rows (a unique integer ``customer_id`` and
two other columns). ``samerun data add`` runs in a fresh process twice, each in its own copy of
the project: once plain, once with ``--record-key customer_id``. The index's own cost is the
difference; the issue's target is that it stays within the time of one read of the key column
(timed here with pyarrow). Rows indexed per second are printed too.

Run it alone::

    .venv/bin/python benchmarks/bench_record_index.py              # 1,000,000 rows
    .venv/bin/python benchmarks/bench_record_index.py --rows 100000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 1_000_000
SAMERUN = [sys.executable, "-m", "samerun.cli"]


@dataclass(frozen=True)
class Figures:
    rows: int
    plain_s: float  # data add
    indexed_s: float  # data add --record-key
    column_read_s: float  # one read of the key column

    @property
    def index_s(self) -> float:
        return self.indexed_s - self.plain_s


def _project(root: Path, rows: int) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "data").mkdir()
    table = pa.table(
        {
            "customer_id": pa.array(range(10_000_000, 10_000_000 + rows), pa.int64()),
            "spend": pa.array([i % 997 for i in range(rows)], pa.int32()),
            "region": pa.array([f"r{i % 13}" for i in range(rows)]),
        }
    )
    pq.write_table(table, root / "data" / "customers.parquet")
    return root


def _timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(rows: int) -> Figures:
    with tempfile.TemporaryDirectory() as scratch:
        plain = _project(Path(scratch) / "plain", rows)
        indexed = Path(scratch) / "indexed"
        shutil.copytree(plain, indexed)
        parquet = plain / "data" / "customers.parquet"
        started = time.perf_counter()
        pq.read_table(parquet, columns=["customer_id"]).column(0).to_pylist()
        column_read = time.perf_counter() - started
        add = [*SAMERUN, "data", "add", "--copy", "data/customers.parquet"]
        plain_s = _timed(add, plain)
        indexed_s = _timed([*add, "--record-key", "customer_id"], indexed)
    return Figures(rows, plain_s, indexed_s, column_read)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    f = measure(parser.parse_args().rows)
    print(f"data add of {f.rows:,} rows: {f.plain_s:.2f} s")
    print(
        f"data add --record-key: {f.indexed_s:.2f} s ({f.indexed_s / f.plain_s:.2f}x data add); "
        f"the index adds {f.index_s:.2f} s, {f.rows / max(f.index_s, 1e-9):,.0f} rows/s"
    )
    print(
        f"one read of the key column (pyarrow, to Python values): {f.column_read_s:.2f} s; "
        f"index / read = {f.index_s / f.column_read_s:.1f}"
    )


if __name__ == "__main__":
    main()
