"""A metric series as one object: ``samerun.series/1``, then a count, int64 steps, float64 values.

Little-endian, fixed width: a series of a million points is read as two views of its bytes (no
Python object per point, no copy), which keeps ``metric_history`` fast on long trainings.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Sequence

SERIES_MAGIC = b"samerun.series/1\n"


def encode_series(steps: list[int], values: list[float]) -> bytes:
    """The bytes of a series: magic, count, the steps, the values (little-endian)."""
    count = len(steps)
    return SERIES_MAGIC + struct.pack(f"<q{count}q{count}d", count, *steps, *values)


Steps = Sequence[int]
Values = Sequence[float]


def series_view(data: bytes) -> tuple[Steps, Values]:
    """The steps and values of an encoded series without copying them: views of ``data`` on a
    little-endian machine, arrays elsewhere. ValueError if ``data`` is not a whole series."""
    if not data.startswith(SERIES_MAGIC):
        raise ValueError("not a samerun metric series")
    body = memoryview(data)[len(SERIES_MAGIC) :]
    count = int.from_bytes(body[:8], "little", signed=True)
    if count < 0 or len(body) != 8 + 16 * count:
        raise ValueError("a samerun metric series cut short or padded")
    steps, values = body[8 : 8 + 8 * count], body[8 + 8 * count :]
    if sys.byteorder == "little":
        return steps.cast("q"), values.cast("d")
    swapped = array("q", steps.tobytes()), array("d", values.tobytes())
    for part in swapped:
        part.byteswap()
    return swapped


def decode_series(data: bytes) -> tuple[list[int], list[float]]:
    """The steps and values of an encoded series, as lists."""
    steps, values = series_view(data)
    return list(steps), list(values)
