"""What ``@pytest.mark.reproducible(runs=2)`` costs beyond running the test's body twice.

A scratch project holds one test module with two tests over the same body (0.2 s of work that
returns a list): one marked ``reproducible(runs=2)``, which runs the body in two fresh pytest
processes and compares what they returned, and one that calls the body twice in-process, the
hand-written "run twice, compare" the plugin replaces. Each is a whole ``pytest`` session; the
overhead is the difference of their median wall times. The issue's limit is 0.5 s per test.

    .venv/bin/python benchmarks/bench_pytest_plugin.py --reps 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import SAMERUN_PY, BenchError, Result, median, run_timed, say, scratch
from suites import Config

TESTS = """\
import time

import pytest


def body():
    time.sleep(0.2)
    return [step * 0.5 for step in range(100)]


@pytest.mark.reproducible(runs=2)
def test_reproducible():
    return body()


def test_twice_by_hand():
    assert body() == body()
"""


def _session(root: Path, test: str) -> float:
    argv = [SAMERUN_PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"test_bench.py::{test}"]
    done = run_timed(argv, root)
    if "1 passed" not in done.stdout:
        raise BenchError(f"pytest {test} did not pass:\n{done.stdout}")
    return done.wall_s


def bench_pytest_plugin(config: Config) -> list[Result]:
    with scratch("pytest-plugin") as root:
        (root / "test_bench.py").write_text(TESTS)
        say("pytest_plugin: reproducible(runs=2) vs the body twice by hand, whole sessions")
        marked = [_session(root, "test_reproducible") for _ in range(config.reps)]
        by_hand = [_session(root, "test_twice_by_hand") for _ in range(config.reps)]
    overhead = median(marked) - median(by_hand)
    return [
        Result(
            "@pytest.mark.reproducible(runs=2): overhead beyond running the body twice",
            "s",
            overhead,
            None,
            None,
            limit_s=0.5,
            details={
                "reps": config.reps,
                "marked_each": marked,
                "by_hand_each": by_hand,
            },
        )
    ]


PYTEST_PLUGIN_BENCHMARKS = {"pytest_plugin": bench_pytest_plugin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    (result,) = bench_pytest_plugin(Config(reps=args.reps))
    print(result.name)
    print(
        f"overhead {result.samerun:.2f} s (limit {result.limit_s} s); sessions: marked "
        f"{median(result.details['marked_each']):.2f} s, by hand "
        f"{median(result.details['by_hand_each']):.2f} s"
    )


if __name__ == "__main__":
    main()
