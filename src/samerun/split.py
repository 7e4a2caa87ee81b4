"""Stable train/val/test splits: a row's split depends only on its id and the seed.

The rule (stable across versions and platforms)::

    key   = UTF-8 bytes of str(seed), a NUL byte, then the id's bytes
            (str: UTF-8; int: its decimal digits; bytes: as they are)
    u     = first 8 bytes of blake3(key), big-endian, divided by 2**64     # in [0, 1)
    split = the first name, in the order ``fractions`` lists them, whose running
            total of fractions exceeds u (the last name takes any rounding remainder)

Adding rows therefore never moves existing ones, and the same ids split the same way with
pandas, polars, pyarrow or a plain list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import blake3

from samerun._exceptions import UsageError

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def _id_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    if hasattr(value, "item"):  # a numpy scalar
        return _id_bytes(value.item())
    raise UsageError(f"split ids must be str, int or bytes, not {type(value).__name__}")


def _bounds(fractions: Mapping[str, float]) -> list[tuple[float, str]]:
    if not fractions or any(f < 0 for f in fractions.values()):
        raise UsageError("fractions must name at least one split, none negative")
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-9:
        raise UsageError(f"fractions must add up to 1, not {total:g}")
    bounds, running = [], 0.0
    for name, fraction in fractions.items():
        running += fraction
        bounds.append((running, name))
    return bounds


def assign(id_: Any, *, fractions: Mapping[str, float] = DEFAULT_FRACTIONS, seed: int = 0) -> str:
    """The split ``id_`` belongs to (see the module's documentation for the rule)."""
    return _assigner(fractions, seed)(id_)


def _assigner(fractions: Mapping[str, float], seed: int) -> Callable[[Any], str]:
    bounds = _bounds(fractions)
    last = bounds[-1][1]
    prefix = str(seed).encode() + b"\0"

    def pick(id_: Any) -> str:
        digest = blake3.blake3(prefix + _id_bytes(id_)).digest(length=8)
        u = int.from_bytes(digest, "big") / 2**64
        for bound, name in bounds:
            if u < bound:
                return name
        return last

    return pick


def stable_split(
    data: Any,
    *,
    id_column: str | None = None,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, Any]:
    """Split ``data`` by id into ``{name: part}``; each part has ``data``'s type.

    ``data`` is a pandas or polars DataFrame or a pyarrow Table (ids in ``id_column``), or a
    plain sequence of ids.
    """
    pick = _assigner(fractions, seed)
    if id_column is None:
        if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
            raise UsageError("give id_column to split a table, or pass a sequence of ids")
        parts: dict[str, list[Any]] = {name: [] for name in fractions}
        for id_ in data:
            parts[pick(id_)].append(id_)
        return parts
    ids = _column(data, id_column)
    labels = [pick(v) for v in ids]
    return {name: _take(data, [label == name for label in labels]) for name in fractions}


def _column(data: Any, name: str) -> list[Any]:
    module = type(data).__module__.split(".")[0]
    try:
        if module == "pyarrow":
            return list(data.column(name).to_pylist())
        return list(data[name].to_list())
    except (KeyError, AttributeError):
        raise UsageError(f"the table has no column {name!r}") from None
    except Exception as err:  # polars/pyarrow raise their own "column not found" types
        raise UsageError(f"the table has no column {name!r} ({type(err).__name__})") from None


def _take(data: Any, mask: list[bool]) -> Any:
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return data[mask]
    if module == "polars":
        import polars

        return data.filter(polars.Series(mask))
    if module == "pyarrow":
        import pyarrow

        return data.filter(pyarrow.array(mask))
    raise UsageError(f"cannot split a {type(data).__name__}; use pandas, polars or pyarrow")
