"""``import samerun``: cheap, a pinned ``__all__``, every public name imported on its first use,
and the error tree its docstring draws."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import samerun
from samerun import _exceptions

#: What ``import samerun`` must leave unimported: the command line imports it on every call.
HEAVY = [
    "click",
    "dataclasses",
    "numpy",
    "rich",
    "samerun.api",
    "samerun.manifest",
    "samerun.seeding",
    "samerun.tracking",
    "sqlalchemy",
    "sqlite3",
    "torch",
]

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


def test_samerun_models_is_the_model_registry() -> None:
    import samerun.registry as registry

    assert samerun.models is registry


PUBLIC = [
    "CaptureError",
    "ConfigError",
    "EnvironmentRebuildError",
    "FileChanged",
    "FilterError",
    "InteropError",
    "MetricBucket",
    "MetricHistory",
    "ObjectCorrupt",
    "ObjectNotFound",
    "PathOutsideProject",
    "PointerError",
    "RecordedRun",
    "RemoteError",
    "ReplayError",
    "ReproducibilityWarning",
    "Run",
    "RunInfo",
    "RunNotFound",
    "RunPage",
    "RunReader",
    "RunStateError",
    "SamerunError",
    "Seeding",
    "StoreError",
    "TraceNotFound",
    "UnsafePath",
    "UsageError",
    "WorkspaceConflict",
    "__version__",
    "active_run",
    "compare",
    "derive_seed",
    "end_run",
    "get_params",
    "get_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "models",
    "runs",
    "seed_everything",
    "set_tags",
    "start_run",
    "trace",
    "use_dataset",
]


def test_all_is_pinned_sorted_and_every_name_resolves() -> None:
    assert samerun.__all__ == PUBLIC
    assert sorted(PUBLIC) == PUBLIC
    for name in PUBLIC:
        assert getattr(samerun, name) is not None


def test_every_error_class_is_exported_and_drawn_in_the_tree() -> None:
    errors = [
        cls
        for _, cls in inspect.getmembers(_exceptions, inspect.isclass)
        if issubclass(cls, samerun.SamerunError)
    ]
    assert len(errors) > 10
    doc = samerun.__doc__ or ""
    for cls in errors:
        assert getattr(samerun, cls.__name__) is cls
        if cls is samerun.SamerunError:
            assert "\n    SamerunError\n" in doc
            continue
        assert f"── {cls.__name__} " in doc, f"{cls.__name__} is not drawn in samerun's docstring"
        parent = cls.__mro__[1]
        if parent is not Exception:
            drawn_under = _drawn_parent(doc, cls.__name__)
            assert drawn_under == parent.__name__, f"{cls.__name__} is drawn under {drawn_under}"


def _drawn_parent(doc: str, name: str) -> str:
    """The class a name is drawn under in the tree: the nearest line above, one level up."""
    lines = doc.splitlines()
    (index,) = [i for i, line in enumerate(lines) if f"── {name} " in line]
    depth = lines[index].index("──")
    for line in reversed(lines[:index]):
        if "──" in line and line.index("──") < depth:
            return line.split("──")[1].split()[0]
        if line.strip() == "SamerunError":
            return "SamerunError"
    raise AssertionError(f"{name} has no parent in the tree")
