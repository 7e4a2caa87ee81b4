"""A metric series as one object: ``samerun.series/1``, then a count, int64 steps, float64 values.

Little-endian, fixed width: a series of a million points is read straight into arrays (one
Python object per array, not per point), which keeps ``metric_history`` and the comparators
fast on long trainings.
"""

from __future__ import annotations

import struct
import sys
from array import array

SERIES_MAGIC = b"samerun.series/1\n"


def encode_series(steps: list[int], values: list[float]) -> bytes:
    """The bytes of a series: magic, count, the steps, the values (little-endian)."""
    count = len(steps)
    return SERIES_MAGIC + struct.pack(f"<q{count}q{count}d", count, *steps, *values)


def series_arrays(data: bytes) -> tuple[array[int], array[float]]:
    """The steps and values of an encoded series, as arrays; ValueError if it is not one."""
    if not data.startswith(SERIES_MAGIC):
        raise ValueError("not a samerun metric series")
    body = memoryview(data)[len(SERIES_MAGIC) :]
    count = int.from_bytes(body[:8], "little", signed=True)
    if count < 0 or len(body) != 8 + 16 * count:
        raise ValueError("a samerun metric series cut short or padded")
    steps, values = array("q"), array("d")
    steps.frombytes(body[8 : 8 + 8 * count])
    values.frombytes(body[8 + 8 * count :])
    if sys.byteorder == "big":
        steps.byteswap()
        values.byteswap()
    return steps, values


def decode_series(data: bytes) -> tuple[list[int], list[float]]:
    """The steps and values of an encoded series, as lists."""
    steps, values = series_arrays(data)
    return steps.tolist(), values.tolist()
