"""Format-aware comparison of two versions of an output file, within a tolerance.

Each comparator parses both versions and reports the largest absolute and relative deviation
of their numbers; anything that is not a number must match exactly. Pickles are never loaded:
``samerun`` never deserializes untrusted bytes, so they compare as bytes only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import pickle
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill")


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-7
    atol: float = 0.0

    def accepts(self, a: float, b: float) -> bool:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.atol + self.rtol * abs(b)


@dataclass(frozen=True)
class Closeness:
    """How two versions of one output relate: ``equivalent`` within tolerance or not."""

    equivalent: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    detail: str = ""


class _Deviation:
    """Running maximum of the deviations between paired numbers."""

    def __init__(self, tolerance: Tolerance) -> None:
        self.tolerance = tolerance
        self.max_abs = 0.0
        self.max_rel = 0.0
        self.within = True
        self.first_outside: str | None = None

    def add(self, a: float, b: float, where: str) -> None:
        if not self.tolerance.accepts(a, b):
            self.within = False
            self.first_outside = self.first_outside or f"{where}: {shown(a)} vs {shown(b)}"
        if a == b or (math.isnan(a) and math.isnan(b)):
            return
        diff = abs(a - b)
        if math.isfinite(diff):
            self.max_abs = max(self.max_abs, diff)
            if b != 0:
                self.max_rel = max(self.max_rel, diff / abs(b))
        else:
            self.max_abs = self.max_rel = math.inf

    def result(self, mismatch: str | None = None) -> Closeness:
        if mismatch is not None:
            return Closeness(False, self.max_abs, self.max_rel, mismatch)
        detail = "" if self.within else f"first difference beyond tolerance at {self.first_outside}"
        return Closeness(self.within, self.max_abs, self.max_rel, detail)


class _Mismatch(Exception):
    """Two versions differ in something that is not a number."""


def shown(value: Any) -> str:
    """A value as a person reads it: numbers as numbers (NumPy's ``np.float64(0.5)`` as
    ``0.5``), text quoted, anything else as Python writes it."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (hasattr(value, "__index__") and not isinstance(value, str)):
        return str(int(value))
    if isinstance(value, float) or hasattr(value, "__float__"):
        return repr(float(value))
    return repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _walk_json(a: Any, b: Any, where: str, deviation: _Deviation) -> None:
    if _is_number(a) and _is_number(b):
        deviation.add(float(a), float(b), where)
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            extra = sorted(set(a) ^ set(b))[:3]
            raise _Mismatch(f"keys differ at {where}: {', '.join(map(str, extra))}")
        for key in a:
            _walk_json(a[key], b[key], f"{where}.{key}", deviation)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise _Mismatch(f"lengths differ at {where}: {len(a)} vs {len(b)}")
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk_json(x, y, f"{where}[{index}]", deviation)
    elif a != b:
        raise _Mismatch(f"values differ at {where}: {shown(a)} vs {shown(b)}")


def compare_json(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    deviation = _Deviation(tolerance)
    try:
        _walk_json(json.loads(a), json.loads(b), "$", deviation)
    except _Mismatch as mismatch:
        return deviation.result(str(mismatch))
    return deviation.result()


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _rows(data: bytes, delimiter: str) -> list[list[str]]:
    return list(
        csv.reader(io.StringIO(data.decode("utf-8", errors="replace")), delimiter=delimiter)
    )


def _compare_table(a: bytes, b: bytes, tolerance: Tolerance, delimiter: str) -> Closeness:
    rows_a, rows_b = _rows(a, delimiter), _rows(b, delimiter)
    deviation = _Deviation(tolerance)
    if len(rows_a) != len(rows_b):
        return deviation.result(f"row counts differ: {len(rows_a)} vs {len(rows_b)}")
    for line, (row_a, row_b) in enumerate(zip(rows_a, rows_b, strict=True), start=1):
        if len(row_a) != len(row_b):
            return deviation.result(f"row {line} has {len(row_a)} vs {len(row_b)} cells")
        for column, (x, y) in enumerate(zip(row_a, row_b, strict=True), start=1):
            fx, fy = _as_float(x), _as_float(y)
            if fx is not None and fy is not None:
                deviation.add(fx, fy, f"row {line}, column {column}")
            elif x != y:
                return deviation.result(f"row {line}, column {column}: {shown(x)} vs {shown(y)}")
    return deviation.result()


def compare_csv(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    return _compare_table(a, b, tolerance, ",")


def compare_tsv(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    return _compare_table(a, b, tolerance, "\t")


def _compare_arrays(pairs: Iterator[tuple[str, Any, Any]], tolerance: Tolerance) -> Closeness:
    import numpy as np

    deviation = _Deviation(tolerance)
    for name, x, y in pairs:
        if x.shape != y.shape or x.dtype != y.dtype:
            return deviation.result(f"{name}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}")
        if x.dtype.kind not in "biufc":
            if not np.array_equal(x, y):
                return deviation.result(f"{name}: non-numeric values differ")
            continue
        fx, fy = x.astype(np.float64).ravel(), y.astype(np.float64).ravel()
        both_nan = np.isnan(fx) & np.isnan(fy)
        close = np.isclose(fx, fy, rtol=tolerance.rtol, atol=tolerance.atol) | both_nan
        diff = np.where(both_nan | (fx == fy), 0.0, np.abs(fx - fy))
        if diff.size:
            deviation.max_abs = max(deviation.max_abs, float(diff.max()))
            scale = np.abs(fy)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(scale > 0, diff / scale, 0.0)
            deviation.max_rel = max(deviation.max_rel, float(np.nanmax(rel)))
        if not bool(close.all()):
            index = int(np.argmin(close))
            deviation.within = False
            deviation.first_outside = deviation.first_outside or (
                f"{name}[{index}]: {shown(fx[index])} vs {shown(fy[index])}"
            )
    return deviation.result()


def compare_npy(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    import numpy as np

    x = np.load(io.BytesIO(a), allow_pickle=False)
    y = np.load(io.BytesIO(b), allow_pickle=False)
    return _compare_arrays(iter([("array", x, y)]), tolerance)


def _compare_named(a: dict[str, Any], b: dict[str, Any], tolerance: Tolerance) -> Closeness:
    if a.keys() != b.keys():
        extra = ", ".join(sorted(set(a) ^ set(b))[:3])
        return Closeness(False, detail=f"arrays differ in name: {extra}")
    return _compare_arrays(((k, a[k], b[k]) for k in sorted(a)), tolerance)


def compare_npz(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    import numpy as np

    with (
        np.load(io.BytesIO(a), allow_pickle=False) as x,
        np.load(io.BytesIO(b), allow_pickle=False) as y,
    ):
        return _compare_named(dict(x), dict(y), tolerance)


def compare_safetensors(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    from safetensors.numpy import load

    return _compare_named(load(a), load(b), tolerance)


def compare_torch(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    """Weights-only checkpoints: every tensor in them, however nested (a state dict, the
    optimizer's states in a Lightning checkpoint), named by its dotted path; other entries (a
    checkpoint's own path, say) are not results and are not compared."""
    import torch

    def tensors(value: Any, name: str) -> Iterator[tuple[str, Any]]:
        if isinstance(value, torch.Tensor):
            yield name, value.detach().cpu().numpy()
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from tensors(item, f"{name}.{key}" if name else str(key))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from tensors(item, f"{name}.{index}" if name else str(index))

    def arrays(data: bytes) -> dict[str, Any]:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if isinstance(loaded, torch.Tensor):
            loaded = {"tensor": loaded}
        if not isinstance(loaded, dict):
            raise _Mismatch(f"a {type(loaded).__name__}, not a tensor or a state dict")
        return dict(tensors(loaded, ""))

    try:
        return _compare_named(arrays(a), arrays(b), tolerance)
    except _Mismatch as mismatch:
        return Closeness(False, detail=str(mismatch))
    except pickle.UnpicklingError:  # torch.save(model): a pickled module, which is never loaded
        return Closeness(False, detail="not a weights-only checkpoint: compared as bytes")


def compare_parquet(a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    import pyarrow.parquet as pq

    x, y = pq.read_table(io.BytesIO(a)), pq.read_table(io.BytesIO(b))
    if x.schema != y.schema:
        return Closeness(False, detail="the tables' schemas differ")
    columns = {name: x.column(name).to_numpy() for name in x.column_names}
    return _compare_named(columns, {n: y.column(n).to_numpy() for n in y.column_names}, tolerance)


Comparator = Callable[[bytes, bytes, Tolerance], Closeness]

COMPARATORS: dict[str, tuple[Comparator, str | None]] = {
    ".json": (compare_json, None),
    ".csv": (compare_csv, None),
    ".tsv": (compare_tsv, None),
    ".npy": (compare_npy, "numpy"),
    ".npz": (compare_npz, "numpy"),
    ".safetensors": (compare_safetensors, "safetensors"),
    ".pt": (compare_torch, "torch"),
    ".pth": (compare_torch, "torch"),
    ".ckpt": (compare_torch, "torch"),  # Lightning's checkpoints
    ".parquet": (compare_parquet, "pyarrow"),
}


def comparator_for(path: str) -> Comparator | None:
    """The comparator for ``path``'s format, if there is one and its library is installed."""
    import importlib.util

    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix in PICKLE_SUFFIXES or suffix not in COMPARATORS:
        return None
    comparator, library = COMPARATORS[suffix]
    if library is not None and importlib.util.find_spec(library) is None:
        return None
    return comparator


def compare_versions(path: str, a: bytes, b: bytes, tolerance: Tolerance) -> Closeness:
    """Compare two versions of the output at ``path``; bytes only when no comparator applies."""
    if a == b:
        return Closeness(True)
    comparator = comparator_for(path)
    if comparator is None:
        why = "pickles are compared as bytes only" if path.endswith(PICKLE_SUFFIXES) else ""
        return Closeness(False, detail=f"bytes differ{'; ' + why if why else ''}")
    try:
        return comparator(a, b, tolerance)
    except Exception as err:  # a file a comparator cannot parse is simply different
        return Closeness(False, detail=f"bytes differ; cannot compare as {path}: {_one_line(err)}")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _one_line(err: Exception) -> str:
    """A library's error in one line: its first non-empty line, without terminal colours."""
    lines = [line.strip() for line in _ANSI.sub("", str(err)).splitlines() if line.strip()]
    first = lines[0] if lines else type(err).__name__
    return first if len(first) <= 160 else first[:159] + "…"


def compare_series(
    a: tuple[Sequence[int], Sequence[float]],
    b: tuple[Sequence[int], Sequence[float]],
    tolerance: Tolerance,
) -> Closeness:
    """Two metric series: the same steps, and values equal within tolerance."""
    (steps_a, values_a), (steps_b, values_b) = a, b
    deviation = _Deviation(tolerance)
    if list(steps_a) != list(steps_b):
        return deviation.result(f"steps differ: {len(steps_a)} values vs {len(steps_b)}")
    for step, x, y in zip(steps_a, values_a, values_b, strict=True):
        deviation.add(x, y, f"step {step}")
    return deviation.result()
