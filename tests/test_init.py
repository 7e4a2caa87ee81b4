"""``import samerun``: cheap, every public name imported on its first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import samerun

#: What ``import samerun`` must leave unimported: the command line imports it on every call.
HEAVY = ["click", "numpy", "rich", "samerun.seeding", "samerun.tracking", "sqlalchemy", "torch"]

LAZY = f"""\
import sys, samerun
print(sorted(set({HEAVY!r}) & set(sys.modules)))
samerun.log_metric
print(sorted(set({HEAVY!r}) & set(sys.modules)))
"""


def test_import_samerun_loads_nothing_heavy_until_a_name_is_used() -> None:
    # A process: what a fresh interpreter imports is the point.
    done = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, check=True)
    at_import, after_use = done.stdout.splitlines()
    assert at_import == "[]"
    assert "samerun.tracking" in after_use


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert "log_metric" in dir(samerun)
    with pytest.raises(AttributeError, match="module 'samerun' has no attribute 'log_metrik'"):
        samerun.log_metrik  # noqa: B018


def test_samerun_torch_is_the_torch_toolkit() -> None:
    pytest.importorskip("torch")
    import samerun.torch as toolkit

    assert samerun.torch is toolkit
