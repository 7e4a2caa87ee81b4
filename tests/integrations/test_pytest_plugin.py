"""samerun's pytest plugin, in real pytest sessions run as subprocesses (``pytester``), each
reproducible test's runs in fresh interpreters of their own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

pytest_plugins = ["pytester"]


def failure_text(result: pytest.RunResult) -> str:
    return " ".join(result.stdout.str().split())


def test_a_set_order_bug_is_caught_when_the_hash_seed_varies(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def words():
            return list({f"word{i}" for i in range(20)})   # a set's order: the bug

        @pytest.mark.reproducible(runs=2, hash_seed="vary")
        def test_vary():
            return words()

        @pytest.mark.reproducible(runs=2, hash_seed="fixed")
        def test_fixed():
            return words()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    text = failure_text(result)
    assert "FAILED test_a_set_order_bug_is_caught_when_the_hash_seed_varies.py::test_vary" in text
    assert "run 1 and run 2 differ (PYTHONHASHSEED 1 vs 2):" in text
    assert "returned value diverged" in text
    assert re.search(
        r"first differing value: returned value: values differ at \$\[\d+\]: 'word", text
    )


def test_values_arrays_and_files_compared_within_tolerance(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os
        import numpy as np
        import pytest

        def noisy():  # 1e-9 apart from one run to the next
            return 1.0 + 1e-9 * int(os.environ["PYTHONHASHSEED"])

        @pytest.mark.reproducible(hash_seed="vary")
        def test_within_default_tolerance():
            return {"loss": noisy(), "steps": [1, 2, 3], "weights": np.ones(3)}

        @pytest.mark.reproducible(hash_seed="vary", rtol=1e-12)
        def test_beyond_a_tight_tolerance():
            return {"loss": noisy()}

        @pytest.mark.reproducible()
        def test_unseeded_weights():
            return {"weights": np.random.default_rng().random(4)}

        @pytest.mark.reproducible(hash_seed="vary", rtol=1e-12, outputs=["scores.csv"])
        def test_declared_file(tmp_path):
            (tmp_path / "scores.csv").write_text(f"epoch,acc\\n1,{noisy()}\\n")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--samerun-seed", "5")
    result.assert_outcomes(passed=1, failed=3)
    text = failure_text(result)
    assert "returned value diverged 1e-09 1e-09 first difference beyond tolerance" in text
    assert (
        "first differing value: returned value: first difference beyond tolerance at $.loss" in text
    )
    assert "returned arrays diverged" in text
    assert "at $.weights[" in text
    assert "output scores.csv diverged 1e-09 1e-09" in text
    assert "row 2, column 2: 1.000000001 vs 1.000000002" in text


def test_what_cannot_be_compared_is_one_clear_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.reproducible()
        def test_an_object():
            return object()

        @pytest.mark.reproducible()
        def test_nothing():
            pass

        @pytest.mark.reproducible(runs=0)
        def test_no_runs():
            return 1

        @pytest.mark.reproducible(outputs=["model.npy"])
        def test_missing_output():
            return 1
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=4)
    text = failure_text(result)
    assert (
        "test_an_object: returned a value of type object at $, which samerun cannot compare; "
        "return numbers, "
        "text, lists, dicts, NumPy arrays or tensors, or write files and declare them with "
        "outputs=[...]" in text
    )
    assert "the test returned None and declared no outputs: nothing to compare" in text
    assert "@pytest.mark.reproducible: runs=0: give a whole number of runs, 1 or more" in text
    assert "test_missing_output: declared output model.npy was not written" in text
    assert "Traceback" not in text


SEED_TESTS = """
import json
import random
from pathlib import Path

import numpy as np
import pytest

def record(name, seed):
    Path(f"{name}.json").write_text(json.dumps([seed, random.random(), np.random.rand()]))

def test_one(samerun_seed):
    record("one", samerun_seed)

def test_two(samerun_seed):
    record("two", samerun_seed)

@pytest.mark.reproducible(runs=2, hash_seed="vary")
def test_reproducible_on_a_worker(samerun_seed):
    return [samerun_seed, random.random(), np.random.rand()]
"""


def test_the_seed_is_printed_shared_by_xdist_workers_and_repeatable(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(SEED_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=3)
    header = re.search(
        r"samerun: seed (\d+) \(repeat it with --samerun-seed \1\)", result.stdout.str()
    )
    assert header is not None
    seed = int(header[1])
    one = json.loads((pytester.path / "one.json").read_text())
    two = json.loads((pytester.path / "two.json").read_text())
    assert one == two  # each worker seeded its tests alike
    assert one[0] == seed

    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--samerun-seed", str(seed))
    again.assert_outcomes(passed=3)
    assert json.loads((pytester.path / "one.json").read_text()) == one


def test_golden_mode_compares_outputs_with_a_recorded_run(project: Path, cli: Cli) -> None:
    (project / "score.py").write_text("open('scores.json', 'w').write('{\"acc\": 0.9}')\n")
    done = cli("record", "--json", "-o", "scores.json", "--", sys.executable, "score.py")
    assert done.exit_code == 0, done.stderr
    (project / "test_golden.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.reproducible(runs=1, outputs=['scores.json'])\n"
        "def test_same(tmp_path):\n"
        "    (tmp_path / 'scores.json').write_text('{\"acc\": 0.9}')\n\n"
        "@pytest.mark.reproducible(runs=1, outputs=['scores.json'])\n"
        "def test_worse(tmp_path):\n"
        "    (tmp_path / 'scores.json').write_text('{\"acc\": 0.8}')\n"
    )
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "test_golden.py", "--samerun-baseline", "last"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    text = " ".join(inner.stdout.split())
    assert "1 failed, 1 passed" in text, inner.stdout
    assert "the outputs differ from recorded run last:" in text
    assert (
        "output scores.json diverged 0.1 0.125 "
        "first difference beyond tolerance at $.acc: 0.9 vs 0.8" in text
    )


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """The import budget: pytest loads the plugin in every session of every project."""
    probe = (
        "import sys, samerun.integrations.pytest_plugin; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'numpy', 'torch', 'sqlalchemy', 'rich', 'click', 'blake3', 'yaml', 'fsspec'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
